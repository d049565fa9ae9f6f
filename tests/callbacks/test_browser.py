"""A head in Chromium: the new card on top with its countdown, a callback, an outcome, a photo."""

import re
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from callbacks.models import Card
from config import BASE_DIR
from core.extensions import db
from core.telephony.sim import answers_and_presses
from tests.callbacks.conftest import CITIZEN, miss_call

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = BASE_DIR / "test-artifacts"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is not installed"),
]


@pytest.fixture
def server(app):
    """The app on 127.0.0.1 in a thread, with PUBLIC_BASE_URL pointing at it."""
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http.server_port}"
    http.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
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
        yield browser.new_page()
        browser.close()


def test_head_calls_back_and_records_the_outcome_with_a_photo(
    app, client, region, carrier, server, page, tmp_path
):
    older = miss_call(client, "CA0", from_="+79160000009")
    card = miss_call(client, "CA1")
    db.session.get(Card, older.id).callback_due_at = card.callback_due_at.replace(year=2099)
    region.head_a.locale = "ru"
    db.session.commit()
    official = region.a["supervisor"]  # head_a's own phone
    carrier.phone(official.phone, answers_and_presses("1", talk_seconds=40))
    carrier.phone(CITIZEN, answers_and_presses(None, talk_seconds=30))
    ARTIFACTS.mkdir(exist_ok=True)

    page.goto(f"{server}/login")
    page.fill("input[name=username]", "head_a")
    page.fill("input[name=password]", "password-123")
    page.click("section.narrow button[type=submit]")
    page.goto(f"{server}/cabinet/")
    first = page.locator("tr.card-row").first
    assert first.get_attribute("data-card") == str(card.id)
    countdown = first.locator(".countdown")
    page.wait_for_timeout(1100)
    assert re.fullmatch(r"\d+:\d\d:\d\d", countdown.inner_text())
    page.screenshot(path=str(ARTIFACTS / "cabinet.png"), full_page=True)

    first.locator("a").click()
    page.click("#call-back")
    assert "нажмите 1" in page.content()
    carrier.run_pending()
    page.reload()
    assert "перезвонили" in page.locator("h1").inner_text()
    page.screenshot(path=str(ARTIFACTS / "called-back.png"), full_page=True)

    page.select_option("#outcome-form select[name=code]", "fixed")
    page.fill("#outcome-form textarea[name=text]", "Яма на ул. Ленина заделана")
    page.click("#record-outcome")
    photo = tmp_path / "after.png"
    photo.write_bytes(PNG)
    page.select_option("#photo-form select[name=kind]", "after")
    page.set_input_files("#photo-form input[type=file]", str(photo))
    page.click("#upload-photo")
    assert page.locator(".photos img").count() == 1
    assert "Яма на ул. Ленина заделана" in page.content()
    page.screenshot(path=str(ARTIFACTS / "outcome.png"), full_page=True)
    db.session.expire_all()
    card = db.session.get(Card, card.id)
    assert card.state == "called_back" and card.appeal.status == "resolved"
    assert len(card.photos) == 1
