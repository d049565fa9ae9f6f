"""Whole-system load run, with optional faults, ending with a "nothing lost" check.

It starts its own stack on 127.0.0.1: a Redis server, gunicorn (several workers) on
PostgreSQL, two RQ workers, the periodic-job scheduler and the simulated carrier's control
endpoint. It then places a bounded number of concurrent calls over HTTP with a realistic mix
(operators' queue left for the menu, queue abandoned, voice menu, municipal duty numbers; officials
who accept at each level, let voicemail pick up, are busy or do not answer; voice messages),
calls citizens back from the heads' cabinets and takes citizens' SMS replies. At the end it
checks from the database that every call ended connected, with an appeal and a card, or
abandoned; that nothing is doubled; and that every open card has its follow-ups scheduled.

    .venv/bin/python bench/load_run.py [--calls 200] [--fault redis-restart|worker-kill|
        postgres-restart|duplicates|slow-answers|carrier]

`--fault carrier` runs the app on `TELEPHONY=twilio` with the real `twilio` client against the
REST stand-in, which plays what it is asked on the same simulated carrier and fails a third of
the requests (seeded mix of 500, 503, 429 and hangs longer than the client's timeout).

PostgreSQL: the machine's server (database `hotline_load`), or with `--fault postgres-restart` a
cluster of its own that it restarts mid-run. Nothing else on the machine is touched.
"""

import argparse
import logging
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.telephony.sim import (  # noqa: E402
    CallerScript,
    ControlServer,
    SimCarrier,
    answers_and_presses,
    busy,
    no_answer,
    voicemail,
)
from core.telephony.sim.rest_standin import TwilioStandin  # noqa: E402
from core.telephony.sim.transport import HttpTransport  # noqa: E402

AUTH_TOKEN = "load-auth-token"
GOVERNOR_LINE = "+74872000000"
PASSWORD = "load-password-1"
FAULTS = (
    "redis-restart",
    "worker-kill",
    "postgres-restart",
    "duplicates",
    "slow-answers",
    "carrier",
)
TWILIO_ACCOUNT = "AC" + "4c" * 16
#: Seconds the app's Twilio client waits for an answer in the carrier fault run.
TWILIO_TIMEOUT = 3


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


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


class Stack:
    """The processes of one run, each started and stopped by this harness (by PID)."""

    def __init__(self, args, workdir: Path):
        self.args = args
        self.workdir = workdir
        self.procs: dict[str, subprocess.Popen] = {}
        self.redis_port = free_port()
        self.web_port = free_port()
        self.base_url = f"http://127.0.0.1:{self.web_port}"
        self.pg_dir = workdir / "pg"
        self.pg_port = free_port()
        self.env = dict(os.environ)

    # --- PostgreSQL ---------------------------------------------------------------------

    def database_url(self) -> str:
        if self.args.fault == "postgres-restart":
            return f"postgresql://postgres@127.0.0.1:{self.pg_port}/hotline_load"
        return self.args.database_url

    def start_own_postgres(self) -> None:
        """initdb and start a cluster of this run's own (PostgreSQL refuses to run as root)."""
        bin_dir = sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1]
        self.pg_ctl = [str(bin_dir / "pg_ctl"), "-D", str(self.pg_dir)]
        self.workdir.chmod(0o755)  # the postgres user must reach its cluster folder
        self.pg_dir.mkdir()
        shutil.chown(self.pg_dir, "postgres", "postgres")
        self._as_postgres(
            [str(bin_dir / "initdb"), "-D", str(self.pg_dir), "-A", "trust", "-U", "postgres"]
        )
        self.pg_control("start")
        self._as_postgres(
            [
                str(bin_dir / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.pg_port),
                "-U",
                "postgres",
                "hotline_load",
            ]
        )

    def pg_control(self, action: str) -> None:
        options = f"-p {self.pg_port} -k /tmp -c listen_addresses=127.0.0.1"
        self._as_postgres(
            [
                *self.pg_ctl,
                "-o",
                options,
                "-w",
                "-m",
                "fast",
                "-l",
                str(self.pg_dir / "log"),
                action,
            ]
        )

    def _as_postgres(self, command: list[str]) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *command], check=True, stdout=subprocess.DEVNULL
        )

    def reset_machine_database(self) -> None:
        url = self.args.database_url
        admin, name = url.rsplit("/", 1)
        subprocess.run(
            [
                "psql",
                admin + "/postgres",
                "-q",
                "-c",
                f"DROP DATABASE IF EXISTS {name}",
                "-c",
                f"CREATE DATABASE {name}",
            ],
            check=True,
        )

    # --- the rest of the stack ------------------------------------------------------------

    def start_redis(self) -> None:
        self.procs["redis"] = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
        )
        self._wait_port(self.redis_port)

    def start(self, carrier_url: str, extra_env: dict | None = None) -> None:
        if self.args.fault == "postgres-restart":
            self.start_own_postgres()
        else:
            self.reset_machine_database()
        self.start_redis()
        self.env.update(
            {
                "DATABASE_URL": self.database_url(),
                "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
                "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
                "TWILIO_NUMBER": GOVERNOR_LINE,
                "PUBLIC_BASE_URL": self.base_url,
                "TELEPHONY": "sim",
                "SIM_CARRIER_URL": carrier_url,
                "CALLER_RATE_LIMIT": "1000000/60",
                # every head signs in from this one address here, not from their own office
                "LOGIN_RATE_LIMIT": "1000 per minute",
                "SECRET_KEY": "load-run",
                "HOTLINE_INSTANCE_DIR": str(self.workdir / "instance"),
                "BIND": f"127.0.0.1:{self.web_port}",
                "WEB_CONCURRENCY": str(self.args.web_workers),
                "LOG_FORMAT": "json",
                **(extra_env or {}),
            }
        )
        flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
        subprocess.run(
            [*flask, "db", "upgrade"], env=self.env, cwd=ROOT, check=True, capture_output=True
        )
        subprocess.run(
            [*flask, "seed-demo"], env=self.env, cwd=ROOT, check=True, capture_output=True
        )
        self.logs = open(self.workdir / "stack.log", "w")  # noqa: SIM115
        self.procs["web"] = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "wsgi:app"],
            env=self.env,
            cwd=ROOT,
            stdout=self.logs,
            stderr=subprocess.STDOUT,
        )
        for index in (1, 2):
            self.start_worker(index)
        self.procs["scheduler"] = subprocess.Popen(
            [*flask, "scheduler"],
            env=self.env,
            cwd=ROOT,
            stdout=self.logs,
            stderr=subprocess.STDOUT,
        )
        self._wait_http(self.base_url + "/readyz")

    def start_worker(self, index: int) -> None:
        self.procs[f"worker{index}"] = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "worker"],
            env=self.env,
            cwd=ROOT,
            stdout=self.logs,
            stderr=subprocess.STDOUT,
        )

    def restart_redis(self, down_seconds: float) -> None:
        process = self.procs.pop("redis")
        process.terminate()
        process.wait(timeout=10)
        time.sleep(down_seconds)
        self.start_redis()

    def kill_worker(self, index: int) -> None:
        self.procs.pop(f"worker{index}").send_signal(signal.SIGKILL)

    def stop(self) -> None:
        for process in reversed(list(self.procs.values())):
            if process.poll() is None:
                process.terminate()
        for process in self.procs.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        if self.args.fault == "postgres-restart" and (self.pg_dir / "postmaster.pid").exists():
            self.pg_control("stop")

    def _wait_port(self, port: int) -> None:
        for _ in range(100):
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    return
            time.sleep(0.1)
        raise SystemExit(f"nothing listens on {port}")

    def _wait_http(self, url: str) -> None:
        for _ in range(150):
            try:
                if requests.get(url, timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise SystemExit(f"{url} never became ready")


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
            topic = str(rng.randrange(1, 10))
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


def check_nothing_lost(stack: Stack, carried: dict[str, bool]) -> dict[str, int]:
    """Count, from the database and the queue, everything that went missing or was doubled.

    `carried` maps every citizen's call the carrier carried to whether the caller was put
    through to the regional dispatcher (the safe TwiML while the database was down).
    """
    os.environ.update(stack.env)
    from rq.registry import ScheduledJobRegistry
    from sqlalchemy import func

    from callbacks.models import OPEN_STATES, CallbackAttempt, Card
    from callbacks.services import card_job_ids
    from core import create_app
    from core.extensions import db
    from core.models import OutboundMessage
    from core.queue import get_queue
    from hotline.models import Appeal, Call, DialAttempt

    app = create_app()
    with app.app_context():

        def count(query) -> int:
            return db.session.scalar(query) or 0

        recorded = set(db.session.scalars(db.select(Call.call_sid)))
        problems = {
            "calls neither recorded nor put through to the dispatcher": sum(
                1
                for sid, to_dispatcher in carried.items()
                if sid not in recorded and not to_dispatcher
            ),
            "calls without an outcome": count(
                db.select(func.count(Call.id)).where(Call.outcome.is_(None))
            ),
            "missed calls without an appeal": count(
                db.select(func.count(Call.id))
                .outerjoin(Appeal, Appeal.call_id == Call.id)
                .where(Call.outcome == "missed", Appeal.id.is_(None))
            ),
            "missed calls without a card": count(
                db.select(func.count(Call.id))
                .outerjoin(Card, Card.call_id == Call.id)
                .where(Call.outcome == "missed", Card.id.is_(None))
            ),
            "connected calls whose appeal is not in work": count(
                db.select(func.count(Call.id))
                .join(Appeal, Appeal.call_id == Call.id)
                .where(Call.outcome == "connected", Appeal.assignee_id.is_(None))
            ),
            "attempts left ringing": count(
                db.select(func.count(DialAttempt.id)).where(DialAttempt.outcome.is_(None))
            ),
            "missed appeals without the SMS to the caller": count(
                db.select(func.count(Appeal.id)).where(
                    Appeal.status == "missed",
                    Appeal.caller_number.is_not(None),
                    ~db.exists().where(
                        OutboundMessage.purpose == func.concat("appeal-registered:", Appeal.id)
                    ),
                )
            ),
            "cards not announced to the duty trio": count(
                db.select(func.count(Card.id)).where(Card.notified_at.is_(None))
            ),
        }
        queue = get_queue()
        scheduled = set(ScheduledJobRegistry(queue=queue).get_job_ids())
        waiting = set(queue.job_ids)
        unscheduled = 0
        for card in db.session.scalars(db.select(Card).where(Card.state.in_(OPEN_STATES))):
            ids = card_job_ids(card)
            pending = {
                "reminder": card.reminded_at,
                "escalation": card.escalated_at,
                "overdue": card.overdue_at,
            }
            for kind, done_at in pending.items():
                if done_at is None and ids[kind] not in scheduled | waiting:
                    unscheduled += 1
        problems["open cards' follow-ups not scheduled"] = unscheduled
        duplicates = count(
            db.select(func.count()).select_from(
                db.select(Card.call_id).group_by(Card.call_id).having(func.count() > 1).subquery()
            )
        )
        duplicates += count(
            db.select(func.count()).select_from(
                db.select(Appeal.call_id)
                .where(Appeal.call_id.is_not(None))
                .group_by(Appeal.call_id)
                .having(func.count() > 1)
                .subquery()
            )
        )
        problems["calls with a doubled appeal or card"] = duplicates
        problems["callbacks without an end and no retry waiting"] = count(
            db.select(func.count(CallbackAttempt.id)).where(
                CallbackAttempt.outcome.is_(None), CallbackAttempt.retry_at.is_(None)
            )
        )
        problems["SMS stored but never handed over (pending or claimed)"] = count(
            db.select(func.count(OutboundMessage.id)).where(
                OutboundMessage.status.in_(("pending", "claimed"))
            )
        )
        problems["SMS still waiting for another try"] = count(
            db.select(func.count(OutboundMessage.id)).where(OutboundMessage.status == "retrying")
        )
        problems["SMS whose sending was cut short (unknown)"] = count(
            db.select(func.count(OutboundMessage.id)).where(OutboundMessage.status == "unknown")
        )
        totals = {
            "calls": dict(
                db.session.execute(
                    db.select(Call.outcome, func.count()).group_by(Call.outcome)
                ).all()
            ),
            "cards": dict(
                db.session.execute(db.select(Card.state, func.count()).group_by(Card.state)).all()
            ),
            "callbacks": dict(
                db.session.execute(
                    db.select(
                        func.coalesce(CallbackAttempt.outcome, "waiting for a retry"), func.count()
                    ).group_by(CallbackAttempt.outcome)
                ).all()
            ),
            "sms": dict(
                db.session.execute(
                    db.select(OutboundMessage.status, func.count()).group_by(OutboundMessage.status)
                ).all()
            ),
        }
        return problems, totals


def sms_handed_twice(standin: TwilioStandin) -> int:
    """Count the stored SMS the REST stand-in created more than once (by their StatusCallback)."""
    created: dict[str, int] = {}
    for message in standin.messages.values():
        callback = message["status_callback"] or message["sid"]
        created[callback] = created.get(callback, 0) + 1
    return sum(1 for times in created.values() if times > 1)


def settle(stack: Stack, limit: float) -> float:
    """Wait until the follow-ups are done; return how many seconds that took (at most `limit`).

    A job that died with a killed worker runs again only once RQ finds it abandoned.
    """
    started = time.monotonic()
    time.sleep(75)  # at least one minute sweep after the last call
    while time.monotonic() - started < limit:
        problems, _ = check_nothing_lost(stack, {})
        if sum(problems.values()) == 0:
            break
        time.sleep(15)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200, help="calls placed in all")
    parser.add_argument("--concurrency", type=int, default=200, help="calls at the same time")
    parser.add_argument(
        "--pace", type=float, default=1.0, help="mean seconds between a call's webhooks"
    )
    parser.add_argument("--callbacks", type=int, default=30, help="cards called back")
    parser.add_argument("--web-workers", type=int, default=4)
    parser.add_argument(
        "--settle", type=float, default=420, help="longest wait for the follow-ups, in seconds"
    )
    parser.add_argument("--fault", choices=FAULTS)
    parser.add_argument(
        "--database-url", default="postgresql://postgres@127.0.0.1:5432/hotline_load"
    )
    args = parser.parse_args()

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the control endpoint's requests
    workdir = Path(tempfile.mkdtemp(prefix="hotline-load-"))
    transport = LoadTransport(
        "http://unused",
        args.pace,
        duplicate_rate=0.3 if args.fault == "duplicates" else 0.0,
        answer_timeout=0.05 if args.fault == "slow-answers" else None,
    )
    stack = Stack(args, workdir)
    transport.base_url = stack.base_url
    carrier = SimCarrier(
        transport,
        auth_token=AUTH_TOKEN,
        public_base_url=stack.base_url,
        default_number=GOVERNOR_LINE,
        threaded_actions=True,
    )
    control = ControlServer(carrier).start()
    standin = None
    extra_env = {}
    if args.fault == "carrier":
        standin = TwilioStandin(
            TWILIO_ACCOUNT, AUTH_TOKEN, hang_seconds=TWILIO_TIMEOUT + 2, carrier=carrier
        ).start()
        standin.retry_after = 2
        standin.fail_fraction(1 / 3, kinds=("500", "503", "429", "hang"), seed=13)
        extra_env = {
            "TELEPHONY": "twilio",
            "TWILIO_ACCOUNT_SID": TWILIO_ACCOUNT,
            "TWILIO_API_BASE_URL": standin.base_url,
            "TWILIO_HTTP_TIMEOUT": str(TWILIO_TIMEOUT),
            # the SMS retries of a day in a few minutes: 5, 10, 20 and 30 s instead of 1-60 min
            "SMS_RETRY_DELAYS": "5,10,20,30",
        }
    try:
        stack.start(control.url, extra_env)
        people = prepare_people(stack)
        rng = random.Random(5)
        for phone in people["phones"]:
            carrier.phone(
                phone,
                rng.choices(
                    [answers_and_presses("1"), voicemail(), no_answer(), busy()],
                    weights=[45, 20, 25, 10],
                )[0],
            )
        carrier.phone("+79000009999", no_answer())  # the operator's phone
        fault = threading.Thread(target=inject_fault, args=(args.fault, stack), daemon=True)
        started = time.perf_counter()
        fault.start()
        placed = place_calls(carrier, people, args.calls, args.concurrency, seed=11)
        elapsed = time.perf_counter() - started
        for waiting in carrier.queued("operators"):  # nobody took them: the citizen gives up
            carrier.caller_hangs_up(waiting.sid)
        fault.join()
        callbacks, outcomes, cabinet_errors = follow_up_cards(
            stack, carrier, people, args.callbacks
        )
        carrier.wait_idle(timeout=120)
        settled_in = settle(stack, args.settle)
        dispatcher = stack.env.get("REGIONAL_DISPATCHER_NUMBER", "+74872700000")
        carried = {
            call.sid: any(leg.number == dispatcher for leg in call.transcript.dialled)
            for call in carrier.calls
            if call.direction == "inbound"
        }
        problems, totals = check_nothing_lost(stack, carried)
        problems["5xx answers to the carrier's webhooks and the heads"] = (
            transport.server_errors + cabinet_errors
        )
        if standin is not None:
            problems["SMS the carrier was handed twice"] = sms_handed_twice(standin)
        to_dispatcher = sum(carried.values())
    finally:
        control.stop()
        stack.stop()
        if standin is not None:
            standin.stop()
    durations = transport.durations
    print(
        f"fault: {args.fault or 'none'}; {placed} calls, {args.concurrency} at a time, "
        f"pace {args.pace} s; gunicorn {args.web_workers} workers, 2 RQ workers"
    )
    print(
        f"calls/s {placed / elapsed:.1f}; webhooks {len(durations)} "
        f"({len(durations) / elapsed:.1f}/s); p50 {percentile(durations, 0.5) * 1000:.0f} ms, "
        f"p99 {percentile(durations, 0.99) * 1000:.0f} ms, max {max(durations) * 1000:.0f} ms; "
        f"carrier retries {transport.retries}"
    )
    print(f"follow-ups settled {settled_in:.0f} s after the last call")
    print(
        f"put through to the dispatcher by the fallback: {to_dispatcher}; "
        f"heads' callbacks placed {callbacks}, outcomes recorded {outcomes}"
    )
    for kind, counts in totals.items():
        print(f"{kind}: {dict(sorted(counts.items(), key=str))}")
    if standin is not None:
        faulted = {}
        for request in standin.requests:
            faulted[request.fault or "answered"] = faulted.get(request.fault or "answered", 0) + 1
        print(f"Twilio REST requests {len(standin.requests)}: {dict(sorted(faulted.items()))}")
    lost = sum(problems.values())
    for name, value in problems.items():
        print(f"  {name}: {value}")
    print(f"lost items: {lost}")
    if carrier.errors:
        print(f"carrier errors: {len(carrier.errors)}; first: {carrier.errors[0]}")
    shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(1 if lost else 0)


def inject_fault(fault: str | None, stack: Stack) -> None:
    """Once cards exist (their follow-ups are queued), break something of the stack's own."""
    if fault not in ("redis-restart", "worker-kill", "postgres-restart"):
        return
    import psycopg

    cards = 0
    for _ in range(600):
        with psycopg.connect(stack.database_url()) as conn:
            cards = conn.execute("SELECT count(*) FROM cards").fetchone()[0]
        if cards >= 5:
            break
        time.sleep(0.5)
    print(f"-- {fault} at {time.strftime('%H:%M:%S')}, {cards} cards open", flush=True)
    if fault == "redis-restart":
        stack.restart_redis(down_seconds=5)
    elif fault == "worker-kill":
        stack.kill_worker(1)
        time.sleep(2)
        stack.start_worker(1)
    else:
        stack.pg_control("restart")


if __name__ == "__main__":
    main()
