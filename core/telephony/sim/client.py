"""The web phone's handle on the simulated carrier: attached to the app, or a service over HTTP."""

from dataclasses import dataclass
from urllib.parse import quote

import requests

from core.telephony.gateway import CarrierError
from core.telephony.sim.carrier import SimCarrier
from core.telephony.sim.phones import CallerScript, named_behaviour, script_to_json
from core.telephony.sim.records import Dialled


@dataclass(frozen=True)
class CallSummary:
    """What a citizen's call did on the carrier: its status, what was said, who was rung."""

    sid: str
    status: str
    said: list[str]
    dialled: list[Dialled]

    @classmethod
    def from_json(cls, data: dict) -> "CallSummary":
        """Build the summary from a call's `summary()` JSON."""
        dialled = [Dialled(**leg) for leg in data.get("dialled", [])]
        return cls(data["sid"], data["status"], list(data.get("said", [])), dialled)


class LocalCarrier:
    """A carrier in this process (the tests' in-process mode)."""

    def __init__(self, carrier: SimCarrier) -> None:
        self.carrier = carrier

    def phone(self, number: str, behaviour: str) -> None:
        """Make `number` react as the named behaviour."""
        self.carrier.phone(number, named_behaviour(behaviour))

    def incoming_call(self, from_: str, to: str, script: CallerScript) -> CallSummary:
        """Let `from_` call `to` and return the call once it ended or was parked."""
        return CallSummary.from_json(self.carrier.incoming_call(from_, to, script).summary())

    def phone_state(self, number: str) -> dict:
        """Hold `number` in a tab and return what its phone shows."""
        return self.carrier.live.state(number)

    def phone_act(self, number: str, action: str, keys: str = "", speech: str = "") -> dict:
        """Do what the person holding `number` pressed; return the phone's state."""
        done = self.carrier.live.act(number, action, keys, speech)
        return {"done": done, **self.carrier.live.state(number)}

    def phone_dial(self, number: str, to: str) -> dict:
        """Let the person holding `number` call the app's `to`; return the phone's state."""
        self.carrier.threaded_actions = True  # the call runs on while the page polls
        self.carrier.live.dial(number, to)
        return self.carrier.live.state(number)


class RemoteCarrier:
    """The carrier service at its control URL; `CarrierError` when it cannot be reached."""

    def __init__(self, url: str, timeout: float = 60) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def _post(self, path: str, payload: dict) -> dict:
        return self._request("POST", path, payload)

    def _request(self, method: str, path: str, payload: dict | None = None) -> dict:
        try:
            response = requests.request(method, self.url + path, json=payload, timeout=self.timeout)
            response.raise_for_status()
            return response.json()
        except (requests.RequestException, ValueError) as error:
            raise CarrierError(f"simulated carrier: {method} {path} failed: {error}") from error

    def phone(self, number: str, behaviour: str) -> None:
        """Make `number` react as the named behaviour."""
        self._post("/phones", {"number": number, "behaviour": behaviour})

    def incoming_call(self, from_: str, to: str, script: CallerScript) -> CallSummary:
        """Let `from_` call `to` and return the call once it ended or was parked."""
        payload = {"from_": from_, "to": to, "script": script_to_json(script)}
        return CallSummary.from_json(self._post("/incoming", payload))

    def phone_state(self, number: str) -> dict:
        """Hold `number` in a tab and return what its phone shows."""
        return self._request("GET", f"/live/{quote(number)}")

    def phone_act(self, number: str, action: str, keys: str = "", speech: str = "") -> dict:
        """Do what the person holding `number` pressed; return the phone's state."""
        payload = {"action": action, "keys": keys, "speech": speech}
        return self._post(f"/live/{quote(number)}", payload)

    def phone_dial(self, number: str, to: str) -> dict:
        """Let the person holding `number` call the app's `to`; return the phone's state."""
        return self._post(f"/live/{quote(number)}/dial", {"to": to})
