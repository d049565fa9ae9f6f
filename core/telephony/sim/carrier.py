"""The simulated carrier: executes the app's TwiML the way Twilio does, with signed webhooks."""

import logging
import threading
import time
from collections import deque
from urllib.parse import urljoin

from flask import Flask

from core.telephony.gateway import STATUS_CALLBACK_EVENTS
from core.telephony.sim.audio import sim_recordings_dir
from core.telephony.sim.live import LivePhones
from core.telephony.sim.phones import Behaviour, CallerScript, no_answer
from core.telephony.sim.queues import QueueSwitch
from core.telephony.sim.records import Call, Sms, new_sid
from core.telephony.sim.transport import HttpTransport, InProcessTransport
from core.telephony.sim.twiml import Next, Verb
from core.telephony.sim.verbs import HANDLERS
from core.telephony.sim.webhooks import API_VERSION, SimCarrierError, WebhookSender

log = logging.getLogger(__name__)


class SimCarrier(QueueSwitch, WebhookSender):
    """Plays Twilio against the app: phones with behaviours, calls with scripts, signed webhooks."""

    def __init__(
        self,
        transport,
        *,
        auth_token: str,
        public_base_url: str,
        account_sid: str = "AC" + "0" * 32,
        default_number: str | None = None,
        voice_path: str = "/voice/incoming",
        status_path: str | None = "/voice/status",
        incoming_status_events: tuple[str, ...] = ("completed",),
        strict: bool = True,
        threaded_actions: bool = False,
        recordings_dir: str | None = None,
        unknown_numbers: Behaviour | None = None,
        ring_pace: float = 0.0,
    ) -> None:
        self.transport = transport
        self.auth_token = auth_token
        self.public_base_url = public_base_url.rstrip("/")
        self.account_sid = account_sid
        self.default_number = default_number
        self.voice_path = voice_path
        self.status_path = status_path
        self.incoming_status_events = tuple(incoming_status_events)
        self.strict = strict
        self.threaded_actions = threaded_actions
        #: Where the audio of `<Record>` goes as WAV files (None: recordings have no sound).
        self.recordings_dir = recordings_dir
        #: How numbers with no behaviour of their own react (None: they never answer).
        self.unknown_numbers = unknown_numbers
        #: Real seconds a simulated second of ringing lasts (0: ringing takes no time).
        self.ring_pace = ring_pace
        self.messages: list[Sms] = []
        #: Numbers whose phones never receive an SMS, with the ErrorCode their receipts carry.
        self._sms_unreachable: dict[str, str] = {}
        self.errors: list[str] = []
        self._lock = threading.RLock()
        self._phones: dict[str, Behaviour] = {}
        self._numbers: dict[str, dict] = {}
        self._calls: dict[str, Call] = {}
        self._top: list[Call] = []
        self._queues: dict[str, list[Call]] = {}
        self._queue_sids: dict[str, str] = {}
        self._pending: deque = deque()
        self._threads: list[threading.Thread] = []
        #: Numbers a person holds in a browser tab (the demo's phone pages).
        self.live = LivePhones(self)

    @classmethod
    def in_process(cls, app: Flask, *, attach: bool = True, **options) -> "SimCarrier":
        """Return a carrier that calls `app` through a test client (attached as its carrier).

        Its recordings are WAV files in the app's instance folder, which the app serves.
        """
        options.setdefault("recordings_dir", sim_recordings_dir(app.instance_path))
        carrier = cls(
            InProcessTransport(app),
            auth_token=app.config["TWILIO_AUTH_TOKEN"],
            public_base_url=app.config["PUBLIC_BASE_URL"],
            account_sid=app.config["TWILIO_ACCOUNT_SID"],
            default_number=app.config["TWILIO_NUMBER"],
            **options,
        )
        if attach:
            app.extensions["sim_carrier"] = carrier
        return carrier

    @classmethod
    def over_http(
        cls, base_url: str, auth_token: str, public_base_url: str, **options
    ) -> "SimCarrier":
        """Return a carrier that calls a running server at `base_url` over HTTP."""
        return cls(
            HttpTransport(base_url),
            auth_token=auth_token,
            public_base_url=public_base_url,
            **options,
        )

    # --- the phone book --------------------------------------------------------------------

    def phone(self, number: str, behaviour) -> None:
        """Give `number` a behaviour (`answers_and_presses("1")`, `voicemail`, `busy`, …)."""
        self._phones[number] = behaviour() if callable(behaviour) else behaviour

    def sms_undelivered(self, number: str, error_code: str = "30003") -> None:
        """Make every SMS to `number` end `undelivered` with `error_code` (30003: unreachable)."""
        self._sms_unreachable[number] = error_code

    def behaviour_of(self, number: str) -> Behaviour:
        """Return how `number` reacts when rung (unknown numbers: `unknown_numbers`)."""
        return self._phones.get(number) or self.unknown_numbers or no_answer()

    def ring(self, seconds: float) -> None:
        """Let `seconds` of ringing pass on the carrier's own clock (`ring_pace` of real time)."""
        if self.ring_pace > 0:
            time.sleep(seconds * self.ring_pace)

    def app_number(
        self,
        number: str,
        *,
        voice_url: str | None = None,
        fallback_url: str | None = None,
        status_callback: str | None = None,
    ) -> None:
        """Configure one of the app's numbers (URLs may be paths under PUBLIC_BASE_URL)."""
        self._numbers[number] = {
            "voice_url": voice_url,
            "fallback_url": fallback_url,
            "status_callback": status_callback,
        }

    # --- what tests (and the load driver) do -----------------------------------------------

    def incoming_call(
        self, from_: str, to: str | None = None, script: CallerScript | None = None
    ) -> Call:
        """Let `from_` call the app's number `to` and follow the call until it ends or is parked."""
        to = to or self.default_number
        if not to:
            raise SimCarrierError("incoming_call needs `to` (the app's number)")
        number = self._numbers.get(to, {})
        status_callback = number.get("status_callback") or self.status_path
        call = Call(
            new_sid("CA"),
            from_,
            to,
            "inbound",
            script or CallerScript(),
            status_callback=self._absolute(status_callback) if status_callback else None,
            status_events=self.incoming_status_events,
        )
        self._register(call, top=True)
        self._progress(call, "initiated")
        call.status = "ringing"
        self._progress(call, "ringing")
        voice_url = self._absolute(number.get("voice_url") or self.voice_path)
        fallback = number.get("fallback_url")
        outcome = self._run(
            call, Next(voice_url), "call", fallback=self._absolute(fallback) if fallback else None
        )
        self._finish(call, outcome)
        self._after_webhook()
        return call

    def caller_hangs_up(self, call_sid: str) -> None:
        """The person on a parked (queued) call hangs up."""
        call = self.call(call_sid)
        with call.lock:
            idle = call.parked and call.depth == 0
            if not idle and not call.ended:
                call.interrupt = ("hangup", None)
        if idle:
            self._hang_up_parked(call)

    def run_pending(self) -> None:
        """Carry out the app's queued requests (calls to place, redirects, hang-ups) now."""
        while True:
            with self._lock:
                if not self._pending:
                    return
                action = self._pending.popleft()
            self._perform(action)

    def wait_idle(self, timeout: float = 30) -> None:
        """Wait until the threads running the app's requests (threaded mode) have finished."""
        while True:
            with self._lock:
                threads = [thread for thread in self._threads if thread.is_alive()]
                self._threads = threads
            if not threads:
                return
            for thread in threads:
                thread.join(timeout)
                if thread.is_alive():
                    raise SimCarrierError("the carrier's actions did not finish in time")

    def post_webhook(self, url: str, params: dict, method: str = "POST") -> tuple[int, str]:
        """Send one signed request to the app (e.g. to replay a status callback); return it."""
        call = Call("CA-replay", params.get("From", ""), params.get("To", ""), "inbound", None)
        return self._send(call, method, self._absolute(url), dict(params))

    # --- what the gateway asks (Twilio's REST API) -----------------------------------------

    def place_call(
        self,
        to: str,
        url: str,
        from_: str | None = None,
        status_callback: str | None = None,
        timeout: int = 20,
        machine_detection: bool = False,
    ) -> str:
        """Accept an outbound call request; it runs with the pending actions. Return its sid."""
        sid = new_sid("CA")
        request = (to, url, from_, status_callback, timeout, machine_detection)
        self._queue_action(("place", sid, request))
        return sid

    def redirect_call(self, call_sid: str, url: str) -> None:
        """Accept a request to move a live call to new TwiML."""
        self._queue_action(("redirect", call_sid, url))

    def hangup(self, call_sid: str) -> None:
        """Accept a request to end a live call."""
        self._queue_action(("hangup", call_sid, None))

    def call_status(self, call_sid: str) -> str:
        """Return the CallStatus of the call or leg (`SimCarrierError` when unknown)."""
        return self.call(call_sid).status

    def receive_sms(
        self, to: str, body: str, from_: str | None = None, sid: str | None = None
    ) -> None:
        """Deliver an SMS to the phone `to`."""
        with self._lock:
            self.messages.append(Sms(sid or new_sid("SM"), to, from_ or "", body))

    def report_sms(self, sid: str, to: str, from_: str, status_callback: str) -> list[int]:
        """Post an SMS's signed delivery receipts (`sent`, then `delivered` or `undelivered`).

        Returns the app's answers.
        """
        error_code = self._sms_unreachable.get(to)
        params = {
            "MessageSid": sid,
            "SmsSid": sid,
            "AccountSid": self.account_sid,
            "From": from_,
            "To": to,
            "ApiVersion": API_VERSION,
        }
        receipts = [{"MessageStatus": "sent"}, {"MessageStatus": "delivered"}]
        if error_code is not None:
            receipts[1] = {"MessageStatus": "undelivered", "ErrorCode": error_code}
        answers = []
        for receipt in receipts:
            status, _ = self.post_webhook(
                status_callback, {**params, **receipt, "SmsStatus": receipt["MessageStatus"]}
            )
            if not 200 <= status < 300:
                self.errors.append(
                    f"sms receipt {receipt['MessageStatus']} of {sid} answered {status}"
                )
            answers.append(status)
        return answers

    # --- queries -----------------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        """Every call that is not a Dial leg (incoming and outbound), oldest first."""
        return list(self._top)

    def call(self, sid: str) -> Call:
        """Return the call or leg with this CallSid."""
        try:
            return self._calls[sid]
        except KeyError:
            raise SimCarrierError(f"no call {sid}") from None

    def calls_to(self, number: str) -> list[Call]:
        """Every call and Dial leg that rang `number`, oldest first."""
        return [call for call in self._calls.values() if call.to == number]

    def queued(self, name: str | None = None) -> list[Call]:
        """Calls parked in the queue `name` (or in any queue), in queue order."""
        with self._lock:
            if name is not None:
                return list(self._queues.get(name, []))
            return [call for queue in self._queues.values() for call in queue]

    def sms_to(self, number: str) -> list[str]:
        """Bodies of the SMS the phone `number` received, oldest first."""
        return [sms.body for sms in self.messages if sms.to == number]

    # --- the machinery -------------------------------------------------------------------------

    def _register(self, call: Call, top: bool = False) -> None:
        with self._lock:
            self._calls[call.sid] = call
            if top:
                self._top.append(call)

    def _absolute(self, url: str) -> str:
        return urljoin(self.public_base_url + "/", url)

    def _queue_action(self, action: tuple) -> None:
        with self._lock:
            self._pending.append(action)
            if self.threaded_actions:
                thread = threading.Thread(target=self._run_pending_safely, daemon=True)
                self._threads.append(thread)
                thread.start()

    def _run_pending_safely(self) -> None:
        try:
            self.run_pending()
        except Exception as error:
            log.exception("simulated carrier action failed")
            self.errors.append(f"action failed: {error}")

    def _after_webhook(self) -> None:
        if not self.threaded_actions:
            self.run_pending()

    def _perform(self, action: tuple) -> None:
        kind, sid, payload = action
        if kind == "place":
            self._run_outbound(sid, *payload)
            return
        call = self._calls.get(sid)
        if kind == "continue" and call is not None:
            self._continue(call, payload)
            return
        if call is None or call.ended:
            self.errors.append(f"{kind} of {sid}: the call is not in progress")
            return
        with call.lock:
            idle = call.parked and call.depth == 0
            if not idle:
                url = self._absolute(payload) if kind == "redirect" else None
                call.interrupt = (kind, url)
        if idle and kind == "redirect":
            self._resume_parked(call, self._absolute(payload))
        elif idle:
            self._hang_up_parked(call)

    def _run_outbound(self, sid, to, url, from_, status_callback, timeout, detect) -> None:
        behaviour = self.behaviour_of(to)
        call = Call(
            sid,
            from_ or self.default_number or "",
            to,
            "outbound-api",
            behaviour.script,
            status_callback=self._absolute(status_callback) if status_callback else None,
            status_events=STATUS_CALLBACK_EVENTS,
        )
        self._register(call, top=True)
        self._progress(call, "initiated")
        if behaviour.outcome == "failed":
            self._end(call, "failed")
            return
        call.status = "ringing"
        self._progress(call, "ringing")
        (behaviour,) = self.live.ring([(to, call, behaviour)], timeout)
        call.script = behaviour.script
        if behaviour.outcome == "busy":
            call.elapsed += 3
            self.ring(3)
            self._end(call, "busy")
        elif behaviour.outcome != "answer" or behaviour.ring_seconds >= timeout:
            call.elapsed += timeout
            self.ring(timeout)
            self._end(call, "no-answer")
        else:
            call.elapsed += behaviour.ring_seconds
            self.ring(behaviour.ring_seconds)
            if detect:  # like Twilio's answering-machine detection: a voicemail ends on a beep
                call.answered_by = "machine_end_beep" if behaviour.label == "voicemail" else "human"
            self._answer(call)
            self._finish(call, self._run(call, Next(self._absolute(url)), "call"))

    def _finish(self, call: Call, outcome) -> None:
        if outcome != "parked" and not call.ended:
            self._end(call, "completed")

    def _answer(self, call: Call) -> None:
        if call.answered_at is None:
            call.answered_at = call.elapsed
            call.status = "in-progress"
            self._progress(call, "answered")

    def _end(self, call: Call, status: str) -> None:
        if call.ended:
            return
        call.status = status
        call.ended_at = call.elapsed
        self._progress(call, "completed")

    def _run(self, call: Call, nxt: Next, context: str, fallback: str | None = None):
        """Fetch and execute documents until the call ends, is parked or the TwiML runs out."""
        with call.lock:
            call.depth += 1
        try:
            return self._run_documents(call, nxt, context, fallback)
        finally:
            with call.lock:
                call.depth -= 1
                missed = None
                if call.depth == 0 and call.parked and call.interrupt is not None:
                    missed, call.interrupt = call.interrupt, None
            if missed is not None:
                self._queue_action((missed[0], call.sid, missed[1]))

    def _run_documents(self, call: Call, nxt: Next, context: str, fallback: str | None):
        while True:
            context = nxt.context or context
            verbs = self._document(call, nxt, context, fallback)
            fallback = None
            if verbs is None:
                return "hangup"
            outcome = self._execute(call, verbs, nxt.url, context)
            if not isinstance(outcome, Next):
                return outcome
            nxt = outcome

    def _execute(self, call: Call, verbs: list[Verb], url: str, context: str):
        for verb in verbs:
            interrupted = self._interrupted(call)
            if interrupted is not None:
                return interrupted
            limit = call.script.hang_up_after_verbs
            if limit is not None and call.verbs_run >= limit:
                self._end(call, "completed")
                return "hangup"
            call.verbs_run += 1
            if verb.name != "Reject":
                self._answer(call)
            result = HANDLERS[verb.name](self, call, verb, url, context)
            if result is not None:
                return result
        interrupted = self._interrupted(call)
        return "ended" if interrupted is None else interrupted

    def _interrupted(self, call: Call):
        if call.ended:
            return "hangup"
        with call.lock:
            interrupt, call.interrupt = call.interrupt, None
        if interrupt is None:
            return None
        kind, url = interrupt
        if kind == "hangup":
            if call.parked:
                self._hang_up_parked(call)
            self._end(call, "completed")
            return "hangup"
        if call.parked:
            self.leave_queue(call, "redirected", post=True)
        return Next(url, context="call")

    def next_input(self, call: Call, seconds: float = 5):
        """Return what the person on `call` gives at their next Gather (`seconds` timeout)."""
        answer = call.script.input_within(call.inputs_used, seconds)
        call.inputs_used += 1
        return answer
