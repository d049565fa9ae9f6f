// Count down to each card's deadline, every second.
(function () {
  var overdue = document.currentScript.dataset.overdue;
  function pad(n) { return (n < 10 ? '0' : '') + n; }
  function tick() {
    document.querySelectorAll('.countdown[data-due]').forEach(function (el) {
      var left = Math.round((Date.parse(el.dataset.due) - Date.now()) / 1000);
      var s = Math.abs(left), text = Math.floor(s / 3600) + ':' + pad(Math.floor(s % 3600 / 60)) + ':' + pad(s % 60);
      el.textContent = left < 0 ? overdue + ' ' + text : text;
      el.classList.toggle('gap', left < 0);
    });
  }
  tick(); setInterval(tick, 1000);
})();
