"""The Content-Security-Policy runs only script files and tags carrying the request's nonce."""

import re

from flask import url_for

from core.extensions import db
from roster.demo import seed_demo
from roster.services import get_municipality
from tests.conftest import login
from tests.factories import make_card

DEMO_ROLES = ("operator", "official", "head", "manager", "admin")


def _script_policy(response) -> str:
    policy = response.headers["Content-Security-Policy"]
    return next(part for part in policy.split(";") if part.strip().startswith("script-src"))


def _check_page(response, url: str) -> None:
    """Assert the page runs no script the policy would not: no inline handlers, only nonced tags."""
    assert response.status_code == 200, url
    scripts = _script_policy(response)
    assert "'unsafe-inline'" not in scripts, url
    tags = re.findall(r"<script\b[^>]*>", response.text)
    if tags:
        nonce = re.search(r"'nonce-([^']+)'", scripts).group(1)
        assert all(f'nonce="{nonce}"' in tag for tag in tags), (url, tags)
    handlers = re.findall(r"<[a-zA-Z][^>]*\son[a-z]+\s*=[^>]*>", response.text)
    assert handlers == [], (url, handlers)
    assert "javascript:" not in response.text, url


def _menu(page: str) -> list[str]:
    menu = re.search(r'<nav class="menu">(.*?)</nav>', page, re.S).group(1)
    return re.findall(r'href="([^"]+)"', menu)


def test_the_script_policy_has_no_unsafe_inline_and_a_fresh_nonce(app, client):
    first, second = client.get("/login"), client.get("/login")
    assert "'unsafe-inline'" not in _script_policy(first)
    assert _script_policy(first).split() == ["script-src", "'self'"]  # the page has no script
    seed_demo()
    db.session.commit()
    login(client, "operator", "hotline-demo")
    console, again = client.get("/console/"), client.get("/console/")
    assert re.search(r"'nonce-[\w-]{20,}'", _script_policy(console))
    assert _script_policy(console) != _script_policy(again)
    assert second.status_code == 200


def test_every_main_page_keeps_its_scripts_in_files_or_nonced_tags(app):
    seed_demo()
    db.session.commit()
    tula = get_municipality("tula")
    card = make_card(tula, None, "+79001112233", "CA" + "5" * 32)
    with app.test_request_context():
        details = {
            "admin": [
                url_for("console.call", call_id=card.call_id),
                url_for("callbacks.card", card_id=card.id),
                url_for("roster.municipality", code="tula"),
                "/roster/tula/rotation/primary",
                url_for("reports.ranking"),
                url_for("reports.heatmap"),
                url_for("reports.operators"),
            ],
            "head": [url_for("callbacks.card", card_id=card.id)],
        }
    _check_page(app.test_client().get("/login"), "/login")
    seen = set()
    for role in DEMO_ROLES:
        client = app.test_client()
        assert login(client, role, "hotline-demo").status_code == 302, role
        home = client.get("/")
        _check_page(home, "/")
        for url in _menu(home.text) + details.get(role, []):
            _check_page(client.get(url, follow_redirects=True), f"{role} {url}")
            seen.add(url.split("?")[0])
    assert {"/console/", "/cabinet/", "/reports/"} <= seen, seen
