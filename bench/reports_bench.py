"""Benchmark of the managers' reports on a year of history in PostgreSQL.

Builds 30 municipalities (in three time zones), 1,000,000 calls routed to the chain over a
year with their dial attempts and appeals, 100,000 cards (one per missed call, 80 % called
back) and 40,000 confirmation and reopening events, all generated inside PostgreSQL with
INSERT … SELECT generate_series. Then times the weekly missed-call report
(`missed_call_report` over every municipality for the last full week) and the heat map of
the same week, each several times, and prints the medians and the row counts.

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/hotline_bench_reports \\
        .venv/bin/python bench/reports_bench.py
"""

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import core.clock  # noqa: E402
from config import normalize_database_url  # noqa: E402
from core import create_app  # noqa: E402
from core.extensions import db  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/hotline_bench_reports"
#: The year of history ends here; the report week is the last full week before it.
END = datetime(2026, 3, 11, 9, 0, tzinfo=UTC)
YEAR_SECONDS = 365 * 86400


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


STEPS = [
    (
        "municipalities",
        "INSERT INTO municipalities (code, name, kind, timezone) "
        "SELECT 'm' || g, 'Municipality ' || g, 'district', "
        "(ARRAY['Europe/Moscow', 'Asia/Yekaterinburg', 'Europe/Kaliningrad'])[1 + g % 3] "
        "FROM generate_series(1, 30) g",
    ),
    (
        "officials",
        "INSERT INTO officials (municipality_id, full_name, position, phone, active) "
        "SELECT m, 'Official ' || m || '-' || r, 'duty', "
        "'+7900' || lpad((m * 10 + r)::text, 7, '0'), true "
        "FROM generate_series(1, 30) m, generate_series(1, 3) r",
    ),
    (
        "categories",
        "INSERT INTO categories (code, name, urgency, callback_minutes, resolution_days, "
        "checkin_minutes, position) SELECT 'c' || g, 'Category ' || g, "
        "CASE WHEN g <= 2 THEN 'emergency' ELSE 'ordinary' END, "
        "CASE WHEN g <= 2 THEN 60 ELSE 480 END, 30, 1440, g FROM generate_series(1, 8) g",
    ),
    (
        "calls",
        "INSERT INTO calls (id, call_sid, from_number, to_number, entry, municipality_id, "
        "category_id, status, status_sequence, outcome, menu_retries, created_at, "
        "chain_started_at, ended_at) "
        "SELECT g, 'CA' || g, '+7916' || lpad((g % 200000)::text, 7, '0'), '+74872000000', "
        "'governor', 1 + g % 30, 1 + g % 8, 'completed', 5, "
        "CASE WHEN g % 10 = 0 THEN 'missed' ELSE 'connected' END, 0, t - interval '30 s', t, "
        "t + interval '5 min' FROM (SELECT g, :end - make_interval(secs => g * :step) AS t "
        "FROM generate_series(1, 1000000) g) s",
    ),
    (
        "accepted attempts",
        "INSERT INTO dial_attempts (call_id, position, role, official_id, phone, started_at, "
        "accepted_at, key_pressed, outcome) "
        "SELECT c.id, 0, (ARRAY['primary', 'backup', 'supervisor'])[1 + c.id % 3], "
        "(c.municipality_id - 1) * 3 + 1 + c.id % 3, '+79000000000', c.chain_started_at, "
        "c.chain_started_at + make_interval(secs => 5 + c.id % 50), true, 'accepted' "
        "FROM calls c WHERE c.outcome = 'connected'",
    ),
    (
        "missed attempts",
        "INSERT INTO dial_attempts (call_id, position, role, official_id, phone, started_at, "
        "key_pressed, outcome) "
        "SELECT c.id, r - 1, (ARRAY['primary', 'backup', 'supervisor'])[r], "
        "(c.municipality_id - 1) * 3 + r, '+79000000000', "
        "c.chain_started_at + make_interval(secs => 20 * (r - 1)), false, 'no-answer' "
        "FROM calls c, generate_series(1, 3) r WHERE c.outcome = 'missed'",
    ),
    (
        "appeals",
        "INSERT INTO appeals (id, number, channel, status, caller_number, municipality_id, "
        "category_id, urgency, address, call_id, created_at, callback_due_at, "
        "resolution_due_at) "
        "SELECT c.id, 'A' || c.id, (ARRAY['phone', 'operator', 'voicemail'])[1 + c.id % 3], "
        "CASE WHEN c.outcome = 'missed' THEN 'missed' ELSE 'in_work' END, c.from_number, "
        "c.municipality_id, c.category_id, 'ordinary', 'ул. Ленина, ' || (c.id % 500), c.id, "
        "c.chain_started_at, c.chain_started_at + interval '8 hours', "
        "c.chain_started_at + interval '30 days' FROM calls c",
    ),
    (
        "cards",
        "INSERT INTO cards (call_id, appeal_id, municipality_id, state, duty, "
        "opened_at, callback_due_at, remind_at, escalate_at, called_back_at) "
        "SELECT c.id, c.id, c.municipality_id, "
        "CASE WHEN c.id % 50 = 0 THEN 'new' ELSE 'called_back' END, '{}', "
        "c.chain_started_at + interval '1 min', c.chain_started_at + interval '481 min', "
        "c.chain_started_at + interval '16 min', c.chain_started_at + interval '241 min', "
        "CASE WHEN c.id % 50 = 0 THEN NULL "
        "ELSE c.chain_started_at + make_interval(mins => 10 + c.id % 600) END "
        "FROM calls c WHERE c.outcome = 'missed'",
    ),
    (
        "events",
        "INSERT INTO events (at, actor_label, subject_type, subject_id, verb, data) "
        "SELECT a.created_at + interval '2 days', 'citizen', 'appeal', a.id::text, v, '{}' "
        "FROM appeals a, unnest(ARRAY['appeal.confirmation-asked', 'appeal.reopened']) v "
        "WHERE a.id % 50 = 1",
    ),
]


def build() -> dict:
    """Create the schema and fill it inside PostgreSQL; return seconds per step."""
    with db.engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    db.create_all()
    timings = {}
    step = YEAR_SECONDS / 1_000_000
    for name, sql in STEPS:
        started = time.perf_counter()
        with db.engine.begin() as conn:
            conn.execute(text(sql), {"end": END, "step": step})
        timings[name] = time.perf_counter() - started
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    return timings


def measure(function, repeat: int) -> tuple[float, object]:
    """Return the median milliseconds of a function over runs (after one warm-up) and a result."""
    result = function()
    samples = []
    for _ in range(repeat):
        db.session.expire_all()
        started = time.perf_counter()
        result = function()
        samples.append((time.perf_counter() - started) * 1000)
        db.session.rollback()
    return statistics.median(samples), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="reuse the data of the last run")
    options = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    ensure_database(url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": normalize_database_url(url), "TESTING": True})
    core.clock.now_source = lambda: END
    with app.app_context():
        if not options.keep:
            for name, seconds in build().items():
                print(f"built {name:<18} {seconds:7.1f} s")
        from reports import services

        counts = db.session.execute(
            text("SELECT (SELECT count(*) FROM calls), (SELECT count(*) FROM cards)")
        ).one()
        print(f"calls {counts[0]:,}  cards {counts[1]:,}")
        places = services.visible_municipalities(type("Manager", (), {"role": "manager"})())
        period = services.default_period()
        scope = services.make_scope(places, period)
        report_ms, report = measure(
            lambda: services.missed_call_report(places, scope), options.repeat
        )
        heat_ms, heat = measure(lambda: services.heat_map(places, scope), options.repeat)
        officials_ms, _ = measure(
            lambda: services.official_report(places[0], services.make_scope([places[0]], period)),
            options.repeat,
        )
        total = report["total"]
        print(
            f"week {period.first} – {period.last}: routed {total['routed']:,}, "
            f"missed {total['missed']:,}, heat cells {len(heat['cells'])}"
        )
        print(f"weekly missed-call report  median {report_ms:7.1f} ms")
        print(f"heat map of the week       median {heat_ms:7.1f} ms")
        print(f"officials of one place     median {officials_ms:7.1f} ms")
        brief_figures(app, places, period, options.repeat)


def brief_figures(app, places, period, repeat: int) -> None:
    """Time the weekly brief (its data, the HTML page, the PDF) and the map, against a PK lookup."""
    from flask_login import login_user

    from core.models import User
    from hotline.models import Call
    from reports import services, views

    user = db.session.scalar(db.select(User).filter_by(username="bench-manager"))
    if user is None:
        user = User(username="bench-manager", password_hash="-", role="manager")
        db.session.add(user)
        db.session.commit()
    user_id = user.id
    base_ms, _ = measure(lambda: db.session.get(Call, 500_000).id, max(repeat, 25))
    everyone = views.list_municipalities()
    scope = services.make_scope(places, period)
    region = services.make_scope(everyone, period)
    shown = {place.id for place in places}

    def brief_data():
        services.missed_call_report(places, scope)
        services.missed_call_report(places, scope.with_period(period.previous()))
        services.ranking(everyone, region, shown)
        return services.list_appeals(scope, "all")["addresses"][:5]

    def page(query: str):
        def run():
            with app.test_request_context(f"/reports/brief?week={period.first}{query}"):
                login_user(db.session.get(User, user_id))
                return views.brief()

        return run

    def region_map():
        with app.test_request_context("/reports/ranking"):
            rows = services.ranking(everyone, region, shown)
            filters = views.Filters(period, None, places, scope, None, None)
            return views._region_map(rows, filters, "missed")

    data_ms, _ = measure(brief_data, repeat)
    html_ms, html = measure(page(""), repeat)
    pdf_ms, pdf = measure(page("&format=pdf"), max(1, repeat // 3))
    map_ms, tiles = measure(region_map, repeat)
    print(f"primary-key lookup (baseline) median {base_ms:7.2f} ms")
    for label, ms in (
        ("weekly brief, data", data_ms),
        ("weekly brief, HTML page", html_ms),
        ("weekly brief, PDF (information)", pdf_ms),
        ("tile-grid map of the region", map_ms),
    ):
        print(f"{label:<32} median {ms:7.1f} ms  = {ms / base_ms:8.0f} × baseline")
    print(f"brief HTML {len(html):,} chars, PDF {len(pdf.get_data()):,} bytes, map {len(tiles):,}")


if __name__ == "__main__":
    main()
