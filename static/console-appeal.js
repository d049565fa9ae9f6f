// The appeal form: who is responsible for the chosen place and topic; the chain's progress.
(function () {
  var form = document.getElementById('appeal-form');
  if (form) {
    var place = form.querySelector('#municipality'), category = form.querySelector('#category');
    var urgency = form.querySelector('#urgency'), pane = document.getElementById('responsible');
    function who() {
      var url = form.dataset.responsible + '?municipality=' + encodeURIComponent(place.value) +
        '&category=' + encodeURIComponent(category.value);
      fetch(url, {credentials: 'same-origin'}).then(function (r) { return r.text(); })
        .then(function (html) { pane.innerHTML = html; }).catch(function () {});
    }
    place.addEventListener('change', who);
    place.addEventListener('input', function () {
      var match = Array.prototype.some.call(document.querySelectorAll('#municipality-list option'),
        function (o) { return o.value === place.value; });
      if (match) who();
    });
    category.addEventListener('change', function () {
      urgency.value = category.options[category.selectedIndex].dataset.urgency || 'ordinary';
      who();
    });
  }
  var box = document.getElementById('progress-box');
  if (box) {
    var timer = setInterval(function () {
      fetch(box.dataset.url, {credentials: 'same-origin'}).then(function (r) { return r.text(); })
        .then(function (html) {
          box.innerHTML = html;
          var done = box.querySelector('#chain-progress');
          if (done && done.dataset.outcome) clearInterval(timer);
        }).catch(function () {});
    }, 1500);
  }
})();
