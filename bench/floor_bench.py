"""A simulated hour on the operators' floor against Erlang C's prediction for the same load.

Poisson arrivals at RATE calls an hour and exponential handle times (mean AHT seconds) are
played through the real webhooks (the in-process simulated carrier, signed requests) and the
console's services, on a clock moved by the bench (accelerated time: nothing sleeps). Each
operator starts ready; a caller is offered to the operator ready longest; when a handle time
ends the operator's call is wrapped up (wrap-up 0 s) and she takes the next caller. Callers
are patient (no abandonment). Prints the measured service level (20 s), ASA and abandonment
beside Erlang C's.

Erlang C describes the steady state; an hour that starts from an empty floor is not one, and
50 calls are few. `--warm-up` plays arrivals before the measured hour and leaves their calls
out; `--runs` plays that many independent hours (seeds SEED, SEED+1, ...) and pools their calls,
printing each run's service level too.

    .venv/bin/python bench/floor_bench.py --rate 50 --operators 4
    .venv/bin/python bench/floor_bench.py --rate 50 --operators 4 --warm-up 1800 --runs 10
    .venv/bin/python bench/floor_bench.py --rate 300 --operators 18
"""

import argparse
import heapq
import random
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import core.clock  # noqa: E402
from core import create_app  # noqa: E402
from core.extensions import db  # noqa: E402
from core.models import User  # noqa: E402
from core.queue import redis_url_of, start_embedded_redis  # noqa: E402
from core.telephony.sim import CallerScript, SimCarrier, answers_and_presses  # noqa: E402
from core.users import create_user  # noqa: E402
from hotline.console import jobs, services  # noqa: E402
from hotline.models import Call  # noqa: E402
from reports.services.erlang import (  # noqa: E402
    average_speed_of_answer,
    erlang_c,
    service_level,
    traffic_erlangs,
)

LINE = "+74872000000"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def run(rate: float, operators: int, aht: float, seconds: int, seed: int, warm_up: int = 0) -> dict:
    """Play `warm_up` + `seconds` of arrivals; return the waits of the last `seconds`' calls."""
    folder = Path(tempfile.mkdtemp(prefix="floor-bench-"))
    redis = start_embedded_redis(str(folder / "redis.db"))
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.db'}",
            "REDIS_URL": redis_url_of(redis),
            "INSTANCE_DIR": str(folder),
            "RATELIMIT_STORAGE_URI": "memory://",
            "WRAP_UP_SECONDS": 0,
        }
    )
    clock = Clock()
    core.clock.now_source = clock
    random.seed(seed)
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        carrier = SimCarrier.in_process(app)
        people = []
        for index in range(operators):
            user = create_user(f"op{index}", "operator", "bench-password-123")
            phone = f"+7900000{index:04d}"
            carrier.phone(phone, answers_and_presses(None, talk_seconds=1))
            services.start_shift(user, phone, ready=True)
            db.session.commit()
            people.append(user.id)
            clock.now += timedelta(milliseconds=1)
        events = []  # (time, kind, payload)
        moment = 0.0
        while True:
            moment += random.expovariate(rate / 3600)
            if moment > warm_up + seconds:
                break
            heapq.heappush(events, (moment, "arrive", None))
        start = clock.now
        arrived = 0
        pending_end: set[int] = set()
        while events:
            at, kind, payload = heapq.heappop(events)
            clock.now = start + timedelta(seconds=at)
            if kind == "arrive":
                arrived += 1
                script = CallerScript(hangs_up_after_bridge=False, talk_seconds=3600)
                carrier.incoming_call(f"+7916{arrived:07d}", LINE, script)
            else:
                call = db.session.get(Call, payload)
                services.finish_call(call, db.session.get(User, call.operator_id))
                db.session.commit()
                carrier.hangup(call.call_sid)  # the caller, held meanwhile, says goodbye
                jobs.end_wrap_ups()
                carrier.run_pending()
            db.session.expire_all()
            for call in db.session.scalars(
                db.select(Call).where(
                    Call.operator_answered_at.is_not(None), Call.wrapped_up_at.is_(None)
                )
            ):
                if call.id not in pending_end:
                    pending_end.add(call.id)
                    handle = random.expovariate(1 / aht)
                    heapq.heappush(events, (at + handle, "end", call.id))
        measured_from = start + timedelta(seconds=warm_up)
        calls = db.session.scalars(db.select(Call).where(Call.queued_at >= measured_from)).all()
        waits = [
            (c.operator_answered_at - c.queued_at).total_seconds()
            for c in calls
            if c.operator_answered_at
        ]
        handles = [
            (c.wrapped_up_at - c.operator_answered_at).total_seconds()
            for c in calls
            if c.wrapped_up_at and c.operator_answered_at
        ]
        abandoned = sum(1 for c in calls if c.outcome == "abandoned")
        db.engine.dispose()
    redis.shutdown(nosave=True)
    return {"calls": len(calls), "waits": waits, "handles": handles, "abandoned": abandoned}


def queue_alone(rate: float, operators: int, aht: float, seconds: int, seed: int, warm_up: int):
    """Return the waits of the same random draws played by a bare M/M/c queue, without the app."""
    random.seed(seed)
    arrivals, moment = [], 0.0
    while True:
        moment += random.expovariate(rate / 3600)
        if moment > warm_up + seconds:
            break
        arrivals.append(moment)
    free_at = [0.0] * operators
    waits = []
    for arrival in arrivals:
        start = max(arrival, heapq.heappop(free_at))
        heapq.heappush(free_at, start + random.expovariate(1 / aht))
        if arrival >= warm_up:
            waits.append(start - arrival)
    return waits


def pooled(runs: list[dict]) -> dict:
    """Return the figures of all the runs' measured calls together."""
    calls = sum(r["calls"] for r in runs)
    waits = [w for r in runs for w in r["waits"]]
    handles = [h for r in runs for h in r["handles"]]
    return {
        "calls": calls,
        "service_level": sum(1 for w in waits if w <= 20) / max(1, calls),
        "asa": sum(waits) / max(1, len(waits)),
        "abandoned": sum(r["abandoned"] for r in runs) / max(1, calls),
        "aht": sum(handles) / max(1, len(handles)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=50, help="calls per hour")
    parser.add_argument("--operators", type=int, default=4)
    parser.add_argument("--aht", type=float, default=180, help="mean handle time, s")
    parser.add_argument("--seconds", type=int, default=3600, help="simulated arrivals, s")
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--warm-up", type=int, default=0, help="unmeasured arrivals first, s")
    parser.add_argument("--runs", type=int, default=1, help="independent hours pooled")
    args = parser.parse_args()
    runs = []
    for index in range(args.runs):
        seed = args.seed + index
        runs.append(run(args.rate, args.operators, args.aht, args.seconds, seed, args.warm_up))
        if args.runs > 1:
            alone = pooled(runs[-1:])
            print(
                f"run {index + 1} (seed {seed}): {alone['calls']} calls, "
                f"SL {alone['service_level']:.3f}"
            )
    measured = pooled(runs)
    bare = [
        wait
        for index in range(args.runs)
        for wait in queue_alone(
            args.rate, args.operators, args.aht, args.seconds, args.seed + index, args.warm_up
        )
    ]
    traffic = traffic_erlangs(args.rate, args.aht)
    print(
        f"load: {args.rate:g} calls/h x {args.aht:g} s = {traffic:.2f} erlangs, "
        f"{args.operators} operators; {measured['calls']} measured calls in {args.runs} run(s) "
        f"of {args.seconds} s after a {args.warm_up} s warm-up"
    )
    # "bare queue": the same seeds' draws through a plain M/M/c queue, to tell the app's own
    # effect on the waits from the luck of the draws
    print(f"{'':22}{'measured':>10}{'bare queue':>11}{'Erlang C':>10}")
    predicted_sl = service_level(args.operators, traffic, args.aht, 20)
    predicted_asa = average_speed_of_answer(args.operators, traffic, args.aht)
    bare_sl = sum(1 for wait in bare if wait <= 20) / max(1, len(bare))
    bare_asa = sum(bare) / max(1, len(bare))
    print(
        f"{'service level (20 s)':22}{measured['service_level']:>10.3f}{bare_sl:>11.3f}"
        f"{predicted_sl:>10.3f}"
    )
    print(f"{'ASA, s':22}{measured['asa']:>10.1f}{bare_asa:>11.1f}{predicted_asa:>10.1f}")
    print(f"{'P(wait)':22}{'':>10}{'':>11}{erlang_c(args.operators, traffic):>10.3f}")
    print(f"{'abandoned':22}{measured['abandoned']:>10.3f}{0:>11.3f}{0:>10.3f}")
    print(f"{'mean handle time, s':22}{measured['aht']:>10.1f}{'':>11}{args.aht:>10.1f}")
    gap = abs(measured["service_level"] - predicted_sl) * 100
    print(f"service level gap: {gap:.1f} percentage points")


if __name__ == "__main__":
    main()
