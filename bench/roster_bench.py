"""Benchmark of the duty resolver on a year of shifts for 2,000 municipalities in PostgreSQL.

Builds 2,000 municipalities x 365 days x 3 roles of daily shifts (2,190,000 rows) in its own
database, then times `resolve_on_duty` at random moments against primary-key lookups of one
shift row through the same session (`session.get` and a plain select by id), interleaved, in
the same run. Prints the medians, the ratios and the query plan of one resolver call.

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/hotline_bench_roster \\
        .venv/bin/python bench/roster_bench.py
"""

import argparse
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.dialects import postgresql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from config import normalize_database_url  # noqa: E402
from core import create_app  # noqa: E402
from core.extensions import db  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/hotline_bench_roster"


def ensure_database(url: str) -> None:
    """Create the bench database when it does not exist."""
    engine = create_engine(normalize_database_url(url))
    name = engine.url.database
    admin = create_engine(engine.url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    engine.dispose()


def build(municipalities: int, days: int, first_day: datetime) -> None:
    """Create the schema and fill it with generated rows (inside PostgreSQL)."""
    with db.engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    db.create_all()
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO municipalities (code, name, kind, timezone) "
                "SELECT 'm' || g, 'Municipality ' || g, 'district', 'Europe/Moscow' "
                "FROM generate_series(1, :n) g"
            ),
            {"n": municipalities},
        )
        conn.execute(
            text(
                "INSERT INTO rosters (municipality_id, code, name, is_general) "
                "SELECT id, 'general', 'General', true FROM municipalities ORDER BY id"
            )
        )
        conn.execute(
            text(
                "INSERT INTO officials (municipality_id, full_name, position, phone, active) "
                "SELECT m.id, 'Official ' || m.id || '-' || k, 'Duty', "
                "'+7900' || lpad((m.id * 3 + k)::text, 7, '0'), true "
                "FROM municipalities m, generate_series(0, 2) k ORDER BY m.id, k"
            )
        )
        conn.execute(
            text(
                "CREATE TEMP TABLE staff AS SELECT r.id AS roster_id, "
                "array_agg(o.id ORDER BY o.id) AS ids FROM rosters r "
                "JOIN officials o ON o.municipality_id = r.municipality_id GROUP BY r.id"
            )
        )
        conn.execute(
            text(
                "INSERT INTO duty_shifts "
                "(roster_id, role, official_id, starts_at, ends_at, kind, created_at, note) "
                "SELECT s.roster_id, roles.role, "
                "s.ids[1 + CASE roles.role WHEN 'primary' THEN d % 2 "
                "WHEN 'backup' THEN 1 - d % 2 ELSE 2 END], "
                ":first + d * interval '1 day', :first + (d + 1) * interval '1 day', "
                "'rotation', now(), '' "
                "FROM staff s, generate_series(0, :days - 1) d, "
                "(VALUES ('primary'), ('backup'), ('supervisor')) AS roles(role)"
            ),
            {"first": first_day, "days": days},
        )
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


def timed(call) -> int:
    started = time.perf_counter_ns()
    call()
    return time.perf_counter_ns() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--municipalities", type=int, default=2000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--reuse", action="store_true", help="keep the data of a previous run")
    args = parser.parse_args()

    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    ensure_database(url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": normalize_database_url(url), "REDIS_URL": None})
    first_day = datetime.now(UTC).replace(hour=6, minute=0, second=0, microsecond=0)
    first_day -= timedelta(days=args.days // 2)
    with app.app_context():
        from roster.models import DutyShift, Municipality
        from roster.services import resolve_on_duty
        from roster.services.resolver import _RESOLVER

        if not args.reuse:
            started = time.perf_counter()
            build(args.municipalities, args.days, first_day)
            print(f"built in {time.perf_counter() - started:.0f} s")
        shifts = db.session.scalar(text("SELECT count(*) FROM duty_shifts"))
        max_id = db.session.scalar(text("SELECT max(id) FROM duty_shifts"))
        places = db.session.scalars(db.select(Municipality)).all()
        print(f"{len(places)} municipalities, {shifts} shift rows")
        span = timedelta(days=args.days - 1).total_seconds()
        rng = random.Random(20261122)

        def resolver_call():
            place = rng.choice(places)
            at = first_day + timedelta(seconds=rng.uniform(0, span))
            decision = resolve_on_duty(place, None, at)
            assert decision.primary is not None, (place.code, at)

        def pk_call():
            row = db.session.get(DutyShift, rng.randint(1, max_id))
            assert row is not None
            db.session.expunge(row)

        by_id = db.select(DutyShift.id, DutyShift.official_id, DutyShift.starts_at)

        def pk_core_call():
            row = db.session.execute(by_id.where(DutyShift.id == rng.randint(1, max_id))).one()
            assert row is not None

        for _ in range(300):  # warm caches and compiled statements
            resolver_call()
            pk_call()
            pk_core_call()
        resolver_ns, pk_ns, pk_core_ns = [], [], []
        for _ in range(args.samples):
            resolver_ns.append(timed(resolver_call))
            pk_ns.append(timed(pk_call))
            pk_core_ns.append(timed(pk_core_call))
        resolver_median = statistics.median(resolver_ns) / 1e6
        pk_median = statistics.median(pk_ns) / 1e6
        pk_core_median = statistics.median(pk_core_ns) / 1e6
        p95 = statistics.quantiles(resolver_ns, n=20)[-1] / 1e6

        compiled = _RESOLVER.compile(dialect=postgresql.psycopg.dialect())
        at = first_day + timedelta(days=args.days // 2, hours=3)
        params = {"m": places[0].id, "c": None, "at": at, "since": at - timedelta(days=31)}
        raw = db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + str(compiled), params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        finally:
            raw.close()

    print(f"samples: {args.samples} of each, interleaved")
    print(f"resolve_on_duty median: {resolver_median:.3f} ms (p95 {p95:.3f} ms)")
    print(f"primary-key lookup median, session.get(DutyShift, id): {pk_median:.3f} ms")
    print(f"primary-key lookup median, select of three columns by id: {pk_core_median:.3f} ms")
    print(f"ratio resolver / session.get: {resolver_median / pk_median:.2f}")
    print(f"ratio resolver / select by id: {resolver_median / pk_core_median:.2f}")
    print("plan of one resolver query:")
    print(plan)


if __name__ == "__main__":
    main()
