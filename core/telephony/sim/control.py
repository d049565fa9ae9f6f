"""The carrier's control endpoint: how an app in another process reaches the simulated carrier.

The sim gateway POSTs JSON here when `SIM_CARRIER_URL` is set: `/calls` (place a call),
`/calls/<sid>/redirect`, `/calls/<sid>/hangup` and `/sms`. `GET /calls/<sid>` returns a call's
status and what was said on it (404 for a call the carrier does not know). Requests are
carried out on threads of their own.

The web phone of the demo also POSTs `/phones` (how a number reacts, by behaviour name) and
`/incoming` (a citizen calls the app with a script; the answer is the call's summary once it
ended or was parked).

The demo's phone pages reach the numbers people hold in tabs (`core.telephony.sim.live`):
`GET /live/<number>` renews the hold and returns what the phone shows, `POST /live/<number>`
does what the person pressed (`{"action": "answer"|"reject"|"voicemail"|"keys"|"say"|
"hangup", "keys": …, "speech": …}`) and `POST /live/<number>/dial` calls the app's `to`.
"""

import json
import logging
import threading

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from core.telephony.sim.carrier import SimCarrier, SimCarrierError
from core.telephony.sim.phones import named_behaviour, script_from_json

log = logging.getLogger(__name__)


class QuietRequestHandler(WSGIRequestHandler):
    """Logs the control requests at DEBUG: the phone pages poll them every second."""

    def log_request(self, code="-", size="-") -> None:
        log.debug("control: %s %s", self.requestline, code)


def control_app(carrier: SimCarrier):
    """Return the WSGI app that hands the gateway's requests to `carrier`."""

    def app(environ, start_response):
        request = Request(environ)
        parts = request.path.strip("/").split("/")
        payload = request.get_json(silent=True) or {}
        try:
            status, body = _dispatch(carrier, request.method, parts, payload)
        except (KeyError, TypeError) as error:
            status, body = 400, {"error": f"bad request: {error}"}
        except SimCarrierError as error:
            status, body = 404, {"error": str(error)}
        response = Response(json.dumps(body), status, mimetype="application/json")
        return response(environ, start_response)

    return app


def _dispatch(carrier: SimCarrier, method: str, parts: list[str], payload: dict):
    if method == "POST" and parts == ["calls"]:
        sid = carrier.place_call(
            payload["to"],
            payload["url"],
            from_=payload.get("from_"),
            status_callback=payload.get("status_callback"),
            timeout=int(payload.get("timeout") or 20),
            machine_detection=bool(payload.get("machine_detection")),
        )
        return 201, {"sid": sid}
    if method == "POST" and parts == ["sms"]:
        sms = (payload["to"], payload["body"], payload.get("from_"), payload.get("sid"))
        carrier.receive_sms(*sms)
        return 201, {"sid": payload.get("sid")}
    if method == "POST" and len(parts) == 3 and parts[0] == "calls":
        if parts[2] == "redirect":
            carrier.redirect_call(parts[1], payload["url"])
            return 200, {"sid": parts[1]}
        if parts[2] == "hangup":
            carrier.hangup(parts[1])
            return 200, {"sid": parts[1]}
    if method == "POST" and parts == ["phones"]:
        carrier.phone(payload["number"], named_behaviour(payload["behaviour"]))
        return 200, {"number": payload["number"], "behaviour": payload["behaviour"]}
    if method == "POST" and parts == ["incoming"]:
        script = script_from_json(payload.get("script") or {})
        call = carrier.incoming_call(payload["from_"], payload.get("to"), script)
        return 201, call.summary()
    if parts[0] == "live" and len(parts) in (2, 3):
        return _live(carrier, method, parts[1:], payload)
    if method == "GET" and len(parts) == 2 and parts[0] == "calls":
        return 200, carrier.call(parts[1]).summary()
    return 404, {"error": "unknown control request"}


def _live(carrier: SimCarrier, method: str, parts: list[str], payload: dict):
    number = parts[0]
    if method == "GET" and len(parts) == 1:
        return 200, carrier.live.state(number)
    if method == "POST" and len(parts) == 1:
        done = carrier.live.act(
            number, payload["action"], payload.get("keys") or "", payload.get("speech") or ""
        )
        return 200, {"done": done, **carrier.live.state(number)}
    if method == "POST" and parts[1:] == ["dial"]:
        carrier.live.dial(number, payload.get("to"))
        return 201, carrier.live.state(number)
    return 404, {"error": "unknown control request"}


class ControlServer:
    """The control endpoint served on 127.0.0.1 from a thread; `url` goes into SIM_CARRIER_URL."""

    def __init__(self, carrier: SimCarrier, host: str = "127.0.0.1", port: int = 0) -> None:
        carrier.threaded_actions = True
        self.carrier = carrier
        self.server = make_server(
            host, port, control_app(carrier), threaded=True, request_handler=QuietRequestHandler
        )
        self.url = f"http://{host}:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> "ControlServer":
        """Start serving; return self."""
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
