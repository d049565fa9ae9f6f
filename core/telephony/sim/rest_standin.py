"""A stand-in for Twilio's REST API on 127.0.0.1 for tests and benches; the real client talks to it.

It speaks the part of the 2010-04-01 API the app uses, in JSON, behind HTTP Basic auth with the
account SID and auth token (anything else: 401 and Twilio's error JSON): Calls create, update
(`Url`, `Status`) and fetch; Messages create and fetch; Recordings fetch and delete, and their
audio (`.wav`/`.mp3`, with `Range` → 206); IncomingPhoneNumbers list (Twilio's paging envelope,
`PhoneNumber` filter) and update (VoiceUrl, VoiceFallbackUrl, StatusCallback, SmsUrl, methods).
Answers look like Twilio's (sids CA/SM/RE/PN, status and RFC 2822 date fields) so `twilio`'s
client parses them. Point the app at it with `TWILIO_API_BASE_URL` (see `StandinHttpClient`
in core.telephony.twilio_gateway; the `twilio_standin` fixture in tests/conftest.py does that).

    standin = TwilioStandin(account_sid, auth_token).start()
    standin.base_url                    # http://127.0.0.1:<port>, for TWILIO_API_BASE_URL
    standin.add_number("+74872000000")  # an incoming number (PN…); also voice_url=..., sms_url=...
    standin.add_recording(call_sid)     # a recording (RE…) with a second of WAV audio
    standin.fail("500", times=2)        # the next two requests answer 500
    standin.fail("21211", match="+79990000000")     # requests with that `To` are refused
    standin.fail("429", match="Messages", times=None)  # until `clear_faults()`; Retry-After: 1
    standin.fail_fraction(0.33, kinds=("500", "429", "hang"), seed=1)  # a third fail, at random
    standin.down(); standin.up()        # the port refuses connections, then listens again
    standin.requests                    # [StandinRequest(method, path, query, form, at, status)]
    standin.calls, standin.messages, standin.recordings, standin.numbers  # state, by sid
    standin.stop()

Given `carrier=` (a SimCarrier), it also plays what it is asked for: Calls create places the
call there (the answer carries the carrier's CallSid), an update with Url redirects it and
Status=completed hangs it up, fetch reads its status; Messages create hands the SMS to the
carrier's phone and posts its receipts to StatusCallback from a thread. A faulted request does
nothing on the carrier.

Fault kinds (`FAULTS`): "500", "503", "429" (with `Retry-After`), the refusals "21211" (invalid
number), "21610" (unsubscribed recipient), "13227" (no international permission) — 400 with
{code, message, more_info, status} —, "hang" (no answer for `hang_seconds`, 20 by default, then
the request is carried out: a client that timed out may still have created the call, as with
Twilio) and "drop" (the connection closes without an answer). `match` names a resource ("Calls",
"Messages", "Recordings", "IncomingPhoneNumbers") or a `To` number (starting with "+"). A fault
applies before authentication, like a failure in front of Twilio's API. Without a fault, a `To`
that is not E.164 is refused with 21211, and redirecting a call that ended with 21220.
"""

import base64
import json
import random
import secrets
import threading

from core.telephony.sim.records import new_sid
from core.telephony.sim.standin_resources import StandinResources
from core.telephony.sim.standin_wire import (
    API,
    FAULTS,
    REFUSALS,
    SERVER_FAULTS,
    Answer,
    Fault,
    Fraction,
    StandinHandler,
    StandinRequest,
    StandinServer,
    silence_wav,
    twilio_date,
)

__all__ = ["FAULTS", "Fault", "StandinRequest", "TwilioStandin", "silence_wav", "twilio_date"]


class TwilioStandin(StandinResources):
    """Twilio's REST API for one account, served from a thread; see the module docstring."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        hang_seconds: float = 20.0,
        carrier=None,
    ) -> None:
        self.account_sid = account_sid
        #: A SimCarrier that plays the calls and SMS asked for (None: they are only recorded).
        self.carrier = carrier
        self.auth_token = auth_token
        self.host = host
        self.port = port
        self.hang_seconds = hang_seconds
        #: Seconds a 429 answer asks the client to wait (its `Retry-After` header).
        self.retry_after = 1
        self.requests: list[StandinRequest] = []
        self.calls: dict[str, dict] = {}
        self.messages: dict[str, dict] = {}
        self.recordings: dict[str, dict] = {}
        self.numbers: dict[str, dict] = {}
        #: Audio of each recording, by sid.
        self.audio: dict[str, bytes] = {}
        self.faults: list[Fault] = []
        self._fraction: Fraction | None = None
        self._lock = threading.RLock()
        self._stopped = threading.Event()
        self._server: StandinServer | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle

    def start(self) -> "TwilioStandin":
        """Start listening (on a random port when `port` is 0); return self."""
        self._stopped.clear()
        self._server = StandinServer((self.host, self.port), StandinHandler, self)
        self.port = self._server.server_port
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def down(self) -> None:
        """Close the listener and open connections: connecting to `base_url` is refused."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._server.drop_connections()
        self._thread.join(timeout=5)
        self._server = None

    def up(self) -> None:
        """Listen again on the same port after `down()`."""
        if self._server is None:
            self.start()

    def stop(self) -> None:
        """Stop serving, waking any hung request (it ends without an answer)."""
        self._stopped.set()
        self.down()

    def __enter__(self) -> "TwilioStandin":
        return self.start() if self._server is None else self

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """The URL to put in `TWILIO_API_BASE_URL`."""
        return f"http://{self.host}:{self.port}"

    @property
    def account_path(self) -> str:
        return f"{API}/Accounts/{self.account_sid}"

    # -- faults

    def fail(
        self,
        kind: str,
        times: int | None = 1,
        match: str | None = None,
        seconds: float | None = None,
    ) -> Fault:
        """Answer the next `times` requests matching `match` with fault `kind` (None: no end).

        `seconds` is how long a "hang" lasts (default: `hang_seconds`).
        """
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}; one of {', '.join(FAULTS)}")
        fault = Fault(kind, times, match, seconds)
        with self._lock:
            self.faults.append(fault)
        return fault

    def fail_fraction(
        self,
        fraction: float,
        kinds: tuple[str, ...] = ("500", "429", "hang"),
        seed: int | None = None,
        match: str | None = None,
        seconds: float | None = None,
    ) -> None:
        """Fail about `fraction` of requests (matching `match`) with one of `kinds` at random."""
        unknown = set(kinds) - set(FAULTS)
        if unknown or not 0 <= fraction <= 1:
            raise ValueError(f"fraction must be in [0, 1] and kinds among {FAULTS}")
        with self._lock:
            self._fraction = Fraction(fraction, tuple(kinds), random.Random(seed), match, seconds)

    def clear_faults(self) -> None:
        """Answer every request normally again."""
        with self._lock:
            self.faults.clear()
            self._fraction = None

    def _due_fault(self, record: StandinRequest) -> Fault | None:
        to = record.form.get("To") if isinstance(record.form.get("To"), str) else None
        with self._lock:
            for fault in self.faults:
                if fault.applies(record.resource, to):
                    if fault.remaining is not None:
                        fault.remaining -= 1
                    return fault
            share = self._fraction
            due = share is not None and Fault("", None, share.match).applies(record.resource, to)
            if due and share.rng.random() < share.fraction:
                return Fault(share.rng.choice(share.kinds), None, None, share.seconds)
        return None

    # -- state

    def add_number(self, phone_number: str, **fields: str) -> dict:
        """Add an incoming number (fields: voice_url, voice_fallback_url, status_callback, ...)."""
        sid = fields.pop("sid", None) or new_sid("PN")
        now = twilio_date()
        number = {
            "sid": sid,
            "account_sid": self.account_sid,
            "friendly_name": phone_number,
            "phone_number": phone_number,
            "api_version": "2010-04-01",
            "voice_url": "",
            "voice_method": "POST",
            "voice_fallback_url": "",
            "voice_fallback_method": "POST",
            "voice_caller_id_lookup": False,
            "voice_application_sid": "",
            "status_callback": "",
            "status_callback_method": "POST",
            "sms_url": "",
            "sms_method": "POST",
            "sms_fallback_url": "",
            "sms_fallback_method": "POST",
            "sms_application_sid": "",
            "capabilities": {"voice": True, "sms": True, "mms": False, "fax": False},
            "beta": False,
            "origin": "twilio",
            "status": "in-use",
            "date_created": now,
            "date_updated": now,
            "uri": f"{self.account_path}/IncomingPhoneNumbers/{sid}.json",
            **fields,
        }
        with self._lock:
            self.numbers[sid] = number
        return number

    def number(self, phone_number: str) -> dict:
        """Return the incoming number with this E.164 number."""
        return next(n for n in self.numbers.values() if n["phone_number"] == phone_number)

    def add_recording(
        self, call_sid: str | None = None, audio: bytes | None = None, duration: int = 1
    ) -> dict:
        """Add a recording of `call_sid` with `audio` (default: `duration` seconds of silence)."""
        sid = new_sid("RE")
        now = twilio_date()
        recording = {
            "sid": sid,
            "account_sid": self.account_sid,
            "call_sid": call_sid or new_sid("CA"),
            "api_version": "2010-04-01",
            "conference_sid": None,
            "channels": 1,
            "duration": str(duration),
            "price": None,
            "price_unit": "USD",
            "source": "RecordVerb",
            "status": "completed",
            "error_code": None,
            "start_time": now,
            "date_created": now,
            "date_updated": now,
            "uri": f"{self.account_path}/Recordings/{sid}.json",
            "media_url": f"https://api.twilio.com{self.account_path}/Recordings/{sid}",
            "subresource_uris": {
                "transcriptions": f"{self.account_path}/Recordings/{sid}/Transcriptions.json"
            },
        }
        with self._lock:
            self.recordings[sid] = recording
            self.audio[sid] = silence_wav(duration) if audio is None else audio
        return recording

    def recording_url(self, sid: str) -> str:
        """Return the RecordingUrl Twilio would post for this recording (no extension)."""
        return f"https://api.twilio.com{self.account_path}/Recordings/{sid}"

    def requests_to(self, resource: str, method: str | None = None) -> list[StandinRequest]:
        """Return the recorded requests on `resource` (e.g. "Calls"), optionally of one method."""
        return [
            r
            for r in list(self.requests)
            if r.resource == resource and (method is None or r.method == method)
        ]

    # -- answering

    def _handle(self, record: StandinRequest, authorization: str | None) -> Answer | None:
        with self._lock:
            self.requests.append(record)
        fault = self._due_fault(record)
        if fault is not None:
            record.fault = fault.kind
            if fault.kind == "drop":
                return None
            if fault.kind == "hang":
                seconds = self.hang_seconds if fault.seconds is None else fault.seconds
                if self._stopped.wait(seconds):
                    return None
            elif fault.kind in SERVER_FAULTS:
                status, code, message = SERVER_FAULTS[fault.kind]
                headers = {"Retry-After": str(self.retry_after)} if status == 429 else {}
                return self._error(status, code, message, headers)
            else:
                status, message = REFUSALS[fault.kind]
                return self._error(
                    status, int(fault.kind), message.format(to=record.form.get("To"))
                )
        if not self._authorized(authorization):
            return self._error(401, 20003, "Authenticate")
        with self._lock:
            return self._route(record)

    def _authorized(self, authorization: str | None) -> bool:
        if not authorization or not authorization.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(authorization[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return secrets.compare_digest(user, self.account_sid) and secrets.compare_digest(
            password, self.auth_token
        )

    def _error(self, status: int, code: int, message: str, headers: dict | None = None) -> Answer:
        body = {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }
        return self._json(status, body, headers)

    def _json(self, status: int, body: dict | None, headers: dict | None = None) -> Answer:
        data = b"" if body is None else json.dumps(body).encode()
        kind = {"Content-Type": "application/json; charset=utf-8"} if body is not None else {}
        return Answer(status, data, {**kind, **(headers or {})})

    def _not_found(self, path: str) -> Answer:
        return self._error(404, 20404, f"The requested resource {path} was not found")

    def _route(self, record: StandinRequest) -> Answer:
        prefix = self.account_path + "/"
        if not record.path.startswith(prefix):
            return self._not_found(record.path)
        rest = record.path[len(prefix) :]
        name, _, tail = rest.partition("/")
        method = record.method
        if not tail:
            collection = {
                ("POST", "Calls.json"): self._create_call,
                ("POST", "Messages.json"): self._create_message,
                ("GET", "IncomingPhoneNumbers.json"): self._list_numbers,
            }.get((method, name))
            return collection(record) if collection else self._not_found(record.path)
        sid, _, extension = tail.partition(".")
        if "/" in sid:
            return self._not_found(record.path)
        if name == "Calls" and extension == "json":
            return self._call(record, sid)
        if name == "Messages" and extension == "json" and method == "GET":
            found = self.messages.get(sid)
            return self._json(200, found) if found else self._not_found(record.path)
        if name == "Recordings":
            return self._recording(record, sid, extension)
        if name == "IncomingPhoneNumbers" and extension == "json":
            return self._number(record, sid)
        return self._not_found(record.path)
