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
import contextlib
import io
import json
import random
import re
import secrets
import socket
import threading
import wave
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from socketserver import ThreadingMixIn
from urllib.parse import parse_qs, urlencode, urlsplit

API = "/2010-04-01"
#: Twilio's error answers for the refusal kinds: (HTTP status, message).
REFUSALS = {
    "21211": (400, "The 'To' number {to} is not a valid phone number."),
    "21610": (400, "Attempt to send to unsubscribed recipient"),
    "13227": (
        400,
        "Account not authorized to call {to}. Perhaps you need to enable some "
        "international permissions: https://www.twilio.com/console/voice/calls/geo-permissions/low-risk",
    ),
}
#: Server faults: (HTTP status, Twilio error code, message).
SERVER_FAULTS = {
    "500": (500, 20500, "An internal server error has occurred"),
    "503": (503, 20503, "Service Unavailable"),
    "429": (429, 20429, "Too Many Requests"),
}
FAULTS = (*SERVER_FAULTS, *REFUSALS, "hang", "drop")
RESOURCES = ("Calls", "Messages", "Recordings", "IncomingPhoneNumbers")
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
CALL_ENDED = ("completed", "busy", "failed", "no-answer", "canceled")


def twilio_date(moment: datetime | None = None) -> str:
    """Return a moment the way the 2010 API writes dates (RFC 2822, UTC)."""
    return format_datetime(moment or datetime.now(UTC))


def new_sid(prefix: str) -> str:
    """Return a fresh Twilio-style sid: two letters and 32 hex digits."""
    return prefix + secrets.token_hex(16)


def silence_wav(seconds: float = 1.0) -> bytes:
    """Return `seconds` of 8 kHz 16-bit mono silence as WAV, the way Twilio's recordings are."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\0\0" * int(8000 * seconds))
    return buffer.getvalue()


@dataclass
class StandinRequest:
    """One request the stand-in received: repeated form fields come as lists."""

    method: str
    path: str
    query: dict
    form: dict
    at: datetime
    status: int | None = None  # the answer's status; None when it hung up or dropped
    fault: str | None = None
    range: str | None = None  # the Range header of a media request

    @property
    def resource(self) -> str | None:
        """Return the resource the path names (Calls, Messages, ...), if any."""
        return _resource(self.path)


@dataclass
class Fault:
    """A fault for requests matching `match` (None: all), `remaining` times (None: no end)."""

    kind: str
    remaining: int | None = 1
    match: str | None = None
    seconds: float | None = None

    def applies(self, resource: str | None, to: str | None) -> bool:
        """Tell whether this fault is due for a request on `resource` to `to`."""
        if self.remaining is not None and self.remaining <= 0:
            return False
        if self.match is None:
            return True
        return self.match == (to if self.match.startswith("+") else resource)


@dataclass
class _Fraction:
    fraction: float
    kinds: tuple
    rng: random.Random
    match: str | None = None
    seconds: float | None = None


@dataclass
class _Answer:
    status: int
    body: bytes = b""
    headers: dict = field(default_factory=dict)


def _resource(path: str) -> str | None:
    parts = path.strip("/").split("/")
    if len(parts) >= 4 and parts[0] == "2010-04-01" and parts[1] == "Accounts":
        return parts[3].split(".")[0]
    return None


class _Server(ThreadingMixIn, HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, handler, standin: "TwilioStandin") -> None:
        self.standin = standin
        self.connections: set[socket.socket] = set()
        super().__init__(address, handler)

    def process_request(self, request, client_address):
        self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        self.connections.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        for connection in list(self.connections):
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format, *args):  # noqa: A002 - quiet, the requests are recorded
        pass

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode() if length else ""
        form = _fields(parse_qs(raw, keep_blank_values=True))
        query = _fields(parse_qs(parts.query, keep_blank_values=True))
        record = StandinRequest(self.command, parts.path, query, form, datetime.now(UTC))
        record.range = self.headers.get("Range")
        answer = self.server.standin._handle(record, self.headers.get("Authorization"))
        if answer is None:  # dropped, or hung until the stand-in stopped
            self.close_connection = True
            return
        record.status = answer.status
        with contextlib.suppress(ConnectionError):  # the client gave up waiting: nothing to tell
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(answer.body)

    do_GET = do_POST = do_DELETE = do_HEAD = _serve


def _fields(parsed: dict) -> dict:
    return {name: values[0] if len(values) == 1 else values for name, values in parsed.items()}


class TwilioStandin:
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
        self._fraction: _Fraction | None = None
        self._lock = threading.RLock()
        self._stopped = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle

    def start(self) -> "TwilioStandin":
        """Start listening (on a random port when `port` is 0); return self."""
        self._stopped.clear()
        self._server = _Server((self.host, self.port), _Handler, self)
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
            self._fraction = _Fraction(fraction, tuple(kinds), random.Random(seed), match, seconds)

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

    def _handle(self, record: StandinRequest, authorization: str | None) -> _Answer | None:
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

    def _error(self, status: int, code: int, message: str, headers: dict | None = None) -> _Answer:
        body = {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }
        return self._json(status, body, headers)

    def _json(self, status: int, body: dict | None, headers: dict | None = None) -> _Answer:
        data = b"" if body is None else json.dumps(body).encode()
        kind = {"Content-Type": "application/json; charset=utf-8"} if body is not None else {}
        return _Answer(status, data, {**kind, **(headers or {})})

    def _not_found(self, path: str) -> _Answer:
        return self._error(404, 20404, f"The requested resource {path} was not found")

    def _route(self, record: StandinRequest) -> _Answer:
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

    def _refuse_to(self, to: str | None) -> _Answer | None:
        if not to or not E164.match(to):
            return self._error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        return None

    def _create_call(self, record: StandinRequest) -> _Answer:
        form = record.form
        refusal = self._refuse_to(form.get("To"))
        if refusal:
            return refusal
        if not form.get("From"):
            return self._error(400, 21213, "No 'From' number is specified")
        if not (form.get("Url") or form.get("Twiml") or form.get("ApplicationSid")):
            return self._error(400, 21205, "Url parameter is required.")
        sid = new_sid("CA")
        if self.carrier is not None:
            sid = self.carrier.place_call(
                form["To"],
                form.get("Url"),
                form["From"],
                form.get("StatusCallback"),
                int(form.get("Timeout") or 20),
            )
        now = twilio_date()
        call = {
            "sid": sid,
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "to": form["To"],
            "to_formatted": form["To"],
            "from": form["From"],
            "from_formatted": form["From"],
            "status": "queued",
            "direction": "outbound-api",
            "answered_by": None,
            "caller_name": None,
            "duration": None,
            "price": None,
            "price_unit": "USD",
            "parent_call_sid": None,
            "phone_number_sid": None,
            "forwarded_from": None,
            "group_sid": None,
            "queue_time": "0",
            "trunk_sid": None,
            "start_time": None,
            "end_time": None,
            "date_created": now,
            "date_updated": now,
            "annotation": None,
            "uri": f"{self.account_path}/Calls/{sid}.json",
            "subresource_uris": {
                "recordings": f"{self.account_path}/Calls/{sid}/Recordings.json",
                "notifications": f"{self.account_path}/Calls/{sid}/Notifications.json",
            },
            # What the app asked for (not part of Twilio's answer, kept for assertions).
            "url": form.get("Url"),
            "method": form.get("Method", "POST"),
            "timeout": form.get("Timeout"),
            "status_callback": form.get("StatusCallback"),
            "status_callback_event": form.get("StatusCallbackEvent"),
            "machine_detection": form.get("MachineDetection"),
        }
        self.calls[sid] = call
        return self._json(201, _public(call))

    def _call(self, record: StandinRequest, sid: str) -> _Answer:
        call = self.calls.get(sid)
        if call is None:
            return self._not_found(record.path)
        if record.method == "GET":
            self._follow_carrier(call)
            return self._json(200, _public(call))
        if record.method != "POST":
            return self._not_found(record.path)
        form = record.form
        if form.get("Url") or form.get("Twiml"):
            if call["status"] in CALL_ENDED:
                return self._error(400, 21220, "Call is not in-progress. Cannot redirect.")
            call["url"] = form.get("Url")
            call["method"] = form.get("Method", "POST")
            call.setdefault("redirects", []).append(form.get("Url"))
            if self.carrier is not None and form.get("Url"):
                self.carrier.redirect_call(sid, form["Url"])
        status = form.get("Status")
        if status in ("completed", "canceled") and call["status"] not in CALL_ENDED:
            if self.carrier is not None:
                self.carrier.hangup(sid)
            call["status"] = status
            call["end_time"] = twilio_date()
        call["date_updated"] = twilio_date()
        return self._json(200, _public(call))

    def _follow_carrier(self, call: dict) -> None:
        """Take the call's status from the carrier that plays it, once it has started there."""
        if self.carrier is None:
            return
        with contextlib.suppress(Exception):  # not placed on the carrier yet: still queued
            call["status"] = self.carrier.call_status(call["sid"])

    def set_call_status(self, sid: str, status: str) -> None:
        """Move a call to `status` (ringing, in-progress, completed, no-answer, ...)."""
        with self._lock:
            self.calls[sid]["status"] = status
            self.calls[sid]["date_updated"] = twilio_date()

    def _create_message(self, record: StandinRequest) -> _Answer:
        form = record.form
        refusal = self._refuse_to(form.get("To"))
        if refusal:
            return refusal
        if not form.get("Body") and not form.get("MediaUrl"):
            return self._error(400, 21602, "Message body is required.")
        sid = new_sid("SM")
        now = twilio_date()
        body = form.get("Body", "")
        message = {
            "sid": sid,
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "to": form["To"],
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "body": body,
            "status": "queued",
            "num_segments": str(max(1, -(-len(body) // 70))),
            "num_media": "0",
            "direction": "outbound-api",
            "price": None,
            "price_unit": "USD",
            "error_code": None,
            "error_message": None,
            "date_created": now,
            "date_updated": now,
            "date_sent": None,
            "uri": f"{self.account_path}/Messages/{sid}.json",
            "subresource_uris": {"media": f"{self.account_path}/Messages/{sid}/Media.json"},
            "status_callback": form.get("StatusCallback"),
        }
        self.messages[sid] = message
        if self.carrier is not None:
            self._hand_to_carrier(message)
        return self._json(201, message)

    def _hand_to_carrier(self, message: dict) -> None:
        """Deliver the SMS to the carrier's phone and post its receipts from a thread."""
        self.carrier.receive_sms(message["to"], message["body"], message["from"], message["sid"])
        if message["status_callback"]:
            threading.Thread(
                target=self.carrier.report_sms,
                args=(message["sid"], message["to"], message["from"], message["status_callback"]),
                daemon=True,
            ).start()

    def _recording(self, record: StandinRequest, sid: str, extension: str) -> _Answer:
        recording = self.recordings.get(sid)
        if recording is None:
            return self._not_found(record.path)
        if extension == "json":
            if record.method == "GET":
                return self._json(200, recording)
            if record.method == "DELETE":
                del self.recordings[sid]
                self.audio.pop(sid, None)
                return _Answer(204)
            return self._not_found(record.path)
        if extension in ("wav", "mp3", "") and record.method in ("GET", "HEAD"):
            kind = "audio/mpeg" if extension == "mp3" else "audio/x-wav"
            return _media(self.audio[sid], kind, record.range)
        return self._not_found(record.path)

    def _list_numbers(self, record: StandinRequest) -> _Answer:
        query = record.query
        wanted = query.get("PhoneNumber")
        numbers = [n for n in self.numbers.values() if not wanted or n["phone_number"] == wanted]
        size = max(1, min(1000, int(query.get("PageSize") or 50)))
        page = max(0, int(query.get("Page") or 0))
        chunk = numbers[page * size : (page + 1) * size]
        base = f"{self.account_path}/IncomingPhoneNumbers.json"

        def page_uri(number: int) -> str:
            params = {"PageSize": size, "Page": number}
            if wanted:
                params["PhoneNumber"] = wanted
            if number:
                params["PageToken"] = f"PA{number * size}"
            return f"{base}?{urlencode(params)}"

        more = (page + 1) * size < len(numbers)
        return self._json(
            200,
            {
                "incoming_phone_numbers": chunk,
                "first_page_uri": page_uri(0),
                "next_page_uri": page_uri(page + 1) if more else None,
                "previous_page_uri": page_uri(page - 1) if page else None,
                "page": page,
                "page_size": size,
                "start": page * size,
                "end": page * size + max(0, len(chunk) - 1),
                "uri": page_uri(page),
            },
        )

    def _number(self, record: StandinRequest, sid: str) -> _Answer:
        number = self.numbers.get(sid)
        if number is None:
            return self._not_found(record.path)
        if record.method == "POST":
            for name, value in record.form.items():
                key = _snake(name)
                if key in number and key not in ("sid", "account_sid", "phone_number", "uri"):
                    number[key] = value
            number["date_updated"] = twilio_date()
        elif record.method != "GET":
            return self._not_found(record.path)
        return self._json(200, number)


# Fields the stand-in keeps on a call for assertions but Twilio does not return.
_PRIVATE_CALL_FIELDS = (
    "url",
    "method",
    "timeout",
    "machine_detection",
    "status_callback",
    "status_callback_event",
    "redirects",
)


def _public(call: dict) -> dict:
    return {k: v for k, v in call.items() if k not in _PRIVATE_CALL_FIELDS}


def _snake(name: str) -> str:
    """VoiceFallbackUrl → voice_fallback_url."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _media(audio: bytes, kind: str, byte_range: str | None) -> _Answer:
    headers = {"Content-Type": kind, "Accept-Ranges": "bytes"}
    total = len(audio)
    match = re.fullmatch(r"bytes=(\d*)-(\d*)", byte_range or "")
    if not match or not (match.group(1) or match.group(2)):
        return _Answer(200, audio, headers)
    first, last = match.groups()
    if first:
        start, end = int(first), min(int(last), total - 1) if last else total - 1
    else:
        start, end = max(0, total - int(last)), total - 1
    if start >= total or start > end:
        return _Answer(416, b"", {**headers, "Content-Range": f"bytes */{total}"})
    headers["Content-Range"] = f"bytes {start}-{end}/{total}"
    return _Answer(206, audio[start : end + 1], headers)
