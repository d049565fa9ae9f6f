"""Due check-ins drained in batches while something breaks: every check-in once, every SMS once.

Its own Redis (a `redis-server` it starts on --redis-port), two `flask --app wsgi worker`
processes, and a counting carrier (the simulated carrier's control endpoint, counting every SMS
handed to it). PostgreSQL: BENCH_DATABASE_URL (schema dropped and rebuilt), or for
`postgres-restart` a throwaway cluster the run creates under /tmp on --pg-port and restarts
itself. Once the drain has begun it breaks one thing:

- `worker-kill`: SIGKILL one worker mid-batch and start another (the dead worker's job is
  given up as RQ does once its heartbeat expires, here at once rather than minutes later);
- `redis-restart`: SIGKILL Redis (every queued job gone) and start it empty 3 s later;
- `postgres-restart`: restart the cluster (`pg_ctl restart -m fast`).

The harness then runs the periodic sweeps (check-ins and SMS) every few seconds, as the
scheduler would every minute, until every check-in is done and every SMS handed over, and
counts at the carrier: each appeal's SMS must have arrived exactly once.

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/hotline_bench_jobs \\
        .venv/bin/python bench/jobs_fault.py --fault worker-kill
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.jobs_bench import BENCH_BASE_URL, DEFAULT_URL, add_appeals, ensure_database  # noqa: E402
from bench.load.stack import Stack  # noqa: E402
from callbacks import jobs  # noqa: E402
from config import BASE_DIR, normalize_database_url  # noqa: E402
from core import create_app  # noqa: E402
from core.extensions import db  # noqa: E402
from core.queue import get_queue, redis_connection  # noqa: E402
from core.telephony.jobs import sweep_due_sms  # noqa: E402
from roster.models import Category, Municipality, Official  # noqa: E402

FAULTS = ("worker-kill", "redis-restart", "postgres-restart")


class CountingCarrier(BaseHTTPRequestHandler):
    """Takes every SMS (`POST /sms`) and counts it."""

    received: list[str] = []
    lock = threading.Lock()

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with type(self).lock:
            type(self).received.append(body["body"])
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


def start_worker(env: dict, logs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "worker"],
        cwd=BASE_DIR,
        env=env,
        stdout=logs,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def count(sql: str) -> int:
    try:
        value = db.session.scalar(text(sql))
        db.session.commit()
        return value
    except Exception:  # the database is restarting: ask again next round
        db.session.rollback()
        return -1


def give_up_dead_workers_jobs(dead_pid: int) -> int:
    """Fail the jobs the killed worker held, as RQ does once its heartbeat has expired."""
    from rq import Worker
    from rq.job import Job

    conn = redis_connection()
    dead = [worker.name for worker in Worker.all(connection=conn) if worker.pid == dead_pid]
    registry = get_queue().started_job_registry
    given_up = 0
    for job_id in registry.get_job_ids():
        job = Job.fetch(job_id, connection=conn)
        if job.worker_name in dead:
            registry.remove(job)
            job.set_status("failed")
            given_up += 1
    return given_up


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fault", choices=FAULTS, required=True)
    parser.add_argument("--due", type=int, default=3000)
    parser.add_argument("--redis-port", type=int, default=5253)
    parser.add_argument("--pg-port", type=int, default=5252)
    parser.add_argument("--carrier-port", type=int, default=5254)
    parser.add_argument("--settle", type=int, default=240, help="seconds to wait for the end")
    options = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="hotline-jobs-fault-"))
    stack = Stack(SimpleNamespace(fault=options.fault, database_url=None), workdir)
    stack.redis_port, stack.pg_port = options.redis_port, options.pg_port
    if options.fault == "postgres-restart":
        stack.start_own_postgres()
        url = stack.database_url()
    else:
        url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    ensure_database(url)
    stack.start_redis()
    carrier = ThreadingHTTPServer(("127.0.0.1", options.carrier_port), CountingCarrier)
    threading.Thread(target=carrier.serve_forever, daemon=True).start()
    redis_url = f"redis://127.0.0.1:{options.redis_port}/0"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        "HOTLINE_INSTANCE_DIR": str(workdir / "instance"),
        "SECRET_KEY": "bench",
        "PUBLIC_BASE_URL": BENCH_BASE_URL,
        "SIM_CARRIER_URL": f"http://127.0.0.1:{options.carrier_port}",
    }
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        cwd=BASE_DIR,
        env=env,
        check=True,
        capture_output=True,
    )
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": normalize_database_url(url),
            "REDIS_URL": redis_url,
            "INSTANCE_DIR": str(workdir / "instance"),
            "SECRET_KEY": "bench",
            "PUBLIC_BASE_URL": BENCH_BASE_URL,
            "SIM_CARRIER_URL": env["SIM_CARRIER_URL"],
        }
    )
    logs = open(workdir / "workers.log", "w")  # noqa: SIM115
    workers: list[subprocess.Popen] = []
    ok = False
    try:
        with app.app_context():
            place = Municipality(code="bench", name="Bench", timezone="Europe/Moscow")
            db.session.add(place)
            db.session.add(
                Category(
                    code="roads",
                    name="roads",
                    urgency="ordinary",
                    callback_minutes=480,
                    resolution_days=30,
                    checkin_minutes=1440,
                )
            )
            db.session.flush()
            official = Official(municipality_id=place.id, full_name="Bench", phone="+79000000001")
            db.session.add(official)
            db.session.commit()
            now = datetime.now(UTC)
            add_appeals(options.due, 1, place.id, official.id, now - timedelta(minutes=1))
            jobs.SWEEP_BATCH = options.due
            started = time.perf_counter()
            jobs.sweep()
            workers = [start_worker(env, logs) for _ in range(2)]
            done_sql = "SELECT count(*) FROM appeal_tracking WHERE checkins > 0"
            while count(done_sql) < options.due // 5:  # a fifth done: break it mid-drain
                time.sleep(0.02)
            before = count(done_sql)
            if options.fault == "worker-kill":
                victim = workers.pop(0)
                os.killpg(victim.pid, 9)
                victim.wait()
                time.sleep(1)
                given_up = give_up_dead_workers_jobs(victim.pid)
                workers.append(start_worker(env, logs))
                what = f"worker {victim.pid} SIGKILLed ({given_up} job given up), another started"
            elif options.fault == "redis-restart":
                process = stack.procs.pop("redis")
                process.kill()
                process.wait()
                time.sleep(3)
                stack.start_redis()
                what = "Redis SIGKILLed, started empty 3 s later"
            else:
                stack.pg_control("restart")
                what = "PostgreSQL restarted (fast)"
            print(f"{what} with {before} of {options.due} check-ins done")
            deadline = time.perf_counter() + options.settle
            sms_sql = "SELECT count(*) FROM outbound_messages WHERE status <> 'sent'"
            while time.perf_counter() < deadline:
                for index, worker in enumerate(workers):  # a supervisor restarts a dead worker
                    if worker.poll() is not None:
                        workers[index] = start_worker(env, logs)
                try:
                    jobs.sweep()
                    sweep_due_sms()
                except Exception as error:  # noqa: BLE001  the fault is still going on
                    db.session.rollback()
                    print(f"sweep failed: {type(error).__name__}")
                if count(done_sql) == options.due and count(sms_sql) == 0:
                    break
                time.sleep(3)
            seconds = time.perf_counter() - started
            done = count(done_sql)
            twice = count("SELECT count(*) FROM appeal_tracking WHERE checkins > 1")
            events = count("SELECT count(*) FROM events WHERE verb = 'appeal.checkin'")
            stored = count("SELECT count(*) FROM outbound_messages")
            unsent = count(sms_sql)
            numbers = dict(db.session.execute(text("SELECT id, number FROM appeals")).all())
            arrived = {number: 0 for number in numbers.values()}
            for body in CountingCarrier.received:
                number = body.split(" ")[2].rstrip(":")
                arrived[number] = arrived.get(number, 0) + 1
            once = sum(1 for value in arrived.values() if value == 1)
            never = sum(1 for value in arrived.values() if value == 0)
            more = sum(1 for value in arrived.values() if value > 1)
            print(
                f"fault {options.fault}: {options.due} due check-ins, settled in {seconds:.1f} s; "
                f"done {done} (twice {twice}), check-in events {events}, SMS stored {stored}, "
                f"not sent {unsent}; at the carrier: {len(CountingCarrier.received)} SMS, "
                f"{once} appeals once, {never} never, {more} more than once"
            )
            ok = done == options.due == events == stored == once and not (twice or never or more)
            print("PASS: every check-in done once, every SMS sent once" if ok else "FAIL")
            db.session.remove()
            db.engine.dispose()
    finally:
        for worker in workers:
            if worker.poll() is None:
                os.killpg(worker.pid, 15)
        for worker in workers:
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, 9)
        carrier.shutdown()
        stack.stop()
        logs.close()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
