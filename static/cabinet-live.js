// Keep the cabinet's list current without a reload: poll the page, swap the rows, and announce
// a card that is new or newly escalated with a browser notification and a short tone.
(function () {
  var script = document.currentScript;
  var every = Number(script.dataset.interval || 15) * 1000;
  var title = script.dataset.title, escalatedTitle = script.dataset.escalated;
  var button = document.getElementById('live-notify');
  function rowsOf(doc) {
    var seen = {};
    doc.querySelectorAll('tr.card-row').forEach(function (row) {
      seen[row.dataset.card] = row.dataset.escalated === '1';
    });
    return seen;
  }
  var known = rowsOf(document);
  function beep() {
    window.hotlineBeeps = (window.hotlineBeeps || 0) + 1;
    try {
      var Audio = window.AudioContext || window.webkitAudioContext;
      var audio = new Audio(), tone = audio.createOscillator(), gain = audio.createGain();
      tone.frequency.value = 880; gain.gain.value = 0.2;
      tone.connect(gain); gain.connect(audio.destination);
      tone.start(); tone.stop(audio.currentTime + 0.25);
    } catch (e) { /* no sound on this device */ }
  }
  function announce(row, escalated) {
    var text = row.querySelector('td').textContent.trim() + ' · ' +
      Array.prototype.slice.call(row.querySelectorAll('td[data-label]'), 2, 4)
        .map(function (cell) { return cell.textContent.trim(); }).join(' · ');
    if (window.Notification && Notification.permission === 'granted') {
      var note = new Notification(escalated ? escalatedTitle : title, { body: text, tag: 'card-' + row.dataset.card });
      note.onclick = function () { window.focus(); location.href = row.querySelector('a').href; };
      beep();
    }
  }
  function refresh() {
    fetch(location.href, { credentials: 'same-origin', headers: { 'X-Live': '1' } })
      .then(function (answer) { return answer.ok ? answer.text() : Promise.reject(answer.status); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, 'text/html');
        var fresh = doc.querySelector('table.cards tbody'), current = document.querySelector('table.cards tbody');
        if (!fresh || !current) return;
        var now = rowsOf(doc);
        current.replaceWith(fresh);
        Object.keys(now).forEach(function (id) {
          var row = fresh.querySelector('tr[data-card="' + id + '"]');
          if (!(id in known)) { row.classList.add('arrived'); announce(row, now[id]); }
          else if (now[id] && !known[id]) { row.classList.add('arrived'); announce(row, true); }
        });
        known = now;
      })
      .catch(function () { /* offline for a moment: the next poll tries again */ });
  }
  if (button && window.Notification && Notification.permission !== 'granted') {
    button.hidden = false;
    button.addEventListener('click', function () {
      Notification.requestPermission().then(function () {
        button.hidden = Notification.permission === 'granted';
      });
    });
  }
  setInterval(refresh, every);
})();
