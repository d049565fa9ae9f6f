"""The gateway that speaks to Twilio's REST API."""

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from urllib.parse import urlsplit, urlunsplit

import requests
from flask import Response, request
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http import HttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from core.models import OutboundMessage
from core.parsing import parse_int
from core.telephony.gateway import (
    CARRIER_FAILURE,
    REFUSED,
    STATUS_CALLBACK_EVENTS,
    THROTTLED,
    TIMEOUT,
    UNREACHABLE,
    CallRequest,
    CallUnknown,
    CarrierError,
    Gateway,
    RecordingGone,
    SmsNotTaken,
    recording_sid,
)
from core.telephony.receipts import status_callback_url

log = logging.getLogger(__name__)

#: Twilio's REST and media host; `TWILIO_API_BASE_URL` may name another (a stand-in, an edge).
TWILIO_API_BASE_URL = "https://api.twilio.com"
#: Seconds a request to Twilio may take before it ends as a timeout (`TWILIO_HTTP_TIMEOUT`).
TWILIO_HTTP_TIMEOUT = 10.0
#: Headers of the carrier's media answer passed on to the browser.
MEDIA_HEADERS = ("Content-Type", "Content-Length", "Content-Range", "Last-Modified", "ETag")
#: Bytes of audio relayed at a time.
MEDIA_CHUNK = 64 * 1024


def describe_error(error: Exception) -> str:
    """Return one plain line about a Twilio error (never the coloured text meant for a terminal)."""
    if isinstance(error, TwilioRestException):
        code = f" {error.code}" if error.code else ""
        return f"HTTP {error.status}{code}: {error.msg}"
    return f"{type(error).__name__}: {error}"


def failure_kind(error: Exception) -> str:
    """Tell what kind of failure a Twilio error is: a refusal for good, or one that may pass."""
    if isinstance(error, TwilioRestException) and error.status is not None:
        if error.status == 429:
            return THROTTLED
        return REFUSED if 400 <= error.status < 500 else CARRIER_FAILURE
    if isinstance(error, requests.Timeout):
        return TIMEOUT
    return UNREACHABLE


def retry_after_of(http_client: HttpClient) -> timedelta | None:
    """Return the wait the last answer's `Retry-After` header asked for (seconds), if any."""
    response = getattr(http_client, "last_response", None)
    headers = getattr(response, "headers", None) or {}
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    seconds = parse_int(str(value).strip()) if value is not None else None
    return None if seconds is None else timedelta(seconds=seconds)


@contextmanager
def carrier_errors(action: str, http_client: HttpClient | None = None) -> Iterator[None]:
    """Turn Twilio's refusals and network failures during `action` into `CarrierError`."""
    try:
        yield
    except (TwilioException, requests.RequestException) as error:
        log.warning("Twilio: %s failed: %s", action, describe_error(error))
        kind = failure_kind(error)
        raise CarrierError(
            f"Twilio: {action} failed: {describe_error(error)}",
            kind=kind,
            code=getattr(error, "code", None),
            retry_after=retry_after_of(http_client) if kind == THROTTLED else None,
        ) from error


def is_twilio_host(host: str) -> bool:
    """Tell whether `host` is one of Twilio's API domains (api.twilio.com, *.twilio.com)."""
    return host == "twilio.com" or host.endswith(".twilio.com")


class BaseUrlHttpClient(TwilioHttpClient):
    """Twilio's HTTP client sending every request to `base_url` instead of *.twilio.com.

    Only the scheme and host change (a path in `base_url` is put in front); with Twilio's own
    https://api.twilio.com nothing is rewritten. Every request has `timeout` seconds.
    """

    def __init__(self, base_url: str | None = None, timeout: float | None = None, **kwargs):
        super().__init__(timeout=timeout or TWILIO_HTTP_TIMEOUT, **kwargs)
        self.base = urlsplit((base_url or TWILIO_API_BASE_URL).rstrip("/"))
        self.rewrites = self.base.netloc != urlsplit(TWILIO_API_BASE_URL).netloc
        #: Each thread's last answer: the gateway is shared by a web process's threads.
        self.answers = threading.local()

    def target(self, url: str) -> str:
        """Return the URL a request for `url` goes to."""
        parts = urlsplit(url)
        if not self.rewrites or not is_twilio_host(parts.hostname or ""):
            return url
        path = self.base.path + parts.path
        return urlunsplit((self.base.scheme, self.base.netloc, path, parts.query, parts.fragment))

    def request(self, method, url, *args, **kwargs):
        """Send the request to the rewritten URL; the answer is kept for this thread."""
        response = super().request(method, self.target(url), *args, **kwargs)
        self.answers.last = response
        return response

    @property
    def last_response(self):
        """Return the last answer this thread received (its headers name `Retry-After`)."""
        return getattr(self.answers, "last", None)


class TwilioGateway(Gateway):
    """Outbound calls and SMS through `twilio.rest.Client`."""

    carrier = "twilio"

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_number: str,
        http_client: HttpClient | None = None,
        api_base_url: str | None = None,
        timeout: float | None = None,
    ) -> None:
        self.api_base_url = (api_base_url or TWILIO_API_BASE_URL).rstrip("/")
        self.timeout = timeout or TWILIO_HTTP_TIMEOUT
        if http_client is None:
            http_client = BaseUrlHttpClient(self.api_base_url, self.timeout)
        self.client = Client(account_sid, auth_token, http_client=http_client)
        self.from_number = from_number
        #: The media requests share the REST client's connection pool when it has one.
        self.media = getattr(self.client.http_client, "session", None) or requests.Session()

    def _place_call(self, call: CallRequest) -> str:
        """Create the call with the Calls resource and return its CallSid."""
        options = {"machine_detection": "Enable"} if call.machine_detection else {}
        if call.status_callback:
            options |= {
                "status_callback": call.status_callback,
                "status_callback_method": "POST",
                "status_callback_event": list(STATUS_CALLBACK_EVENTS),
            }
        with carrier_errors(f"call to {call.to}", self.client.http_client):
            created = self.client.calls.create(
                to=call.to,
                from_=call.from_,
                url=call.url,
                method="POST",
                timeout=call.timeout,
                **options,
            )
        return created.sid

    def redirect_call(self, call_sid: str, url: str) -> None:
        """Point a live call at new TwiML (`calls(sid).update(url=...)`)."""
        with carrier_errors(f"redirect of {call_sid}", self.client.http_client):
            self.client.calls(call_sid).update(url=url, method="POST")

    def hangup(self, call_sid: str) -> None:
        """End a live call (`calls(sid).update(status="completed")`)."""
        with carrier_errors(f"hang-up of {call_sid}", self.client.http_client):
            self.client.calls(call_sid).update(status="completed")

    def call_status(self, call_sid: str) -> str:
        """Return the call's status as Twilio has it (`calls(sid).fetch().status`)."""
        try:
            with carrier_errors(f"status of {call_sid}", self.client.http_client):
                return str(self.client.calls(call_sid).fetch().status)
        except CarrierError as error:
            cause = error.__cause__
            if isinstance(cause, TwilioRestException) and cause.status == 404:
                raise CallUnknown(str(error)) from cause
            raise

    def delete_recording(self, recording_url: str) -> None:
        """Delete the recording the URL names (`recordings(sid).delete()`); 404 is deleted."""
        sid = recording_sid(recording_url)
        try:
            with carrier_errors(f"deletion of recording {sid}", self.client.http_client):
                self.client.recordings(sid).delete()
        except CarrierError as error:
            cause = error.__cause__
            if isinstance(cause, TwilioRestException) and cause.status == 404:
                log.info("Twilio: recording %s was already deleted", sid)
                return
            raise

    def media_url(self, recording_url: str) -> str:
        """Return the URL of a recording's WAV audio on the configured API host."""
        parts = urlsplit(recording_url)
        path = parts.path.removesuffix(".json")
        if not path.endswith((".wav", ".mp3")):
            path += ".wav"
        return self.api_base_url + path

    def recording_response(self, recording_url: str) -> Response:
        """Relay the recording's audio from Twilio with the account's credentials, with ranges."""
        sid = recording_sid(recording_url)
        headers = {"Range": request.headers["Range"]} if "Range" in request.headers else {}
        with carrier_errors(f"fetch of recording {sid}", self.client.http_client):
            upstream = self.media.get(
                self.media_url(recording_url),
                auth=(self.client.username, self.client.password),
                headers=headers,
                stream=True,
                timeout=self.timeout,
            )
        if upstream.status_code == 404:
            upstream.close()
            raise RecordingGone(recording_url)
        if upstream.status_code not in (200, 206):
            upstream.close()
            log.warning("Twilio: fetch of recording %s answered %s", sid, upstream.status_code)
            raise CarrierError(f"Twilio: fetch of recording {sid} answered {upstream.status_code}")
        relayed = {
            name: upstream.headers[name] for name in MEDIA_HEADERS if name in upstream.headers
        }
        relayed.setdefault("Content-Type", "audio/wav")
        relayed["Accept-Ranges"] = "bytes"
        relayed["Cache-Control"] = "private, no-store"
        response = Response(
            upstream.iter_content(MEDIA_CHUNK),
            status=upstream.status_code,
            headers=relayed,
            direct_passthrough=True,
        )
        response.call_on_close(upstream.close)
        return response

    def _deliver(self, message: OutboundMessage) -> None:
        """Create the message with the Messages resource; `SmsNotTaken` when Twilio did not."""
        try:
            sent = self.client.messages.create(
                to=message.to_number,
                from_=self.from_number,
                body=message.body,
                status_callback=status_callback_url(message.id),
            )
        except (TwilioException, requests.RequestException) as error:
            kind = failure_kind(error)
            raise SmsNotTaken(
                describe_error(error),
                permanent=kind == REFUSED,
                retry_after=retry_after_of(self.client.http_client) if kind == THROTTLED else None,
                may_have_arrived=isinstance(error, requests.ReadTimeout),
            ) from error
        message.provider_sid = sent.sid
        message.status = sent.status or "queued"
