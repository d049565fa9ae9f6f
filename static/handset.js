// A phone held in this tab: poll its state every second (that keeps the hold), ring, answer,
// press keys, hang up; every prompt the phone hears is listed as it comes.
(function () {
  var box = document.getElementById('handset');
  if (!box) return;
  var labels = JSON.parse(box.dataset.labels);
  var token = document.querySelector('#handset-form input[name=csrf_token]').value;
  var stateLine = document.getElementById('phone-state');
  var prompts = document.getElementById('prompts');
  var keypad = document.getElementById('keypad');
  var sayForm = document.getElementById('say-form');
  var buttons = {};
  ['answer', 'reject', 'voicemail', 'hangup'].forEach(function (name) {
    buttons[name] = document.getElementById(name);
  });

  function fill(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (_, key) { return values[key] || ''; });
  }

  function statusName(status) {
    return labels['status-' + status] || status;
  }

  function eventLine(event) {
    if (event.kind === 'say') return event.text;
    return fill(labels[event.kind] || event.kind, {text: event.text, status: statusName(event.status)});
  }

  function show(state) {
    var call = state.call;
    var line = fill(labels[state.state] || state.state, {peer: state.peer});
    if (call && state.state === 'on-call') {
      if (call.bridged) line += ' · ' + labels.bridged;
      else if (call.parked) line += ' · ' + labels.parked;
    }
    if (call && state.state === 'ended') line += ' · ' + statusName(call.status);
    stateLine.textContent = line;
    box.dataset.state = state.state;
    box.dataset.bridged = call && call.bridged ? 'true' : 'false';
    var ringing = state.state === 'ringing';
    var talking = state.state === 'on-call' || state.state === 'dialling';
    buttons.answer.hidden = buttons.reject.hidden = buttons.voicemail.hidden = !ringing;
    buttons.hangup.hidden = !talking;
    keypad.hidden = sayForm.hidden = !talking;
    if (ringing) return;  // the last call's prompts stay until a new call begins
    var events = call ? call.events : [];
    var seen = (call ? call.sid : '') + ':' + events.length;
    if (prompts.dataset.seen === seen) return;
    prompts.dataset.seen = seen;
    prompts.innerHTML = '';
    events.forEach(function (event) {
      var item = document.createElement('li');
      item.className = 'event ' + event.kind;
      item.textContent = eventLine(event);
      prompts.appendChild(item);
    });
  }

  function poll() {
    fetch(box.dataset.stateUrl, {credentials: 'same-origin'})
      .then(function (response) { return response.json(); })
      .then(show)
      .catch(function () { stateLine.textContent = labels.offline; });
  }

  function press(fields) {
    var body = new FormData();
    body.append('csrf_token', token);
    Object.keys(fields).forEach(function (key) { body.append(key, fields[key]); });
    fetch(box.dataset.pressUrl, {method: 'POST', body: body, credentials: 'same-origin'})
      .then(function (response) { return response.json(); })
      .then(show)
      .catch(function () {});
  }

  Object.keys(buttons).forEach(function (name) {
    buttons[name].addEventListener('click', function () { press({action: name}); });
  });
  keypad.addEventListener('click', function (event) {
    var key = event.target.dataset.key;
    if (key) press({action: 'keys', keys: key});
  });
  sayForm.addEventListener('submit', function (event) {
    event.preventDefault();
    var speech = document.getElementById('speech');
    if (speech.value) press({action: 'say', speech: speech.value});
    speech.value = '';
  });
  poll();
  setInterval(poll, 1000);
})();
