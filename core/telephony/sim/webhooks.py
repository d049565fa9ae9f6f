"""The simulated carrier's webhooks: signed requests to the app and the TwiML they fetch."""

import logging
from email.utils import format_datetime
from urllib.parse import urlencode

from core.telephony.signature import SIGNATURE_HEADER, sign
from core.telephony.sim.audio import say_seconds
from core.telephony.sim.records import Call, Utterance, Webhook
from core.telephony.sim.twiml import Next, TwiMLRejected, parse_twiml

log = logging.getLogger(__name__)

API_VERSION = "2010-04-01"
#: What Twilio says when the app fails (non-2xx answer or TwiML it cannot run).
APP_ERROR = "We are sorry, an application error has occurred. Goodbye."


class SimCarrierError(Exception):
    """The simulated carrier cannot do what was asked (e.g. a URL outside PUBLIC_BASE_URL)."""


class WebhookSender:
    """How the carrier talks to the app: call parameters, status callbacks, documents (mixed
    into `SimCarrier`)."""

    def _params(self, call: Call) -> dict:
        params = {
            "CallSid": call.sid,
            "AccountSid": self.account_sid,
            "From": call.from_,
            "To": call.to,
            "Caller": call.from_,
            "Called": call.to,
            "CallStatus": call.status,
            "Direction": call.direction,
            "ApiVersion": API_VERSION,
        }
        if call.parent is not None:
            params["ParentCallSid"] = call.parent.sid
        if call.answered_by:
            params["AnsweredBy"] = call.answered_by
        return params

    def _progress(self, call: Call, event: str) -> None:
        if not call.status_callback or event not in call.status_events:
            return
        params = self._params(call)
        params["CallStatus"] = {"initiated": "initiated", "ringing": "ringing"}.get(
            event, call.status
        )
        params.update(
            CallbackSource="call-progress-events",
            SequenceNumber=str(call.sequence),
            Timestamp=format_datetime(call.now(), usegmt=True),
        )
        if event == "completed":
            params["CallDuration"] = str(call.duration)
        call.sequence += 1
        status, _ = self._send(call, "POST", call.status_callback, params)
        if not 200 <= status < 300:
            self._error(call, f"status callback {call.status_callback} answered {status}")

    def _error(self, call: Call, message: str) -> None:
        message = f"{call.sid}: {message}"
        call.errors.append(message)
        self.errors.append(message)
        log.warning("simulated carrier: %s", message)

    def _send(self, call: Call, method: str, url: str, params: dict) -> tuple[int, str]:
        if not (url == self.public_base_url or url.startswith(self.public_base_url + "/")):
            raise SimCarrierError(
                f"{url} is outside PUBLIC_BASE_URL {self.public_base_url}: the simulated "
                "carrier reaches only the app"
            )
        # as Twilio: the fragment (connection overrides) is signed and never sent
        url, hashmark, fragment = url.partition("#")
        if method.upper() == "GET":
            url = url + ("&" if "?" in url else "?") + urlencode(params)
            body_params = {}
        else:
            body_params = params
        signature = sign(url + hashmark + fragment, body_params, self.auth_token)
        path = url[len(self.public_base_url) :] or "/"
        headers = {SIGNATURE_HEADER: signature, "User-Agent": "TwilioProxy/1.1 (simulated)"}
        status, body = self.transport.request(method.upper(), path, body_params, headers)
        call.webhooks.append(Webhook(method.upper(), url, dict(params), status, body))
        return status, body

    def _post_ignoring_answer(self, call: Call, nxt: Next) -> None:
        """Post to an action URL after the call ended: Twilio ignores the TwiML it gets."""
        params = {**self._params(call), **nxt.params}
        status, _ = self._send(call, nxt.method, nxt.url, params)
        if not 200 <= status < 300:
            self._error(call, f"{nxt.method} {nxt.url} answered {status}")

    def _document(self, call: Call, nxt: Next, context: str, fallback: str | None):
        params = {**self._params(call), **nxt.params}
        status, body = self._send(call, nxt.method, nxt.url, params)
        self._after_webhook()
        if not 200 <= status < 300 and fallback:
            self._error(call, f"{nxt.method} {nxt.url} answered {status}; trying the fallback URL")
            params.update(ErrorCode="11200", ErrorUrl=nxt.url)
            nxt, (status, body) = Next(fallback), self._send(call, "POST", fallback, params)
        if not 200 <= status < 300:
            self._error(call, f"{nxt.method} {nxt.url} answered {status}")
            return self._application_error(call)
        try:
            return parse_twiml(body, context, f"{nxt.method} {nxt.url}")
        except TwiMLRejected as error:
            self._error(call, str(error))
            if self.strict:
                self._end(call, "failed")
                raise
            return self._application_error(call)

    def _application_error(self, call: Call) -> None:
        call.transcript.add("say", Utterance(APP_ERROR, "en-US", None))
        call.elapsed += say_seconds(APP_ERROR)
        self._end(call, "completed")
        return None
