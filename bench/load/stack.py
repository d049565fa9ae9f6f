"""The processes of one load run, started, broken and stopped by the harness (by PID)."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
AUTH_TOKEN = "load-auth-token"
GOVERNOR_LINE = "+74872000000"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Stack:
    """The processes of one run, each started and stopped by this harness (by PID)."""

    def __init__(self, args, workdir: Path):
        self.args = args
        self.workdir = workdir
        self.procs: dict[str, subprocess.Popen] = {}
        self.redis_port = free_port()
        self.web_port = free_port()
        self.base_url = f"http://127.0.0.1:{self.web_port}"
        self.pg_dir = workdir / "pg"
        self.pg_port = free_port()
        self.env = dict(os.environ)

    # --- PostgreSQL ---------------------------------------------------------------------

    def database_url(self) -> str:
        if self.args.fault == "postgres-restart":
            return f"postgresql://postgres@127.0.0.1:{self.pg_port}/hotline_load"
        return self.args.database_url

    def start_own_postgres(self) -> None:
        """initdb and start a cluster of this run's own (PostgreSQL refuses to run as root)."""
        bin_dir = sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1]
        self.pg_ctl = [str(bin_dir / "pg_ctl"), "-D", str(self.pg_dir)]
        self.workdir.chmod(0o755)  # the postgres user must reach its cluster folder
        self.pg_dir.mkdir()
        shutil.chown(self.pg_dir, "postgres", "postgres")
        self._as_postgres(
            [str(bin_dir / "initdb"), "-D", str(self.pg_dir), "-A", "trust", "-U", "postgres"]
        )
        self.pg_control("start")
        self._as_postgres(
            [
                str(bin_dir / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.pg_port),
                "-U",
                "postgres",
                "hotline_load",
            ]
        )

    def pg_control(self, action: str) -> None:
        options = f"-p {self.pg_port} -k /tmp -c listen_addresses=127.0.0.1"
        self._as_postgres(
            [
                *self.pg_ctl,
                "-o",
                options,
                "-w",
                "-m",
                "fast",
                "-l",
                str(self.pg_dir / "log"),
                action,
            ]
        )

    def _as_postgres(self, command: list[str]) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *command], check=True, stdout=subprocess.DEVNULL
        )

    def reset_machine_database(self) -> None:
        url = self.args.database_url
        admin, name = url.rsplit("/", 1)
        subprocess.run(
            [
                "psql",
                admin + "/postgres",
                "-q",
                "-c",
                f"DROP DATABASE IF EXISTS {name}",
                "-c",
                f"CREATE DATABASE {name}",
            ],
            check=True,
        )

    # --- the rest of the stack ------------------------------------------------------------

    def start_redis(self) -> None:
        self.procs["redis"] = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
        )
        self._wait_port(self.redis_port)

    def start(self, carrier_url: str, extra_env: dict | None = None) -> None:
        if self.args.fault == "postgres-restart":
            self.start_own_postgres()
        else:
            self.reset_machine_database()
        self.start_redis()
        self.env.update(
            {
                "DATABASE_URL": self.database_url(),
                "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
                "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
                "TWILIO_NUMBER": GOVERNOR_LINE,
                "PUBLIC_BASE_URL": self.base_url,
                "TELEPHONY": "sim",
                "SIM_CARRIER_URL": carrier_url,
                "CALLER_RATE_LIMIT": "1000000/60",
                # every head signs in from this one address here, not from their own office
                "LOGIN_RATE_LIMIT": "1000 per minute",
                "SECRET_KEY": "load-run",
                "HOTLINE_INSTANCE_DIR": str(self.workdir / "instance"),
                "BIND": f"127.0.0.1:{self.web_port}",
                "WEB_CONCURRENCY": str(self.args.web_workers),
                "LOG_FORMAT": "json",
                **(extra_env or {}),
            }
        )
        flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
        subprocess.run(
            [*flask, "db", "upgrade"], env=self.env, cwd=ROOT, check=True, capture_output=True
        )
        subprocess.run(
            [*flask, "seed-demo", "--history", "0"],
            env=self.env,
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        self.logs = open(self.workdir / "stack.log", "w")  # noqa: SIM115
        self.procs["web"] = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "wsgi:app"],
            env=self.env,
            cwd=ROOT,
            stdout=self.logs,
            stderr=subprocess.STDOUT,
        )
        for index in (1, 2):
            self.start_worker(index)
        self.procs["scheduler"] = subprocess.Popen(
            [*flask, "scheduler"],
            env=self.env,
            cwd=ROOT,
            stdout=self.logs,
            stderr=subprocess.STDOUT,
        )
        self._wait_http(self.base_url + "/readyz")

    def start_worker(self, index: int) -> None:
        self.procs[f"worker{index}"] = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "worker"],
            env=self.env,
            cwd=ROOT,
            stdout=self.logs,
            stderr=subprocess.STDOUT,
        )

    def restart_redis(self, down_seconds: float) -> None:
        process = self.procs.pop("redis")
        process.terminate()
        process.wait(timeout=10)
        time.sleep(down_seconds)
        self.start_redis()

    def kill_worker(self, index: int) -> None:
        self.procs.pop(f"worker{index}").send_signal(signal.SIGKILL)

    def stop(self) -> None:
        for process in reversed(list(self.procs.values())):
            if process.poll() is None:
                process.terminate()
        for process in self.procs.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        if self.args.fault == "postgres-restart" and (self.pg_dir / "postmaster.pid").exists():
            self.pg_control("stop")

    def _wait_port(self, port: int) -> None:
        for _ in range(100):
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    return
            time.sleep(0.1)
        raise SystemExit(f"nothing listens on {port}")

    def _wait_http(self, url: str) -> None:
        for _ in range(150):
            try:
                if requests.get(url, timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise SystemExit(f"{url} never became ready")


def inject_fault(fault: str | None, stack: Stack) -> None:
    """Once cards exist (their follow-ups are queued), break something of the stack's own."""
    if fault not in ("redis-restart", "worker-kill", "postgres-restart"):
        return
    import psycopg

    cards = 0
    for _ in range(600):
        with psycopg.connect(stack.database_url()) as conn:
            cards = conn.execute("SELECT count(*) FROM cards").fetchone()[0]
        if cards >= 5:
            break
        time.sleep(0.5)
    print(f"-- {fault} at {time.strftime('%H:%M:%S')}, {cards} cards open", flush=True)
    if fault == "redis-restart":
        stack.restart_redis(down_seconds=5)
    elif fault == "worker-kill":
        stack.kill_worker(1)
        time.sleep(2)
        stack.start_worker(1)
    else:
        stack.pg_control("restart")
