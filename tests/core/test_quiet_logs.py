"""An idle system logs little: one line per job, and no access-log line for polled pages."""

import logging
import os
import re
import signal
import subprocess
import sys
import time

import requests

from core.extensions import db
from core.jobs import record_worker_heartbeat
from core.queue import PERIODIC, get_queue, redis_connection, redis_url_of
from core.telephony.jobs import sweep_due_sms
from hotline.jobs import reconcile_calls
from tests.conftest import BASE_DIR, work
from tests.factories import make_user


def test_a_job_leaves_one_line_at_info(app, caplog):
    get_queue().enqueue(record_worker_heartbeat, "quiet")
    get_queue().enqueue(record_worker_heartbeat, "again")
    caplog.clear()
    with caplog.at_level(logging.INFO):
        work(app)
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert len(lines) == 2, lines
    assert all(
        re.fullmatch(r"job core\.jobs\.record_worker_heartbeat done in [\d.]+ s", line)
        for line in lines
    ), lines


def found_two() -> int:
    """A periodic job that found work."""
    return 2


def test_a_periodic_job_that_found_nothing_logs_at_debug(app, caplog):
    periodic = {"meta": {PERIODIC: True}}
    get_queue().enqueue(reconcile_calls, **periodic)
    get_queue().enqueue(sweep_due_sms, **periodic)
    get_queue().enqueue(found_two, **periodic)
    get_queue().enqueue(record_worker_heartbeat, "not periodic")
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="core.queue"):
        work(app)
    lines = {
        r.getMessage().split(" done")[0]: r.levelno
        for r in caplog.records
        if " done in " in r.getMessage()
    }
    assert lines == {
        "job hotline.jobs.reconcile_calls": logging.DEBUG,
        "job core.telephony.jobs.sweep_due_sms": logging.DEBUG,
        "job tests.core.test_quiet_logs.found_two": logging.INFO,
        "job core.jobs.record_worker_heartbeat": logging.INFO,
    }


def _serve(app) -> tuple[subprocess.Popen, str]:
    """Start gunicorn as `bin/run` does, on a free port; return it and its base URL."""
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            "127.0.0.1:0",
            "--workers",
            "1",
            "--no-control-socket",
            "--access-logfile",
            "-",
            "--logger-class",
            "core.access_log.QuietPollingLogger",
            "wsgi:app",
        ],
        cwd=BASE_DIR,
        env={
            **os.environ,
            "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "REDIS_URL": redis_url_of(redis_connection()),
            "HOTLINE_INSTANCE_DIR": app.config["INSTANCE_DIR"],
            "SECRET_KEY": app.config["SECRET_KEY"],
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = server.stderr.readline()
        found = re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", line)
        if found:
            return server, found.group(1)
        assert line or server.poll() is None, "gunicorn stopped before listening"
    raise AssertionError("gunicorn did not start listening within a minute")


def test_the_access_log_leaves_out_the_console_polling(app):
    make_user("olga", "operator")
    db.session.commit()
    server, base = _serve(app)
    try:
        browser = requests.Session()
        page = browser.get(f"{base}/login", timeout=30)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
        signed_in = browser.post(
            f"{base}/login",
            data={"username": "olga", "password": "password-123", "csrf_token": token},
            timeout=30,
        )
        assert signed_in.ok and browser.get(f"{base}/console/", timeout=30).ok
        for _ in range(5):
            assert 'id="queue-size"' in browser.get(f"{base}/console/queue", timeout=30).text
        assert browser.get(f"{base}/healthz", timeout=30).ok
        assert browser.get(f"{base}/phone/+79000000101", timeout=30).ok
        for _ in range(3):
            state = browser.get(f"{base}/phone/+79000000101/state", timeout=30)
            assert state.json()["state"] == "idle"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        access_log, _ = server.communicate(timeout=60)
    assert re.search(r'"GET /console/ HTTP', access_log), access_log
    assert re.search(r'"POST /login HTTP', access_log), access_log
    assert "/console/queue" not in access_log and "/healthz" not in access_log, access_log
    assert re.search(r'"GET /phone/\+79000000101 HTTP', access_log), access_log
    assert "/state" not in access_log, access_log
