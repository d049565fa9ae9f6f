"""Start-up: production refuses demo settings in one line, and every URL follows the served port."""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest
import requests
from flask.cli import run_command

from config import BASE_DIR, StartupError, load_config, translation_directories
from core import create_app
from core.cli import children_environment
from core.extensions import babel
from tests.conftest import csrf_token, login
from tests.factories import make_user

#: A production environment that starts: every setting at a real (made-up) value.
PRODUCTION = {
    "HOTLINE_ENV": "production",
    "SECRET_KEY": "5f" * 32,
    "PUBLIC_BASE_URL": "https://hotline.example.org",
    "TELEPHONY": "twilio",
    "TWILIO_ACCOUNT_SID": "AC" + "0123456789abcdef" * 2,
    "TWILIO_AUTH_TOKEN": "a4b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6",
    "METRICS_TOKEN": "9c" * 16,
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_production_environment_with_real_settings_starts():
    settings = load_config(PRODUCTION)
    assert settings["PUBLIC_BASE_URL"] == "https://hotline.example.org"
    assert settings["TWILIO_AUTH_TOKEN"] == PRODUCTION["TWILIO_AUTH_TOKEN"]


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"PUBLIC_BASE_URL": None}, "PUBLIC_BASE_URL"),
        ({"PUBLIC_BASE_URL": "http://hotline.example.org"}, "PUBLIC_BASE_URL"),
        ({"PUBLIC_BASE_URL": "https://"}, "PUBLIC_BASE_URL"),
        ({"TWILIO_AUTH_TOKEN": None}, "TWILIO_AUTH_TOKEN"),
        ({"TWILIO_AUTH_TOKEN": ""}, "TWILIO_AUTH_TOKEN"),
        ({"TWILIO_AUTH_TOKEN": "sim-auth-token"}, "TWILIO_AUTH_TOKEN"),
        ({"TWILIO_AUTH_TOKEN": "change-me"}, "TWILIO_AUTH_TOKEN"),
        ({"TWILIO_ACCOUNT_SID": None}, "TWILIO_ACCOUNT_SID"),
        ({"TWILIO_ACCOUNT_SID": "AC" + "0" * 32}, "TWILIO_ACCOUNT_SID"),
        ({"TWILIO_ACCOUNT_SID": "AC" + "x" * 32}, "TWILIO_ACCOUNT_SID"),
        ({"TELEPHONY": "sim"}, "HOTLINE_DEMO"),
        ({"TELEPHONY": "sim", "HOTLINE_DEMO": "0"}, "HOTLINE_DEMO"),
        ({"TELEPHONY": "asterisk"}, "TELEPHONY"),
        ({"SECRET_KEY": "change-me-to-64-random-hex-characters"}, "SECRET_KEY"),
        ({"SECRET_KEY": None}, "SECRET_KEY"),
        ({"METRICS_TOKEN": "change-me"}, "METRICS_TOKEN"),
    ],
    ids=lambda value: str(value) if isinstance(value, str) else None,
)
def test_production_refuses_a_demo_value_in_one_line_naming_the_setting(changes, named):
    env = {**PRODUCTION, **changes}
    env = {name: value for name, value in env.items() if value is not None}

    with pytest.raises(StartupError, match=named) as refused:
        load_config(env)

    assert "\n" not in str(refused.value)


def test_a_production_demo_may_run_on_the_simulated_carrier():
    env = {**PRODUCTION, "TELEPHONY": "sim", "HOTLINE_DEMO": "1"}
    del env["TWILIO_ACCOUNT_SID"]  # the simulated carrier needs no Twilio account

    settings = load_config(env)

    assert settings["TELEPHONY"] == "sim" and settings["HOTLINE_DEMO"] is True


def test_create_app_refuses_a_webhook_token_everyone_knows(monkeypatch, tmp_path):
    for name, value in {**PRODUCTION, "HOTLINE_INSTANCE_DIR": str(tmp_path)}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("TWILIO_AUTH_TOKEN")

    with pytest.raises(StartupError, match="TWILIO_AUTH_TOKEN"):
        create_app()


def test_the_app_refused_at_start_says_why_in_one_line(tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("TWILIO_AUTH_TOKEN", "DATABASE_URL")},
        **PRODUCTION,
        "HOTLINE_INSTANCE_DIR": str(tmp_path),
        "TWILIO_AUTH_TOKEN": "sim-auth-token",
    }

    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "routes"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "hotline cannot start: TWILIO_AUTH_TOKEN must be set to the Twilio account's auth token "
        "when HOTLINE_ENV=production (the default is public: anyone could sign webhooks with it)"
    ]


def test_in_a_production_demo_the_web_phone_is_for_admins_only(app):
    demo = create_app(
        {
            **app.config,
            **PRODUCTION,
            "TELEPHONY": "sim",
            "HOTLINE_DEMO": True,
            "SESSION_COOKIE_SECURE": False,  # the test client speaks plain HTTP
        }
    )
    demo.test_client_class = app.test_client_class
    make_user("olga", "operator")
    make_user("root", "admin")
    operator, admin = demo.test_client(), demo.test_client()
    login(operator, "olga")
    login(admin, "root")

    refused = operator.get("/phone/")
    allowed = admin.get("/phone/")

    assert refused.status_code == 403
    assert "только администраторам" in refused.text
    assert allowed.status_code == 200 and 'href="/phone/"' in allowed.text
    assert 'href="/phone/"' not in operator.get("/").text


def test_in_development_everyone_signed_in_may_use_the_web_phone(client):
    make_user("olga", "operator")
    login(client, "olga")

    assert client.get("/phone/").status_code == 200


# --- the public address follows the port served ----------------------------------------------


def test_start_gives_every_child_the_address_it_serves():
    env = children_environment({"PATH": "/bin"}, "127.0.0.1", 5201, "unix:///tmp/r.sock")

    assert env["PUBLIC_BASE_URL"] == "http://127.0.0.1:5201"
    assert env["REDIS_URL"] == "unix:///tmp/r.sock" and env["PATH"] == "/bin"
    assert load_config(env)["PUBLIC_BASE_URL"] == "http://127.0.0.1:5201"


def test_start_on_every_interface_links_to_this_machine():
    env = children_environment({}, "0.0.0.0", 8080, "redis://r")

    assert env["PUBLIC_BASE_URL"] == "http://127.0.0.1:8080"


def test_start_keeps_a_public_base_url_set_explicitly():
    explicit = {"PUBLIC_BASE_URL": "https://hotline.example.org"}

    env = children_environment(explicit, "127.0.0.1", 5201, "redis://r")

    assert env["PUBLIC_BASE_URL"] == "https://hotline.example.org"


def test_flask_run_port_is_the_public_address_when_none_is_set():
    with click.Context(run_command, info_name="run") as ctx:
        ctx.params = {"host": "127.0.0.1", "port": 5202}
        served = load_config({})["PUBLIC_BASE_URL"]
        explicit = load_config({"PUBLIC_BASE_URL": "https://x.example.org"})["PUBLIC_BASE_URL"]

    assert served == "http://127.0.0.1:5202"
    assert explicit == "https://x.example.org"
    assert load_config({})["PUBLIC_BASE_URL"] == "http://127.0.0.1:5000"  # outside `flask run`


def test_in_production_flask_run_does_not_stand_in_for_public_base_url():
    env = {key: value for key, value in PRODUCTION.items() if key != "PUBLIC_BASE_URL"}
    with click.Context(run_command, info_name="run") as ctx:
        ctx.params = {"host": "127.0.0.1", "port": 5202}
        with pytest.raises(StartupError, match="PUBLIC_BASE_URL .* not set"):
            load_config(env)


def _environment_of_a_fresh_instance(instance) -> dict:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("HOTLINE_", "TWILIO_", "PUBLIC_", "FLASK_"))
        and name not in ("REDIS_URL", "DATABASE_URL", "TELEPHONY", "SECRET_KEY", "PORT")
    }
    return {**env, "HOTLINE_INSTANCE_DIR": str(instance), "PYTHONUNBUFFERED": "1"}


def _wait_for(url: str, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server stopped"
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.5)
    raise AssertionError(f"{url} did not answer in {timeout} s")


def _signed_in(base: str, username: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/login")
    session.post(
        f"{base}/login",
        data={
            "username": username,
            "password": "hotline-demo",
            "csrf_token": csrf_token(page.text),
        },
    )
    return session


def test_flask_start_on_a_port_sends_sms_that_link_to_that_port(tmp_path):
    from roster.demo import demo_duty_number

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(tmp_path / "start.log", "w")  # noqa: SIM115  (closed at the end)
    start = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "start", "--port", str(port)],
        cwd=BASE_DIR,
        env=_environment_of_a_fresh_instance(tmp_path / "instance"),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: web, worker and scheduler stop with it
    )
    try:
        _wait_for(f"{base}/healthz", start)
        operator = _signed_in(base, "operator")
        page = operator.get(f"{base}/phone/")
        nobody_answers = {role: "no_answer" for role in ("primary", "backup", "supervisor")}
        placed = operator.post(
            f"{base}/phone/",
            data={
                "csrf_token": csrf_token(page.text),
                "caller": "+79161234567",
                "dial": demo_duty_number(1),  # Tula, whose head is the demo `head`
                **nobody_answers,
            },
        )
        assert placed.status_code == 200
        head = _signed_in(base, "head")
        links: list[str] = []
        # the chain rings three phones on the carrier's own clock and the worker first works
        # through the demo's roster jobs: on a loaded machine that takes over a minute
        deadline = time.monotonic() + 240
        while not links and time.monotonic() < deadline:  # the worker sends the SMS
            cards = re.findall(r"/cabinet/cards/(\d+)", head.get(f"{base}/cabinet/").text)
            if cards:
                card = head.get(f"{base}/cabinet/cards/{cards[0]}").text
                links = re.findall(r"https?://[^\s<\"]+/cabinet/cards/\d+", card)
            time.sleep(0.5)
    finally:
        os.killpg(start.pid, signal.SIGTERM)
        try:
            start.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(start.pid, signal.SIGKILL)
            start.wait()
        log.close()

    assert links, (tmp_path / "start.log").read_text()[-3000:]
    assert set(links) == {f"{base}/cabinet/cards/{cards[0]}"}


# --- message catalogs are compiled before the first page ---------------------------------------


@pytest.fixture
def catalogs(app, tmp_path):
    """A copy of every package's translations/ folder with its .po only, as in a fresh clone."""
    babel.domain_instance.cache.clear()  # as in a new process: no translations read yet
    folders = []
    for folder in translation_directories():
        copy = tmp_path / "catalogs" / Path(folder).parent.name
        shutil.copytree(folder, copy, ignore=shutil.ignore_patterns("*.mo"))
        folders.append(copy)
    return folders


def _app_on(app, folders):
    fresh = create_app({**app.config, "BABEL_TRANSLATION_DIRECTORIES": ";".join(map(str, folders))})
    fresh.test_client_class = app.test_client_class
    return fresh


def test_a_checkout_without_compiled_catalogs_serves_russian(app, catalogs):
    assert not list(catalogs[0].glob("*/LC_MESSAGES/*.mo"))

    page = _app_on(app, catalogs).test_client().get("/login")

    assert '<html lang="ru">' in page.text
    assert ">Вход<" in page.text and "Sign in" not in page.text
    assert all((folder / "ru/LC_MESSAGES/messages.mo").exists() for folder in catalogs)


def test_a_catalog_older_than_its_po_is_compiled_again(app, catalogs):
    core = next(folder for folder in catalogs if folder.name == "core")
    po = core / "ru/LC_MESSAGES/messages.po"
    _app_on(app, catalogs)
    po.write_text(
        po.read_text(encoding="utf-8").replace('msgstr "Вход"', 'msgstr "Вход в кабинет"'),
        encoding="utf-8",
    )
    later = po.stat().st_mtime + 5
    os.utime(po, (later, later))  # edited after the last compile

    page = _app_on(app, catalogs).test_client().get("/login")

    assert ">Вход в кабинет<" in page.text


def test_a_catalog_that_cannot_be_written_stops_the_start_naming_the_command(app, catalogs):
    core = next(folder for folder in catalogs if folder.name == "core")
    blocked = core / "ru/LC_MESSAGES/messages.mo"
    blocked.mkdir()  # the .mo cannot be written there (even by root, unlike a read-only folder)
    po = core / "ru/LC_MESSAGES/messages.po"
    os.utime(blocked, (po.stat().st_mtime - 5,) * 2)

    with pytest.raises(StartupError, match="run bin/setup") as refused:
        _app_on(app, catalogs)

    assert "\n" not in str(refused.value) and str(blocked) in str(refused.value)


def test_flask_run_on_a_port_builds_its_urls_on_that_port(tmp_path):
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    run = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "run", "--port", str(port)],
        cwd=BASE_DIR,
        env=_environment_of_a_fresh_instance(tmp_path / "instance"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait_for(f"{base}/healthz", run)
        discovery = requests.get(f"{base}/open311/v2/discovery.json", timeout=10).json()
    finally:
        os.killpg(run.pid, signal.SIGTERM)
        run.wait(timeout=30)

    assert discovery["endpoints"][0]["url"] == f"{base}/open311/v2"
