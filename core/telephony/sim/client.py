"""The web phone's handle on the simulated carrier: attached to the app, or a service over HTTP."""

from dataclasses import dataclass

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


class RemoteCarrier:
    """The carrier service at its control URL; `CarrierError` when it cannot be reached."""

    def __init__(self, url: str, timeout: float = 60) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def _post(self, path: str, payload: dict) -> dict:
        try:
            response = requests.post(self.url + path, json=payload, timeout=self.timeout)
            response.raise_for_status()
            return response.json()
        except (requests.RequestException, ValueError) as error:
            raise CarrierError(f"simulated carrier: POST {path} failed: {error}") from error

    def phone(self, number: str, behaviour: str) -> None:
        """Make `number` react as the named behaviour."""
        self._post("/phones", {"number": number, "behaviour": behaviour})

    def incoming_call(self, from_: str, to: str, script: CallerScript) -> CallSummary:
        """Let `from_` call `to` and return the call once it ended or was parked."""
        payload = {"from_": from_, "to": to, "script": script_to_json(script)}
        return CallSummary.from_json(self._post("/incoming", payload))
