"""Benchmark of the charts' queries on the year of history of `reports_bench.py`.

Builds (or with `--keep` reuses) the same 1,000,000 calls and 100,000 cards in PostgreSQL,
then times the region's weekly trend (eight weeks), the answer-time histogram of the week and
the brief's officials with most missed calls, each against the weekly missed-call report.

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/hotline_bench_reports \\
        .venv/bin/python bench/charts_bench.py
"""

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import core.clock  # noqa: E402
from bench.reports_bench import DEFAULT_URL, END, build, ensure_database, measure  # noqa: E402
from config import normalize_database_url  # noqa: E402
from core import create_app  # noqa: E402


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

        places = services.visible_municipalities(type("Manager", (), {"role": "manager"})())
        scope = services.make_scope(places, services.default_period())
        report_ms, _ = measure(lambda: services.missed_call_report(places, scope), options.repeat)
        print(f"weekly missed-call report      median {report_ms:7.1f} ms (1.00)")
        for name, function in (
            ("weekly trend, eight weeks", lambda: services.weekly_trend(scope)),
            ("answer-time histogram", lambda: services.answer_time_histogram(scope)),
            ("officials with most missed", lambda: services.top_missing_officials(scope)),
        ):
            ms, _ = measure(function, options.repeat)
            print(f"{name:<30} median {ms:7.1f} ms ({ms / report_ms:.2f})")


if __name__ == "__main__":
    main()
