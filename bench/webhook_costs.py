"""What one voice webhook costs, counted in-process: SQL statements, Python calls, CPU time.

Drives whole calls (the mix of `webhook_bench.py`) through the simulated carrier and a Flask
test client on PostgreSQL, one at a time, and prints per webhook path how many webhooks ran,
the SQL statements each ran, the Python function calls each made (counted by cProfile, so the
same on every run, unlike time on a shared machine) and, in a second pass of the same calls
without the profiler, the CPU milliseconds each took.

    .venv/bin/python bench/webhook_costs.py [--database-url URL] [--calls 150]
"""

import argparse
import cProfile
import os
import pstats
import random
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.webhook_bench import (  # noqa: E402
    AUTH_TOKEN,
    GOVERNOR_LINE,
    build_carrier,
    demo_numbers,
    place_call,
    prepare_database,
)
from core.telephony.sim.transport import InProcessTransport  # noqa: E402

BASE_URL = "http://hotline.bench"


class CostTransport(InProcessTransport):
    """Sends webhooks through a test client and adds up what each path cost."""

    def __init__(self, app, engine) -> None:
        super().__init__(app)
        self.counting = False  # statements and Python calls, under cProfile
        self.timing = False  # CPU time, without the profiler
        self.costs = defaultdict(lambda: {"webhooks": 0, "statements": 0, "calls": 0, "cpu": 0.0})
        self._statements = 0
        from sqlalchemy import event

        @event.listens_for(engine, "before_cursor_execute")
        def count(*_args) -> None:
            self._statements += 1

        inner = app.wsgi_app

        def measured(environ, start_response):
            cost = self.costs[re.sub(r"/\d+", "/N", environ["PATH_INFO"])]
            if self.timing:
                started = time.thread_time()
                try:
                    return inner(environ, start_response)
                finally:
                    cost["cpu"] += time.thread_time() - started
            if not self.counting:
                return inner(environ, start_response)
            profile, self._statements = cProfile.Profile(), 0
            profile.enable()
            try:
                return inner(environ, start_response)
            finally:
                profile.disable()
                cost["webhooks"] += 1
                cost["statements"] += self._statements
                cost["calls"] += pstats.Stats(profile).total_calls

        app.wsgi_app = measured


def place_calls(carrier, duty_numbers: list[str], count: int, seed: int) -> None:
    """Place `count` calls of the benchmark's mix, one after another."""
    rng = random.Random(seed)
    for index in range(count):
        place_call(carrier, f"+7916{seed:03d}{index:04d}", duty_numbers, rng)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default="postgresql://postgres@127.0.0.1:5432/hotline_bench_costs"
    )
    parser.add_argument("--calls", type=int, default=150)
    args = parser.parse_args()
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14"),
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "PUBLIC_BASE_URL": BASE_URL,
        "TELEPHONY": "sim",
        "TWILIO_NUMBER": GOVERNOR_LINE,
        "CALLER_RATE_LIMIT": "1000000/60",
        "HOTLINE_INSTANCE_DIR": "/tmp/hotline-bench-instance",
        "SECRET_KEY": "bench",
    }
    prepare_database(args.database_url, env)
    duty_numbers, phones = demo_numbers(env)
    os.environ.update(env)
    from core import create_app
    from core.extensions import db

    app = create_app()
    with app.app_context():
        transport = CostTransport(app, db.engine)
    carrier = build_carrier(BASE_URL, phones, 0.0)
    carrier.transport = transport
    place_calls(carrier, duty_numbers, 30, seed=1)  # warm up: imports, statement caches
    transport.counting = True
    place_calls(carrier, duty_numbers, args.calls, seed=2)
    transport.counting, transport.timing = False, True
    place_calls(carrier, duty_numbers, args.calls, seed=2)  # the same calls again, timed

    print(f"{args.calls} calls in-process on PostgreSQL, one at a time (CPU ms: second pass)")
    print(f"{'webhook':34} {'count':>6} {'statements':>10} {'calls':>7} {'CPU ms':>7}")
    costs = sorted(
        transport.costs.items(), key=lambda item: -item[1]["calls"] * item[1]["webhooks"]
    )
    for path, cost in costs:
        n = cost["webhooks"]
        print(
            f"{path:34} {n:>6} {cost['statements'] / n:>10.2f} {cost['calls'] / n:>7.0f} "
            f"{cost['cpu'] / n * 1000:>7.2f}"
        )
    total = {key: sum(cost[key] for cost in transport.costs.values()) for key in costs[0][1]}
    n = total["webhooks"]
    print(
        f"{'every webhook':34} {n:>6} {total['statements'] / n:>10.2f} "
        f"{total['calls'] / n:>7.0f} {total['cpu'] / n * 1000:>7.2f}"
    )


if __name__ == "__main__":
    main()
