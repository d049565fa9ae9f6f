"""The resources of the Twilio REST stand-in: Calls, Messages, Recordings, IncomingPhoneNumbers."""

import contextlib
import threading
from urllib.parse import urlencode

from core.telephony.sim.records import new_sid
from core.telephony.sim.standin_wire import (
    CALL_ENDED,
    E164,
    Answer,
    StandinRequest,
    media_answer,
    public_call,
    snake_case,
    twilio_date,
)


class StandinResources:
    """The handlers of each resource (mixed into `TwilioStandin`)."""

    def _refuse_to(self, to: str | None) -> Answer | None:
        if not to or not E164.match(to):
            return self._error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        return None

    def _create_call(self, record: StandinRequest) -> Answer:
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
        return self._json(201, public_call(call))

    def _call(self, record: StandinRequest, sid: str) -> Answer:
        call = self.calls.get(sid)
        if call is None:
            return self._not_found(record.path)
        if record.method == "GET":
            self._follow_carrier(call)
            return self._json(200, public_call(call))
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
        return self._json(200, public_call(call))

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

    def _create_message(self, record: StandinRequest) -> Answer:
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

    def _recording(self, record: StandinRequest, sid: str, extension: str) -> Answer:
        recording = self.recordings.get(sid)
        if recording is None:
            return self._not_found(record.path)
        if extension == "json":
            if record.method == "GET":
                return self._json(200, recording)
            if record.method == "DELETE":
                del self.recordings[sid]
                self.audio.pop(sid, None)
                return Answer(204)
            return self._not_found(record.path)
        if extension in ("wav", "mp3", "") and record.method in ("GET", "HEAD"):
            kind = "audio/mpeg" if extension == "mp3" else "audio/x-wav"
            return media_answer(self.audio[sid], kind, record.range)
        return self._not_found(record.path)

    def _list_numbers(self, record: StandinRequest) -> Answer:
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

    def _number(self, record: StandinRequest, sid: str) -> Answer:
        number = self.numbers.get(sid)
        if number is None:
            return self._not_found(record.path)
        if record.method == "POST":
            for name, value in record.form.items():
                key = snake_case(name)
                if key in number and key not in ("sid", "account_sid", "phone_number", "uri"):
                    number[key] = value
            number["date_updated"] = twilio_date()
        elif record.method != "GET":
            return self._not_found(record.path)
        return self._json(200, number)
