// The console's live queue: refresh it every two seconds.
(function () {
  var box = document.getElementById('live-queue');
  function refresh() {
    fetch(box.dataset.url, {credentials: 'same-origin'}).then(function (r) {
      if (r.ok) return r.text();
    }).then(function (html) { if (html !== undefined) box.innerHTML = html; }).catch(function () {});
  }
  setInterval(refresh, 2000);
})();
