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
import random
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load.checks import check_nothing_lost, percentile, settle, sms_handed_twice  # noqa: E402
from bench.load.scenario import (  # noqa: E402
    LoadTransport,
    follow_up_cards,
    place_calls,
    prepare_people,
)
from bench.load.stack import AUTH_TOKEN, GOVERNOR_LINE, Stack, inject_fault  # noqa: E402
from core.telephony.sim import (  # noqa: E402
    ControlServer,
    SimCarrier,
    answers_and_presses,
    busy,
    no_answer,
    voicemail,
)
from core.telephony.sim.rest_standin import TwilioStandin  # noqa: E402

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


if __name__ == "__main__":
    main()
