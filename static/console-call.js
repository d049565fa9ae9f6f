// The operator's call page: ask until the call is settled whether it left her, and say why.
(function () {
  var box = document.getElementById('call-state');
  if (!box || box.children.length) return;
  var timer = setInterval(function () {
    fetch(box.dataset.url, {credentials: 'same-origin'})
      .then(function (response) { return response.status === 200 ? response.text() : null; })
      .then(function (html) {
        if (html === null) return;
        clearInterval(timer);
        box.innerHTML = html;
      })
      .catch(function () {});
  }, 3000);
})();
