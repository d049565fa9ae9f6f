"""A head in Chromium: the new card on top with its countdown, a callback, an outcome, a photo."""

import re

from callbacks.models import Card
from core.extensions import db
from core.telephony.sim import answers_and_presses
from tests.callbacks.conftest import CITIZEN, miss_call
from tests.conftest import ARTIFACTS, BROWSER_TEST, browser_login
from tests.factories import make_photo

PNG = make_photo()

pytestmark = BROWSER_TEST


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

    browser_login(page, server, "head_a")
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
    assert "Яма на ул. Ленина заделана" in page.locator("#outcome").inner_text()
    assert "результат записан" in page.locator("h1").inner_text()
    assert page.locator(".countdown").count() == 0
    page.screenshot(path=str(ARTIFACTS / "outcome.png"), full_page=True)
    db.session.expire_all()
    card = db.session.get(Card, card.id)
    assert card.state == "closed" and card.appeal.status == "resolved"
    assert len(card.photos) == 1


def test_a_head_plays_the_voice_message_and_another_municipality_gets_404(
    app, region, carrier, server, browser
):
    from core.telephony.sim import CallerScript
    from hotline.models import Call
    from tests.callbacks.conftest import ALPHA_LINE

    sim_call = carrier.incoming_call(CITIZEN, ALPHA_LINE, CallerScript(message_seconds=6))
    db.session.expire_all()
    call = db.session.scalar(db.select(Call).where(Call.call_sid == sim_call.sid))
    card = db.session.scalar(db.select(Card).where(Card.call_id == call.id))
    region.head_a.locale = "ru"
    db.session.commit()
    audio_url = f"{server}/cabinet/cards/{card.id}/recording"

    head = browser.new_context()
    page = head.new_page()
    console = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    browser_login(page, server, "head_a")
    page.goto(f"{server}/cabinet/cards/{card.id}")
    player = page.locator("audio#voice-message")
    assert player.get_attribute("src") == f"/cabinet/cards/{card.id}/recording"
    page.wait_for_function(
        "document.querySelector('audio#voice-message').readyState >= 1", timeout=20000
    )
    duration = page.evaluate("document.querySelector('audio#voice-message').duration")
    assert 5 < duration < 7
    page.evaluate("document.querySelector('audio#voice-message').currentTime = 4")
    page.wait_for_function(
        "document.querySelector('audio#voice-message').currentTime >= 4", timeout=20000
    )
    page.screenshot(path=str(ARTIFACTS / "voice-message.png"), full_page=True)
    assert not [line for line in console if "Content Security Policy" in line], console
    head.close()

    other = browser.new_context()
    page = other.new_page()
    browser_login(page, server, "head_b")
    assert page.request.get(audio_url).status == 404
    assert page.goto(f"{server}/cabinet/cards/{card.id}").status == 404
    other.close()
