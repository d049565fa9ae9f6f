"""Fixtures: the app on SQLite and (when TEST_DATABASE_URL is set) PostgreSQL, with a real Redis."""

import json
import logging
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import create_engine, event, text
from twilio.http import HttpClient
from twilio.http.response import Response
from werkzeug.serving import make_server

import core.clock
from config import BASE_DIR, normalize_database_url
from core import create_app
from core.extensions import db
from core.queue import redis_connection, redis_url_of, run_worker, start_embedded_redis
from core.telephony import get_gateway
from core.telephony.sim.rest_standin import TwilioStandin
from core.telephony.twilio_gateway import TwilioGateway

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


@pytest.fixture(scope="session")
def redis_url():
    """A real Redis: REDIS_URL when given (CI), otherwise an embedded one for the session."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    folder = tempfile.mkdtemp(prefix="hotline-redis-")
    server = start_embedded_redis(str(Path(folder) / "redis.db"))
    yield redis_url_of(server)
    server.shutdown(nosave=True)


def _reset_postgresql(url: str) -> None:
    engine = create_engine(normalize_database_url(url))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory):
    """An empty database of each backend, migrated to head once per session."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'hotline.db'}"
    else:
        url = os.environ["TEST_DATABASE_URL"]
        _reset_postgresql(url)
    app = create_app(_settings(url, None, tmp_path_factory.mktemp("instance")))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return url


def _settings(database_url: str, redis_url: str | None, instance: Path) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": normalize_database_url(database_url),
        "REDIS_URL": redis_url,
        "INSTANCE_DIR": str(instance),
        "EMBEDDED_REDIS_DB": str(instance / "redis.db"),
        "RATELIMIT_STORAGE_URI": "memory://",
    }


def _empty_database() -> None:
    tables = list(reversed(db.metadata.sorted_tables))
    if db.engine.dialect.name == "postgresql":
        names = ", ".join(table.name for table in tables)
        db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            db.session.execute(table.delete())
    db.session.commit()


@pytest.fixture
def app(database_url, redis_url, tmp_path):
    """The application on a clean database and a flushed Redis."""
    app = create_app(_settings(database_url, redis_url, tmp_path))
    app.test_client_class = RequestContextClient
    with app.app_context():
        redis_connection().flushdb()
        yield app
        db.session.rollback()
        _empty_database()
        db.engine.dispose()


class RequestContextClient(FlaskClient):
    """A test client whose every request has its own app context, as in production."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def work(app) -> None:
    """Run a real RQ worker in burst mode until the queue is empty."""
    db.session.commit()
    run_worker(app, burst=True)
    db.session.expire_all()


def csrf_token(html: str) -> str:
    """Return the CSRF token embedded in a rendered form."""
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def login(client, username: str, password: str = "password-123"):
    """Sign in through the login form, as a browser would."""
    page = client.get("/login")
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_token(page.text)},
    )


@pytest.fixture(autouse=True)
def _clock_is_moved_only_through_its_source():
    """Fail a test that replaces `core.clock.utcnow`: copies imported elsewhere would not follow."""
    original = core.clock.utcnow
    yield
    assert core.clock.utcnow is original, "move time with core.clock.now_source, not utcnow"


class Clock:
    """A clock tests move by hand; `core.clock.now_source` points to it."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock(monkeypatch):
    """A clock at the machine's time that the test moves by hand; every `utcnow()` follows it."""
    moving = Clock()
    monkeypatch.setattr(core.clock, "now_source", moving)
    return moving


CHROMIUM = "/usr/bin/chromium"
#: Screenshots of the browser tests (not committed).
ARTIFACTS = BASE_DIR / "test-artifacts"
#: Marks of a test module that drives Debian's Chromium through Playwright.
BROWSER_TEST = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is not installed"),
]


@pytest.fixture
def server(app):
    """The app served on 127.0.0.1 from a thread, for a real browser."""
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http.server_port}"
    http.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def browser():
    """Headless Chromium, with the flags this closed network needs."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh browser page that accepts downloads."""
    context = browser.new_context(accept_downloads=True)
    yield context.new_page()
    context.close()


def browser_login(page, server: str, username: str) -> None:
    """Sign in through the login form in the browser."""
    page.goto(f"{server}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "password-123")
    page.click("section.narrow button[type=submit]")


TWILIO_ACCOUNT = "AC" + "1" * 32
TWILIO_CALL_SID = "CA" + "a" * 32


class RecordingHttpClient(HttpClient):
    """Records every request Twilio's client makes and answers with canned JSON (or fails)."""

    def __init__(
        self, status: int = 201, body: dict | None = None, error: Exception | None = None
    ) -> None:
        super().__init__(logging.getLogger("recording"), is_async=False)
        self.requests: list[dict] = []
        self.status = status
        self.body = body
        self.error = error

    def request(self, method, uri, params=None, data=None, headers=None, auth=None, **kwargs):
        self.requests.append({"method": method, "url": uri, "data": dict(data or {})})
        if self.error is not None:
            raise self.error
        body = self.body
        if body is None:
            body = {"sid": TWILIO_CALL_SID, "status": "queued"}
            if uri.endswith("/Messages.json"):
                body = {"sid": f"SM{len(self.requests):032x}", "status": "queued"}
        return Response(self.status, json.dumps(body))


class TwilioByNumber(RecordingHttpClient):
    """Twilio that refuses SMS to one number for good, fails to another and takes the rest."""

    def __init__(
        self,
        refused: str,
        failing: str,
        refusal: tuple[int, dict] = (400, {"code": 21211, "message": "Invalid 'To' Phone Number"}),
        failure: tuple[int, dict] = (503, {"code": 20503, "message": "Service Unavailable"}),
    ) -> None:
        super().__init__()
        self.answers = {refused: refusal, failing: failure}

    def request(self, method, uri, params=None, data=None, headers=None, auth=None, **kwargs):
        self.status, self.body = self.answers.get((data or {}).get("To"), (201, None))
        return super().request(method, uri, params, data, headers, auth, **kwargs)


def use_twilio(app, http_client: HttpClient) -> TwilioGateway:
    """Make the app speak to Twilio through `http_client` (nothing leaves the machine)."""
    gateway = TwilioGateway(TWILIO_ACCOUNT, "secret", "+74872000000", http_client=http_client)
    app.extensions["telephony.gateway"] = gateway
    return gateway


#: The auth token of the account the `twilio_standin` fixture serves.
TWILIO_STANDIN_TOKEN = "standin-auth-token"
#: Seconds the app waits for the stand-in before a request ends as a timeout (tests stay fast).
TWILIO_STANDIN_TIMEOUT = 1.0


@pytest.fixture
def twilio_standin(app):
    """Twilio's REST API stand-in on 127.0.0.1, and the app on a real `TwilioGateway` against it.

    The account is TWILIO_ACCOUNT with TWILIO_STANDIN_TOKEN; the governor's line (TWILIO_NUMBER)
    is one of its incoming numbers, with no URLs set; requests time out after
    TWILIO_STANDIN_TIMEOUT seconds, and a "hang" fault lasts 5 s (stopping the stand-in ends it).
    """
    standin = TwilioStandin(TWILIO_ACCOUNT, TWILIO_STANDIN_TOKEN, hang_seconds=5).start()
    standin.add_number(app.config["TWILIO_NUMBER"])
    saved = {name: app.config.get(name) for name in _STANDIN_SETTINGS}
    previous = app.extensions.pop("telephony.gateway", None)
    app.config.update(
        TELEPHONY="twilio",
        TWILIO_ACCOUNT_SID=TWILIO_ACCOUNT,
        TWILIO_AUTH_TOKEN=TWILIO_STANDIN_TOKEN,
        TWILIO_API_BASE_URL=standin.base_url,
        TWILIO_HTTP_TIMEOUT=TWILIO_STANDIN_TIMEOUT,
    )
    get_gateway(app)  # built the way production builds it, from the settings
    try:
        yield standin
    finally:
        standin.stop()
        app.extensions.pop("telephony.gateway", None)
        if previous is not None:
            app.extensions["telephony.gateway"] = previous
        app.config.update(saved)


_STANDIN_SETTINGS = (
    "TELEPHONY",
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "TWILIO_API_BASE_URL",
    "TWILIO_HTTP_TIMEOUT",
)


def failing_twilio() -> RecordingHttpClient:
    """A Twilio REST endpoint that answers every request with a server error."""
    return RecordingHttpClient(500, {"code": 20500, "message": "Internal Server Error"})


def start_worker(app, stderr=subprocess.DEVNULL, **env: str) -> subprocess.Popen:
    """Start `flask worker` on the app's database and Redis, with `env` added to its environment.

    It runs in a session of its own: its scheduler is a forked child, so signal the process
    group (`os.killpg`) to stop both.
    """
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "worker"],
        cwd=BASE_DIR,
        env={
            **os.environ,
            "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "REDIS_URL": redis_url_of(redis_connection()),
            "HOTLINE_INSTANCE_DIR": app.config["INSTANCE_DIR"],
            "SECRET_KEY": app.config["SECRET_KEY"],
            **env,
        },
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        start_new_session=True,
    )


def unreachable_url() -> str:
    """Return a local URL nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@contextmanager
def carrier_down(app, kind: str):
    """Within the block the carrier fails: Twilio answers 500s, or the simulated one is away.

    Yields the recording Twilio client (None for the simulated carrier); restores the app after.
    """
    gateway = app.extensions.pop("telephony.gateway", None)
    attached = app.extensions.get("sim_carrier")
    url = app.config.get("SIM_CARRIER_URL")
    recorder = None
    if kind == "twilio":
        recorder = failing_twilio()
        use_twilio(app, recorder)
    else:
        app.extensions.pop("sim_carrier", None)
        app.config["SIM_CARRIER_URL"] = unreachable_url()
    try:
        yield recorder
    finally:
        app.extensions.pop("telephony.gateway", None)
        if gateway is not None:
            app.extensions["telephony.gateway"] = gateway
        if attached is not None:
            app.extensions["sim_carrier"] = attached
        app.config["SIM_CARRIER_URL"] = url


@contextmanager
def counted_statements():
    """Collect the SQL statements the block sends to the database (to catch a query per row)."""
    statements: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", note)


def statements_naming_actors(
    client, url: str, add_actor, counts: tuple[int, int] = (3, 10)
) -> tuple[list[str], list[str]]:
    """Return the SQL statements of a page showing three people's actions, then ten people's.

    `add_actor(index)` records one more person's action (or adds one more row) and returns
    the text the page must show for it; `counts` are the two sizes compared. Each counted
    load follows an uncounted one, and the page must show everything added so far.
    """
    names: list[str] = []
    loads: list[list[str]] = []
    for count in counts:
        while len(names) < count:
            names.append(add_actor(len(names)))
            db.session.commit()
        client.get(url)
        with counted_statements() as statements:
            text = client.get(url).text
        assert all(name in text for name in names)
        loads.append(statements)
    return loads[0], loads[1]
