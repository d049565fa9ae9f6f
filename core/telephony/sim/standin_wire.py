"""The wire of the Twilio REST stand-in: its HTTP server, requests, faults and answer shapes."""

import contextlib
import io
import random
import re
import socket
import wave
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from socketserver import ThreadingMixIn
from urllib.parse import parse_qs, urlsplit

from core.clock import utcnow

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
    return format_datetime(moment or utcnow())


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
class Fraction:
    fraction: float
    kinds: tuple
    rng: random.Random
    match: str | None = None
    seconds: float | None = None


@dataclass
class Answer:
    status: int
    body: bytes = b""
    headers: dict = field(default_factory=dict)


def _resource(path: str) -> str | None:
    parts = path.strip("/").split("/")
    if len(parts) >= 4 and parts[0] == "2010-04-01" and parts[1] == "Accounts":
        return parts[3].split(".")[0]
    return None


class StandinServer(ThreadingMixIn, HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, handler, standin) -> None:
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


class StandinHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: StandinServer

    def log_message(self, format, *args):  # noqa: A002 - quiet, the requests are recorded
        pass

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode() if length else ""
        form = form_fields(parse_qs(raw, keep_blank_values=True))
        query = form_fields(parse_qs(parts.query, keep_blank_values=True))
        record = StandinRequest(self.command, parts.path, query, form, utcnow())
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


def form_fields(parsed: dict) -> dict:
    """Return parsed form fields: a repeated field as a list, any other as its one value."""
    return {name: values[0] if len(values) == 1 else values for name, values in parsed.items()}


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


def public_call(call: dict) -> dict:
    """Return the call as Twilio answers it, without the stand-in's own fields."""
    return {k: v for k, v in call.items() if k not in _PRIVATE_CALL_FIELDS}


def snake_case(name: str) -> str:
    """VoiceFallbackUrl → voice_fallback_url."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def media_answer(audio: bytes, kind: str, byte_range: str | None) -> Answer:
    """Answer the audio, or the part of it a `Range` header asks for (206, or 416)."""
    headers = {"Content-Type": kind, "Accept-Ranges": "bytes"}
    total = len(audio)
    match = re.fullmatch(r"bytes=(\d*)-(\d*)", byte_range or "")
    if not match or not (match.group(1) or match.group(2)):
        return Answer(200, audio, headers)
    first, last = match.groups()
    if first:
        start, end = int(first), min(int(last), total - 1) if last else total - 1
    else:
        start, end = max(0, total - int(last)), total - 1
    if start >= total or start > end:
        return Answer(416, b"", {**headers, "Content-Range": f"bytes */{total}"})
    headers["Content-Range"] = f"bytes {start}-{end}/{total}"
    return Answer(206, audio[start : end + 1], headers)
