// The console's softphone. On a Twilio account: a Twilio.Device registered with a short-lived
// token from POST /console/token, refreshed before it expires; offered calls ring here.
// With the simulated carrier: the operator's number is held by this page through the phone
// endpoints, so the same buttons answer, reject, send keys and hang up the simulated call.
(function () {
  var box = document.getElementById('softphone');
  if (!box) return;
  var csrf = box.dataset.csrf;
  var labels = JSON.parse(box.dataset.labels);
  var stateLine = document.getElementById('softphone-state');
  var buttons = {};
  ['answer', 'reject', 'mute', 'hold', 'hangup', 'send-digits'].forEach(function (name) {
    buttons[name] = document.getElementById('sp-' + name);
  });
  var digits = document.getElementById('sp-digits');
  var muted = false;
  var held = false;

  function showState(state) {
    box.dataset.state = state;
    stateLine.textContent = labels[state] || state;
    var ringing = state === 'ringing';
    var talking = state === 'on-call';
    buttons.answer.hidden = buttons.reject.hidden = !ringing;
    buttons.mute.hidden = buttons.hold.hidden = buttons.hangup.hidden = !talking;
    buttons['send-digits'].hidden = digits.hidden = !talking;
    buttons.mute.textContent = muted ? labels.unmute : labels.mute;
    buttons.hold.textContent = held ? labels.resume : labels.hold;
  }

  function post(url, fields) {
    var body = new FormData();
    body.append('csrf_token', csrf);
    Object.keys(fields || {}).forEach(function (key) { body.append(key, fields[key]); });
    return fetch(url, {method: 'POST', body: body, credentials: 'same-origin',
                       headers: {'X-CSRFToken': csrf}});
  }

  function activeCall() {
    var pinned = document.getElementById('active-call');
    return pinned ? pinned.dataset.activeCall : null;
  }

  function toggleHold() {
    var call = activeCall();
    if (!call) return;
    post(box.dataset.holdUrl.replace('0', call), {resume: held ? '1' : ''}).then(function (r) {
      if (r.ok) { held = !held; showState(box.dataset.state); }
    });
  }

  function twilioPhone() {
    var device = null;
    var current = null;
    function token() {
      return post(box.dataset.tokenUrl).then(function (r) { return r.json(); });
    }
    function idle() { current = null; muted = held = false; showState('idle'); }
    token().then(function (answer) {
      if (!answer.token) { showState('unavailable'); return; }
      device = new Twilio.Device(answer.token, {closeProtection: true});
      device.on('registered', function () { showState('idle'); });
      device.on('error', function () { showState('error'); });
      device.on('tokenWillExpire', function () {
        token().then(function (fresh) { if (fresh.token) device.updateToken(fresh.token); });
      });
      device.on('incoming', function (call) {
        current = call;
        showState('ringing');
        call.on('accept', function () { showState('on-call'); });
        call.on('disconnect', idle);
        call.on('cancel', idle);
        call.on('reject', idle);
      });
      device.register();
    });
    buttons.answer.addEventListener('click', function () { if (current) current.accept(); });
    buttons.reject.addEventListener('click', function () { if (current) current.reject(); });
    buttons.hangup.addEventListener('click', function () { if (current) current.disconnect(); });
    buttons.mute.addEventListener('click', function () {
      if (!current) return;
      muted = !current.isMuted();
      current.mute(muted);
      showState('on-call');
    });
    buttons['send-digits'].addEventListener('click', function () {
      if (current && digits.value) current.sendDigits(digits.value);
      digits.value = '';
    });
  }

  function simulatedPhone() {
    var states = {ringing: 'ringing', 'on-call': 'on-call', dialling: 'on-call'};
    function show(state) { showState(states[state.state] || 'idle'); }
    function press(fields) {
      post(box.dataset.pressUrl, fields).then(function (r) { return r.json(); }).then(show)
        .catch(function () {});
    }
    function poll() {
      fetch(box.dataset.stateUrl, {credentials: 'same-origin'})
        .then(function (r) { return r.json(); }).then(show)
        .catch(function () { showState('error'); });
    }
    buttons.answer.addEventListener('click', function () { press({action: 'answer'}); });
    buttons.reject.addEventListener('click', function () { press({action: 'reject'}); });
    buttons.hangup.addEventListener('click', function () {
      muted = held = false;
      press({action: 'hangup'});
    });
    buttons.mute.addEventListener('click', function () { muted = !muted; showState('on-call'); });
    buttons['send-digits'].addEventListener('click', function () {
      if (digits.value) press({action: 'keys', keys: digits.value});
      digits.value = '';
    });
    poll();
    setInterval(poll, 1000);
  }

  buttons.hold.addEventListener('click', toggleHold);
  showState('idle');
  if (box.dataset.mode === 'twilio') twilioPhone(); else simulatedPhone();
})();
