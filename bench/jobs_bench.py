"""Benchmark of the tracking jobs: 10,000 due check-ins drained by two RQ workers, and the sweep.

Builds its own PostgreSQL database, gives 10,000 appeals in work a check-in due now, lets one
sweep enqueue them and two `flask --app wsgi worker --burst` processes run them, and prints the
time to drain and jobs/s. Then it grows the open appeals to 100,000 (none due) and times the
sweep over them, and once more with 1% of them due. Redis: REDIS_URL (default db 11 on
127.0.0.1:6379, flushed at the start; never point it at a database others use).

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/hotline_bench_jobs \\
        .venv/bin/python bench/jobs_bench.py
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, insert, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from callbacks import jobs  # noqa: E402
from callbacks.models import AppealTracking  # noqa: E402
from config import BASE_DIR, normalize_database_url  # noqa: E402
from core import create_app  # noqa: E402
from core.extensions import db  # noqa: E402
from core.queue import get_queue, redis_connection  # noqa: E402
from hotline.models import Appeal  # noqa: E402
from roster.models import Category, Municipality, Official  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/hotline_bench_jobs"
DEFAULT_REDIS = "redis://127.0.0.1:6379/11"


def ensure_database(url: str) -> None:
    """Create the bench database when it does not exist, and empty its schema."""
    engine = create_engine(normalize_database_url(url))
    admin = create_engine(engine.url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        name = engine.url.database
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    admin.dispose()
    engine.dispose()


def add_appeals(count: int, start_id: int, place_id: int, official_id: int, due: datetime) -> None:
    """Insert `count` appeals in work with their tracking rows (check-in at `due`)."""
    now = datetime.now(UTC)
    for first in range(start_id, start_id + count, 5000):
        ids = range(first, min(first + 5000, start_id + count))
        db.session.execute(
            insert(Appeal),
            [
                {
                    "id": i,
                    "number": f"B-{i:07d}",
                    "channel": "phone",
                    "status": "in_work",
                    "caller_number": f"+7916{i:07d}",
                    "municipality_id": place_id,
                    "urgency": "ordinary",
                    "assignee_id": official_id,
                    "created_at": now,
                    "resolution_due_at": now + timedelta(days=30),
                }
                for i in ids
            ],
        )
        db.session.execute(
            insert(AppealTracking),
            [
                {"appeal_id": i, "next_checkin_at": due, "checkins": 0, "reopen_count": 0}
                for i in ids
            ],
        )
    db.session.execute(text("SELECT setval('appeals_id_seq', (SELECT max(id) FROM appeals))"))
    db.session.commit()


def drain_with_workers(env: dict, workers: int) -> float:
    """Run burst workers until the queue is empty; return the seconds it took."""
    flask = [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--burst"]
    started = time.perf_counter()
    procs = [
        subprocess.Popen(flask, cwd=BASE_DIR, env=env, stdout=subprocess.DEVNULL)
        for _ in range(workers)
    ]
    for proc in procs:
        proc.wait()
    return time.perf_counter() - started


def time_sweep(runs: int = 5) -> float:
    """Return the median seconds of a sweep over what is in the database."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        jobs.sweep()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--open", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    options = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    redis_url = os.environ.get("REDIS_URL", DEFAULT_REDIS)
    ensure_database(url)
    instance = tempfile.mkdtemp(prefix="hotline-jobs-bench-")
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        "HOTLINE_INSTANCE_DIR": instance,
        "SECRET_KEY": "bench",
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
            "INSTANCE_DIR": instance,
            "SECRET_KEY": "bench",
        }
    )
    with app.app_context():
        redis_connection().flushdb()
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
        jobs.SWEEP_BATCH = options.open
        started = time.perf_counter()
        found = jobs.sweep()
        enqueue_seconds = time.perf_counter() - started
        queued = get_queue().count
        seconds = drain_with_workers(env, options.workers)
        db.session.rollback()
        done = db.session.scalar(text("SELECT count(*) FROM appeal_tracking WHERE checkins = 1"))
        messages = db.session.scalar(text("SELECT count(*) FROM outbound_messages"))
        print(f"sweep found {found['checkin']} due check-ins, enqueued in {enqueue_seconds:.2f} s")
        print(
            f"{options.workers} workers drained {queued} jobs in {seconds:.2f} s: "
            f"{queued / seconds:.0f} jobs/s; check-ins done {done}, SMS recorded {messages}"
        )
        later = now + timedelta(days=1)
        add_appeals(options.open - options.due, options.due + 1, place.id, official.id, later)
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        print(f"sweep over {options.open} open appeals, none due: {time_sweep() * 1000:.1f} ms")
        db.session.execute(
            text(
                "UPDATE appeal_tracking SET next_checkin_at = now() - interval '1 minute' "
                "WHERE appeal_id % 100 = 0"
            )
        )
        db.session.commit()
        redis_connection().flushdb()
        started = time.perf_counter()
        found = jobs.sweep()
        print(
            f"sweep over {options.open} open appeals, {found['checkin']} due: "
            f"{(time.perf_counter() - started) * 1000:.1f} ms (enqueueing included)"
        )
        print(f"same sweep again, all already queued: {time_sweep(3) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
