"""Voice webhook throughput: whole calls over HTTP against gunicorn on PostgreSQL.

The simulated carrier drives complete calls (duty numbers and the governor's line, officials
who accept, let voicemail pick up, do not answer, are busy or unreachable) at rising
concurrency, and in the same run a bare Flask endpoint on the same server gives the baseline.
Prints calls/s, webhook p50/p99 and the ratio of webhook throughput to the bare endpoint's,
and the CPU time each webhook and each bare request cost the server, PostgreSQL and the load
generator (read from /proc), which is what the ratio comes from on a shared machine.

    .venv/bin/python bench/webhook_bench.py [--database-url URL] [--levels 1,10,25,50]
"""

import argparse
import multiprocessing
import os
import random
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.telephony.sim import (  # noqa: E402
    CallerScript,
    SimCarrier,
    answers_and_presses,
    busy,
    fails,
    no_answer,
    voicemail,
)
from core.telephony.sim.transport import HttpTransport  # noqa: E402

AUTH_TOKEN = "bench-auth-token"
GOVERNOR_LINE = "+74872000000"
#: Webhooks in an average call of the mix: paced calls arrive spread over one call's length.
CALL_WEBHOOKS = 6.7


class TimedTransport(HttpTransport):
    """HTTP transport that keeps the duration of every webhook, optionally pacing a call.

    With `pace` > 0 every webhook after a call's first waits a random gap of about `pace`
    seconds, as real calls do (ringing, the whisper, speech): the load of live calls, sped up.
    """

    def __init__(self, base_url: str, pace: float = 0.0) -> None:
        super().__init__(base_url)
        self.pace = pace
        self.durations: list[float] = []
        self._durations_lock = threading.Lock()
        self._rng = random.Random(11)

    def request(self, method, path, params, headers):
        if self.pace and not path.endswith("/voice/incoming"):
            time.sleep(self._rng.uniform(0.5, 1.5) * self.pace)
        started = time.perf_counter()
        answer = super().request(method, path, params, headers)
        with self._durations_lock:
            self.durations.append(time.perf_counter() - started)
        return answer


def worker_count(server_pid: int) -> int:
    """Return how many worker processes the gunicorn master runs."""
    with open(f"/proc/{server_pid}/task/{server_pid}/children") as children:
        return len(children.read().split())


def cpu_seconds(server_pid: int) -> dict[str, float]:
    """Return the CPU seconds used so far by the server, PostgreSQL and this load generator."""
    tick = os.sysconf("SC_CLK_TCK")
    generator = {os.getpid()} | {child.pid for child in multiprocessing.active_children()}
    used = {"server": 0.0, "postgres": 0.0, "generator": 0.0}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as stat:
                name, fields = stat.read().rsplit(")", 1)
        except OSError:
            continue
        fields = fields.split()
        parent, seconds = int(fields[1]), (int(fields[11]) + int(fields[12])) / tick
        if name.endswith("(postgres"):
            used["postgres"] += seconds
        elif server_pid in (int(pid), parent):
            used["server"] += seconds
        elif int(pid) in generator:
            used["generator"] += seconds
    return used


def cpu_used(*spans: tuple[dict, dict]) -> dict[str, float]:
    """Add up the CPU seconds every part of the machine used over (start, end) spans."""
    return {part: sum(end[part] - start[part] for start, end in spans) for part in spans[0][0]}


def cpu_per_request(used: dict, requests_done: int) -> str:
    """Format the CPU milliseconds each request cost every part of the machine."""
    parts = (f"{part} {seconds / requests_done * 1000:.2f}" for part, seconds in used.items())
    return ", ".join(parts)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare_database(url: str, env: dict) -> None:
    admin = url.rsplit("/", 1)[0] + "/postgres"
    name = url.rsplit("/", 1)[1]
    subprocess.run(
        [
            "psql",
            admin,
            "-q",
            "-c",
            f"DROP DATABASE IF EXISTS {name}",
            "-c",
            f"CREATE DATABASE {name}",
        ],
        check=True,
    )
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    subprocess.run([*flask, "db", "upgrade"], env=env, check=True, cwd=ROOT, capture_output=True)
    subprocess.run(
        [*flask, "seed-demo", "--history", "0"], env=env, check=True, cwd=ROOT, capture_output=True
    )


def demo_numbers(env: dict) -> tuple[list[str], list[str]]:
    """Return the municipalities' duty numbers and every official's phone from the database."""
    import psycopg

    with psycopg.connect(env["DATABASE_URL"]) as conn:
        duty = [
            row[0] for row in conn.execute("SELECT duty_number FROM municipalities ORDER BY name")
        ]
        phones = [row[0] for row in conn.execute("SELECT phone FROM officials")]
    return duty, phones


def wait_for(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit(f"server did not answer at {url}")


def build_carrier(base_url: str, phones: list[str], pace: float) -> SimCarrier:
    """A carrier over HTTP whose officials accept, let voicemail pick up, ignore or fail."""
    carrier = SimCarrier(
        TimedTransport(base_url, pace),
        auth_token=AUTH_TOKEN,
        public_base_url=base_url,
        default_number=GOVERNOR_LINE,
    )
    rng = random.Random(7)
    for phone in phones:
        behaviour = rng.choices(
            [answers_and_presses("1"), voicemail(), no_answer(), busy(), fails()],
            weights=[40, 20, 20, 10, 10],
        )[0]
        carrier.phone(phone, behaviour)
    return carrier


def drive(job: tuple) -> tuple[int, list[float]]:
    """In a client process: place calls from several threads; return calls and durations."""
    base_url, phones, duty_numbers, pace, first_thread, threads, seconds = job
    carrier = build_carrier(base_url, phones, pace)
    ramp = min(CALL_WEBHOOKS * pace, seconds / 2)
    calls = run_calls(carrier, duty_numbers, threads, seconds, first_thread, ramp)
    return calls, carrier.transport.durations


def place_call(carrier, number: str, duty_numbers: list[str], rng: random.Random) -> None:
    """Place one call of the mix: 70 % to a duty number, 30 % through the governor's menu."""
    if rng.random() < 0.7:
        carrier.incoming_call(number, rng.choice(duty_numbers), CallerScript(message_seconds=10))
    else:
        code = f"{rng.randrange(1, len(duty_numbers) + 1):02d}"
        script = CallerScript(digits=[code, str(rng.randrange(0, 6))])
        carrier.incoming_call(number, GOVERNOR_LINE, script)


def run_calls(
    carrier, duty_numbers, concurrency: int, seconds: float, first: int = 0, ramp: float = 0.0
) -> int:
    """Place calls from `concurrency` threads for `seconds`; return how many completed.

    With `ramp` > 0 each thread places its first call at a random moment of the first `ramp`
    seconds, so calls arrive spread out as live ones do, not all in the same instant.
    """
    done = []
    stop_at = time.monotonic() + seconds

    def caller(thread_index: int) -> None:
        rng = random.Random(thread_index)
        time.sleep(rng.uniform(0, ramp))
        count = 0
        while time.monotonic() < stop_at:
            place_call(carrier, f"+7916{thread_index:03d}{count:04d}", duty_numbers, rng)
            count += 1
        done.append(count)

    threads = [threading.Thread(target=caller, args=(first + i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done)


def run_bare(base_url: str, concurrency: int, seconds: float) -> int:
    """Hit the bare endpoint from `concurrency` threads for `seconds`; return the request count."""
    counts = []
    stop_at = time.monotonic() + seconds

    def hit() -> None:
        session, count = requests.Session(), 0
        while time.monotonic() < stop_at:
            session.get(base_url + "/bare/ping", timeout=10)
            count += 1
        counts.append(count)

    threads = [threading.Thread(target=hit) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default="postgresql://postgres@127.0.0.1:5432/hotline_bench_voice"
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--levels", default="1,10,25,50")
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument(
        "--pace",
        type=float,
        default=0.0,
        help="mean seconds between a call's webhooks (0: back to back)",
    )
    parser.add_argument(
        "--workers", type=int, help="gunicorn processes (default: deploy/gunicorn.conf.py's)"
    )
    parser.add_argument(
        "--threads", type=int, default=int(os.environ.get("WEB_THREADS", 4)), help="threads in each"
    )
    parser.add_argument(
        "--clients", type=int, default=4, help="client processes sharing the simulated calls"
    )
    args = parser.parse_args()

    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "PUBLIC_BASE_URL": base_url,
        "TELEPHONY": "sim",
        "TWILIO_NUMBER": GOVERNOR_LINE,
        "CALLER_RATE_LIMIT": "1000000/60",
        "HOTLINE_INSTANCE_DIR": "/tmp/hotline-bench-instance",
        "SECRET_KEY": "bench",
    }
    for name, value in (("WEB_CONCURRENCY", args.workers), ("WEB_THREADS", args.threads)):
        if value:
            env[name] = str(value)
    prepare_database(args.database_url, env)
    duty_numbers, phones = demo_numbers(env)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            str(ROOT / "deploy" / "gunicorn.conf.py"),
            "--bind",
            f"127.0.0.1:{port}",
            "--access-logfile",
            "/dev/null",
            "--log-level",
            "warning",
            "bench.bench_wsgi:app",
        ],
        env=env,
        cwd=ROOT,
    )
    try:
        wait_for(base_url + "/healthz")
        with ProcessPoolExecutor(args.clients) as pool:
            warm = [(base_url, phones, duty_numbers, 0.0, i * 4, 4, 6) for i in range(args.clients)]
            list(pool.map(drive, warm))  # warm every worker: imports, statement caches
            print(
                f"gunicorn {worker_count(server.pid)} workers x {args.threads} threads "
                f"(deploy/gunicorn.conf.py), PostgreSQL, {len(duty_numbers)} municipalities, "
                f"{len(phones)} officials; {args.clients} client processes; "
                f"pace {args.pace} s between a call's webhooks"
            )
            print(
                f"{'calls':>6} {'calls/s':>8} {'webhooks/s':>11} {'p50 ms':>7} {'p99 ms':>7} "
                f"{'max ms':>7} {'bare req/s':>11} {'ratio':>6}"
            )
            for level in [int(value) for value in args.levels.split(",")]:
                shares = [
                    level // args.clients + (i < level % args.clients) for i in range(args.clients)
                ]
                jobs = [
                    (base_url, phones, duty_numbers, args.pace, 1000 * (i + 1), share, args.seconds)
                    for i, share in enumerate(shares)
                    if share
                ]
                # the bare endpoint is measured just before and just after the webhooks, so a
                # drift in the shared machine's speed weighs on both sides of the ratio alike
                bare_seconds = args.seconds / 4
                before_bare = cpu_seconds(server.pid)
                bare_requests = run_bare(base_url, level, bare_seconds)
                before = cpu_seconds(server.pid)
                started = time.perf_counter()
                results = list(pool.map(drive, jobs))
                elapsed = time.perf_counter() - started
                after = cpu_seconds(server.pid)
                bare_requests += run_bare(base_url, level, bare_seconds)
                after_bare = cpu_seconds(server.pid)
                calls = sum(count for count, _ in results)
                durations = [value for _, values in results for value in values]
                bare = bare_requests / (2 * bare_seconds)
                bare_cpu = cpu_used((before_bare, before), (after, after_bare))
                webhooks_per_s = len(durations) / elapsed
                print(
                    f"{level:>6} {calls / elapsed:>8.1f} {webhooks_per_s:>11.1f} "
                    f"{percentile(durations, 0.5) * 1000:>7.1f} "
                    f"{percentile(durations, 0.99) * 1000:>7.1f} {max(durations) * 1000:>7.1f} "
                    f"{bare:>11.1f} {webhooks_per_s / bare:>6.2f}"
                )
                print(
                    f"{'':>6} CPU ms per webhook: "
                    f"{cpu_per_request(cpu_used((before, after)), len(durations))}"
                )
                print(
                    f"{'':>6} CPU ms per bare request: {cpu_per_request(bare_cpu, bare_requests)}"
                )
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
