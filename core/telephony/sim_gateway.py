"""The gateway of `TELEPHONY=sim`: hands calls and SMS to the simulated carrier."""

import logging
from dataclasses import asdict
from pathlib import Path

import requests
from flask import Flask, Response, send_file

from core.models import OutboundMessage
from core.queue import enqueue_after_commit
from core.telephony.gateway import (
    CARRIER_FAILURE,
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
from core.telephony.jobs import report_sim_delivery
from core.telephony.receipts import status_callback_url
from core.telephony.sim.audio import sim_recording_path, sim_recordings_dir
from core.telephony.sim.carrier import SimCarrier, SimCarrierError
from core.telephony.sim.records import new_sid

log = logging.getLogger(__name__)


class SimGateway(Gateway):
    """Talks to the carrier in `app.extensions["sim_carrier"]` or, over HTTP, `SIM_CARRIER_URL`."""

    carrier = "sim"

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.from_number = app.config["TWILIO_NUMBER"]
        self.carrier_url = (app.config.get("SIM_CARRIER_URL") or "").rstrip("/")

    def _attached(self):
        return self.app.extensions.get("sim_carrier")

    def _detached(self, action: str) -> CarrierError:
        """Return the error of an action no carrier can carry out: none attached, no URL."""
        log.warning("no simulated carrier is attached: %s not placed", action)
        return CarrierError(f"no simulated carrier is attached: {action} not placed")

    def _post(self, path: str, payload: dict) -> dict:
        """POST to the carrier's control endpoint; `CarrierError` when it fails or refuses."""
        return self._request("POST", path, payload)

    def _request(self, method: str, path: str, payload: dict | None = None) -> dict:
        """Send a request to the carrier's control endpoint; `CarrierError` when it fails."""
        try:
            response = requests.request(method, self.carrier_url + path, json=payload, timeout=10)
            if response.status_code == 404 and method == "GET":
                raise CallUnknown(f"simulated carrier: {path}: 404, no such call")
            response.raise_for_status()
            return response.json()
        except (requests.RequestException, ValueError) as error:
            log.warning("the simulated carrier did not take %s %s: %s", method, path, error)
            kind = CARRIER_FAILURE if isinstance(error, requests.HTTPError) else UNREACHABLE
            if isinstance(error, requests.Timeout):
                kind = TIMEOUT
            raise CarrierError(
                f"simulated carrier: {method} {path} failed: {error}", kind=kind
            ) from error

    def _place_call(self, call: CallRequest) -> str:
        """Ask the simulated carrier to ring the number; return the CallSid it assigned."""
        request = asdict(call)
        carrier = self._attached()
        if carrier is not None:
            return carrier.place_call(**request)
        if self.carrier_url:
            return self._post("/calls", request)["sid"]
        raise self._detached(f"call to {call.to}")

    def redirect_call(self, call_sid: str, url: str) -> None:
        """Ask the simulated carrier to move a live call to new TwiML."""
        carrier = self._attached()
        if carrier is not None:
            carrier.redirect_call(call_sid, url)
        elif self.carrier_url:
            self._post(f"/calls/{call_sid}/redirect", {"url": url})
        else:
            raise self._detached(f"redirect of {call_sid}")

    def call_status(self, call_sid: str) -> str:
        """Ask the simulated carrier for the call's status; `CarrierError` if it cannot tell."""
        carrier = self._attached()
        if carrier is not None:
            try:
                return carrier.call_status(call_sid)
            except SimCarrierError as error:
                raise CallUnknown(f"simulated carrier: {error}") from error
        if self.carrier_url:
            return self._request("GET", f"/calls/{call_sid}")["status"]
        raise CarrierError(f"no simulated carrier is attached: status of {call_sid} unknown")

    def _recording_file(self, recording_url: str) -> Path:
        folder = sim_recordings_dir(self.app.instance_path)
        return sim_recording_path(folder, recording_sid(recording_url))

    def delete_recording(self, recording_url: str) -> None:
        """Delete the WAV file the simulated carrier wrote for the recording, if it still exists."""
        self._recording_file(recording_url).unlink(missing_ok=True)
        log.info("simulated carrier: recording %s deleted", recording_url)

    def recording_response(self, recording_url: str) -> Response:
        """Serve the WAV file the simulated carrier wrote; send_file answers a `Range` with 206."""
        path = self._recording_file(recording_url)
        if not path.is_file():
            raise RecordingGone(recording_url)
        return send_file(path, mimetype="audio/wav", conditional=True, max_age=0)

    def hangup(self, call_sid: str) -> None:
        """Ask the simulated carrier to end a live call."""
        carrier = self._attached()
        if carrier is not None:
            carrier.hangup(call_sid)
        elif self.carrier_url:
            self._post(f"/calls/{call_sid}/hangup", {})
        else:
            raise self._detached(f"hang-up of {call_sid}")

    def _deliver(self, message: OutboundMessage) -> None:
        """Hand the SMS to the simulated carrier; `SmsNotTaken` when it cannot be reached."""
        message.provider_sid = new_sid("SM")
        sms = {
            "to": message.to_number,
            "body": message.body,
            "from_": self.from_number,
            "sid": message.provider_sid,
        }
        carrier = self._attached()
        if carrier is not None:
            carrier.receive_sms(**sms)
        elif self.carrier_url:
            try:
                self._post("/sms", sms)
            except CarrierError as error:
                raise SmsNotTaken(str(error), permanent=False) from error
        message.status = "sent"
        enqueue_after_commit(
            report_sim_delivery,
            message.provider_sid,
            job_id=f"sms-{message.provider_sid}-receipts",
        )

    def report_delivery(self, message_sid: str, to: str) -> None:
        """Post the signed delivery receipts of an SMS, as the simulated carrier's phones got it.

        The attached carrier knows which phones are unreachable; without one every SMS arrives.
        """
        carrier = self._attached()
        if carrier is None:
            base_url = self.app.config["PUBLIC_BASE_URL"]
            token = self.app.config["TWILIO_AUTH_TOKEN"]
            carrier = SimCarrier.over_http(base_url, token, base_url)
        try:
            carrier.report_sms(message_sid, to, self.from_number, status_callback_url())
        except requests.RequestException as error:  # a receipt the app never gets, as on Twilio
            log.warning("simulated carrier: receipts of sms %s not posted: %s", message_sid, error)
