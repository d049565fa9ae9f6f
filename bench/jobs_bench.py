"""Benchmark of the tracking jobs: 10,000 due check-ins drained by two RQ workers, and the sweep.

Builds its own PostgreSQL database. First the single-item path: `--single` (1,000) appeals
with a check-in due now, each enqueued as its own `run_checkin` job, drained by two
`flask --app wsgi worker --burst` processes. Then the batched path: 10,000 more appeals due,
one sweep enqueues them in batches (`run_checkins`), the same two workers drain them. For
each it prints when every check-in was done (follow-ups/s) and when the queue was empty
(every SMS handed to the simulated carrier, one at a time). Then it grows the open appeals
to 100,000 (none due) and times the sweep over them, and once more with 1% of them due.
Redis: REDIS_URL (default db 11 on 127.0.0.1:6379, flushed at the start; never point it at
a database others use).

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
from core.queue import enqueue_due_all, get_queue, redis_connection  # noqa: E402
from hotline.models import Appeal  # noqa: E402
from roster.models import Category, Municipality, Official  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/hotline_bench_jobs"
DEFAULT_REDIS = "redis://127.0.0.1:6379/11"
#: Where the simulated SMS receipts go: nothing listens there, so none reaches another app.
BENCH_BASE_URL = "http://127.0.0.1:5255"


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


def drain_with_workers(env: dict, workers: int, done_sql: str, wanted: int) -> tuple[float, float]:
    """Run burst workers until the queue is empty; return (seconds until `done_sql` counts
    `wanted`, seconds until the queue was empty)."""
    flask = [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--burst"]
    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            flask, cwd=BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for _ in range(workers)
    ]
    done_at = None
    while any(proc.poll() is None for proc in procs):
        if done_at is None and db.session.scalar(text(done_sql)) >= wanted:
            done_at = time.perf_counter() - started
        db.session.rollback()
        time.sleep(0.05)
    drained = time.perf_counter() - started
    return done_at or drained, drained


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
    parser.add_argument("--single", type=int, default=1000, help="check-ins on the single path")
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
        "PUBLIC_BASE_URL": BENCH_BASE_URL,
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
            "PUBLIC_BASE_URL": BENCH_BASE_URL,
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
        single = options.single
        add_appeals(single, 1, place.id, official.id, now - timedelta(minutes=1))
        enqueue_due_all(
            jobs.run_checkin,
            [((i,), f"checkin-{i}-single") for i in range(1, single + 1)],
        )
        single_done, single_drained = drain_with_workers(
            env, options.workers, "SELECT count(*) FROM appeal_tracking WHERE checkins = 1", single
        )
        print(
            f"single-item path: {single} check-ins, one job each: all done in {single_done:.2f} s "
            f"({single / single_done:.0f} follow-ups/s), queue empty (every SMS handed over) "
            f"in {single_drained:.2f} s ({single / single_drained:.0f}/s)"
        )
        add_appeals(options.due, single + 1, place.id, official.id, now - timedelta(minutes=1))
        jobs.SWEEP_BATCH = options.open
        started = time.perf_counter()
        found = jobs.sweep()
        enqueue_seconds = time.perf_counter() - started
        queued = get_queue().count
        done_seconds, seconds = drain_with_workers(
            env,
            options.workers,
            "SELECT count(*) FROM appeal_tracking WHERE checkins = 1",
            single + options.due,
        )
        db.session.rollback()
        done = db.session.scalar(text("SELECT count(*) FROM appeal_tracking WHERE checkins = 1"))
        messages = db.session.scalar(text("SELECT count(*) FROM outbound_messages"))
        twice = db.session.scalar(
            text(
                "SELECT count(*) FROM (SELECT subject_id FROM events WHERE verb = 'appeal.checkin'"
                " GROUP BY subject_id HAVING count(*) > 1) AS doubled"
            )
        )
        unsent = db.session.scalar(
            text("SELECT count(*) FROM outbound_messages WHERE status <> 'sent'")
        )
        print(
            f"sweep found {found['checkin']} due check-ins, enqueued {queued} batch jobs "
            f"in {enqueue_seconds:.2f} s"
        )
        print(
            f"batched path, {options.workers} workers: {options.due} check-ins all done in "
            f"{done_seconds:.2f} s: {options.due / done_seconds:.0f} follow-ups/s "
            f"(single-item path: {single / single_done:.0f}/s, "
            f"x{(options.due / done_seconds) / (single / single_done):.1f}); queue empty, every "
            f"SMS handed over, in {seconds:.2f} s ({options.due / seconds:.0f}/s, single-item "
            f"path {single / single_drained:.0f}/s)"
        )
        print(
            f"check-ins done {done} of {single + options.due}, SMS recorded {messages}, "
            f"not sent {unsent}, appeals checked in twice {twice}"
        )
        options.due += single
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
