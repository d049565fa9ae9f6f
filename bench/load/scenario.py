"""What the load run's citizens and heads do: the carrier's transport, the calls, the callbacks."""

import os
import random
import re
import threading
import time

import requests

from bench.load.stack import GOVERNOR_LINE, Stack
from core.telephony.sim import CallerScript, answers_and_presses
from core.telephony.sim.transport import HttpTransport

PASSWORD = "load-password-1"


class LoadTransport(HttpTransport):
    """HTTP to the app: times every webhook, paces calls, and can misbehave like a carrier.

    `duplicate_rate`: that share of webhooks is sent twice (the carrier retrying).
    `answer_timeout`: a webhook not answered in time is sent again (at most twice), as Twilio
    retries a slow answer; the first request still runs on the server.
    """

    def __init__(self, base_url, pace, duplicate_rate=0.0, answer_timeout=None):
        super().__init__(base_url)
        self.pace = pace
        self.duplicate_rate = duplicate_rate
        self.answer_timeout = answer_timeout
        self.durations: list[float] = []
        self.retries = 0
        self.server_errors = 0
        self.lock = threading.Lock()
        self.rng = random.Random(3)

    def request(self, method, path, params, headers):
        if self.pace and "/voice/incoming" not in path:
            time.sleep(self.rng.uniform(0.5, 1.5) * self.pace)
        if self.duplicate_rate and self.rng.random() < self.duplicate_rate:
            super().request(method, path, params, headers)
            with self.lock:
                self.retries += 1
        started = time.perf_counter()
        answer = self._send(method, path, params, headers)
        with self.lock:
            self.durations.append(time.perf_counter() - started)
            self.server_errors += answer[0] >= 500
        return answer

    def _send(self, method, path, params, headers):
        if not self.answer_timeout:
            return super().request(method, path, params, headers)
        for _ in range(2):
            self.timeout = self.answer_timeout
            try:
                return super().request(method, path, params, headers)
            except requests.Timeout:
                with self.lock:
                    self.retries += 1
        self.timeout = 30
        return super().request(method, path, params, headers)


def prepare_people(stack: Stack) -> dict:
    """A head login per municipality and an operator on shift; return their phones and codes."""
    os.environ.update(stack.env)
    from core import create_app
    from core.extensions import db
    from core.users import create_user
    from hotline.models import OperatorShift
    from roster.models import Municipality, Official

    app = create_app()
    with app.app_context():
        places = db.session.scalars(db.select(Municipality).order_by(Municipality.name)).all()
        for place in places:
            create_user(f"head-{place.code}", "head", PASSWORD, place.code)
        operator = create_user("load-operator", "operator", PASSWORD)
        db.session.add(OperatorShift(user_id=operator.id, endpoint="+79000009999"))
        db.session.commit()
        return {
            "duty_numbers": [place.duty_number for place in places],
            "codes": [place.code for place in places],
            "phones": db.session.scalars(db.select(Official.phone)).all(),
        }


def place_calls(carrier, people, calls: int, concurrency: int, seed: int) -> int:
    """Place `calls` calls from `concurrency` threads with the realistic mix; return how many."""
    counter = iter(range(calls))
    lock = threading.Lock()
    placed = []

    def caller(thread: int) -> None:
        rng = random.Random(seed + thread)
        while True:
            with lock:
                index = next(counter, None)
            if index is None:
                return
            number = f"+7916{index:07d}"
            carrier.phone(number, answers_and_presses(None, talk_seconds=30))  # for callbacks
            roll = rng.random()
            code = f"{rng.randrange(1, len(people['duty_numbers']) + 1):02d}"
            topic = str(rng.randrange(0, 6))  # the five topics read, or «другое»
            message = 10 if rng.random() < 0.5 else 0
            if roll < 0.15:  # waits for an operator, then presses * for the menu
                script = CallerScript(digits=["*", code, topic], message_seconds=message)
                carrier.incoming_call(number, GOVERNOR_LINE, script)
            elif roll < 0.20:  # gives up while waiting in the queue
                carrier.incoming_call(number, GOVERNOR_LINE, CallerScript(hang_up_after_verbs=1))
            elif roll < 0.50:  # the voice menu: an operator is on shift, so `*` leaves the queue
                script = CallerScript(digits=["*", code, topic], message_seconds=message)
                carrier.incoming_call(number, GOVERNOR_LINE, script)
            else:  # a municipality's own duty number
                line = rng.choice(people["duty_numbers"])
                carrier.incoming_call(number, line, CallerScript(message_seconds=message))
            with lock:
                placed.append(index)

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(placed)


def _back_on_the_card(reply: requests.Response, card_url: str) -> bool:
    """A cabinet action succeeded when it redirected back to the card (not to the form or login)."""
    return reply.status_code == 200 and bool(reply.history) and reply.url == card_url


def follow_up_cards(stack: Stack, carrier, people, count: int) -> tuple[int, int, int]:
    """Heads call citizens back and record outcomes; citizens confirm by SMS.

    Return the callbacks placed, the outcomes recorded and the 5xx answers the heads got.
    """
    os.environ.update(stack.env)
    from callbacks.models import Card
    from core import create_app
    from core.extensions import db
    from hotline.models import Appeal
    from roster.models import Municipality

    app = create_app()
    with app.app_context():
        rows = db.session.execute(
            db.select(Card.id, Municipality.code, Appeal.caller_number)
            .join(Appeal, Appeal.id == Card.appeal_id)
            .join(Municipality, Municipality.id == Card.municipality_id)
            .order_by(Card.id)
            .limit(count)
        ).all()
    callbacks = outcomes = server_errors = 0
    for card_id, code, citizen in rows:
        session = requests.Session()
        page = session.get(stack.base_url + "/login").text
        session.post(
            stack.base_url + "/login",
            data={"username": f"head-{code}", "password": PASSWORD, "csrf_token": _token(page)},
        )
        card_url = f"{stack.base_url}/cabinet/cards/{card_id}"
        page = session.get(card_url).text
        official = re.search(r'name="official"[^>]*>\s*<option[^>]*value="(\d+)"', page)
        if official:
            reply = session.post(
                card_url + "/callback",
                data={"official": official.group(1), "csrf_token": _token(page)},
            )
            callbacks += _back_on_the_card(reply, card_url)
            server_errors += reply.status_code >= 500
        page = session.get(card_url).text
        reply = session.post(
            card_url + "/outcome",
            data={
                "code": "fixed",
                "text": "Бригада устранила неисправность, жители подтвердили.",
                "csrf_token": _token(page),
            },
        )
        outcomes += _back_on_the_card(reply, card_url)
        server_errors += reply.status_code >= 500
        if citizen:
            carrier.post_webhook(
                stack.base_url + "/sms/incoming",
                {"From": citizen, "To": GOVERNOR_LINE, "Body": "1"},
            )
    return callbacks, outcomes, server_errors


def _token(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    return match.group(1) if match else ""
