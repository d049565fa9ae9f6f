// The wallboard: refresh every figure and the chart from its JSON every five seconds.
(function () {
  var board = document.getElementById('wallboard');
  if (!board) return;
  function pick(data, path) {
    return path.split('.').reduce(function (value, key) {
      return value == null ? value : value[key];
    }, data);
  }
  function format(node, value) {
    if (value == null) return '—';
    if (node.hasAttribute('data-seconds')) {
      var seconds = Math.round(value);
      return Math.floor(seconds / 60) + ':' + String(seconds % 60).padStart(2, '0');
    }
    if (node.hasAttribute('data-percent')) return Math.floor(value * 100) + ' %';
    return String(value);
  }
  function refresh() {
    fetch(board.dataset.url, {credentials: 'same-origin'})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) return;
        board.querySelectorAll('[data-figure]').forEach(function (node) {
          node.textContent = format(node, pick(data, node.dataset.figure));
        });
        document.getElementById('hour-chart').innerHTML = data.chart;
      })
      .catch(function () {});
  }
  setInterval(refresh, 5000);
})();
