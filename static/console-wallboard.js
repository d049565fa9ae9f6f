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
  function incidents(lines) {
    var list = document.getElementById('wallboard-incidents');
    if (!list || !lines) return;
    document.getElementById('wallboard-no-incidents').hidden = lines.length > 0;
    list.replaceChildren.apply(list, lines.map(function (line) {
      var item = document.createElement('li');
      var place = document.createElement('strong');
      var joined = document.createElement('span');
      item.dataset.incident = line.id;
      place.textContent = line.municipality;
      joined.className = 'joined';
      joined.textContent = line.joined;
      var about = [line.category, line.area].filter(Boolean).map(function (part) {
        return ' · ' + part;
      }).join('');
      item.append(place, about + ': ' + line.text + ' · ' + list.dataset.sinceLabel + ' ' +
        line.declared + ' · ' + list.dataset.joinedLabel + ': ', joined);
      return item;
    }));
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
        incidents(data.incidents);
      })
      .catch(function () {});
  }
  setInterval(refresh, 5000);
})();
