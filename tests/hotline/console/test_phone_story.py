"""The demo's whole story in Chromium, played by hand across tabs on the carrier service."""

from callbacks.models import Card
from core.extensions import db
from core.telephony.sim.client import RemoteCarrier
from hotline.models import Call
from tests.conftest import ARTIFACTS, BROWSER_TEST, browser_login
from tests.factories import make_user
from tests.hotline.conftest import CITIZEN, GOVERNOR_LINE
from tests.hotline.console.conftest import OPERATOR_PHONE
from tests.hotline.console.test_browser import fill_appeal
from tests.hotline.console.test_live_carrier import served, service, wait_for

SHOT = ARTIFACTS / "phones"
#: Milliseconds a tab waits for the carrier (a person at a Gather has 15 s).
WAIT = 20_000

pytestmark = BROWSER_TEST

__all__ = ["served", "service"]


def shot(page, name: str) -> None:
    SHOT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOT / f"{name}.png"), full_page=True)


def signed_in(browser, server: str, username: str):
    """A browser context of its own, signed in as `username`; return its first page."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    browser_login(page, server, username)
    return page


def phone(context_page, server: str, number: str):
    """Open the phone page of `number` in a new tab of the same person; it holds the number."""
    page = context_page.context.new_page()
    page.goto(f"{server}/phone/{number}")
    page.wait_for_selector("#handset[data-state=idle]", timeout=WAIT)
    return page


def rings_and_answers(page, whisper_words: str) -> None:
    """The phone rings; the person answers, hears the whisper and presses 1."""
    page.wait_for_selector("#handset[data-state=ringing]", timeout=WAIT)
    page.click("#answer")
    page.wait_for_selector(f"#prompts li:has-text('{whisper_words}')", timeout=WAIT)
    page.click("#keypad .key[data-key='1']")


def live_call(page, server: str, dial: str, operator_phone: str = OPERATOR_PHONE) -> None:
    """The citizen calls `dial` from the web phone; the tab becomes her phone."""
    page.goto(f"{server}/phone/")
    assert page.query_selector(f"#demo-phones a[data-number='{operator_phone}']")
    shot(page, f"0-web-phone-{dial}")
    page.fill("#live-caller", CITIZEN)
    page.select_option("#live-dial", dial)
    page.click("#live-call button[type=submit]")
    page.wait_for_selector("#handset", timeout=WAIT)
    assert CITIZEN in page.inner_text("h1")


def test_the_story_played_by_hand_operator_primary_card_and_a_callback_the_citizen_answers(
    app, operator, region, service, served, browser
):
    head = make_user("galina", "head", region.place)
    region.supervisor.user_id = head.id
    db.session.commit()
    console = signed_in(browser, served, "olga")
    console.goto(f"{served}/console/")
    console.fill("#endpoint", OPERATOR_PHONE)  # her phone is scripted: answers at once
    console.uncheck("#ready")  # not ready: she takes the call by hand, as a supervisor does
    console.click("#start-shift")
    primary = phone(console, served, region.primary.phone)
    caller = console.context.new_page()

    # a citizen phones the line; the operator takes her and connects her
    live_call(caller, served, GOVERNOR_LINE)
    caller.wait_for_selector("#prompts li", timeout=WAIT)
    console.wait_for_selector("tr.queued-call", timeout=WAIT)
    shot(console, "1-queue")
    console.click("tr.queued-call button.take")
    console.wait_for_selector("#appeal-form")
    taken = wait_for(lambda: (call := _last_call()).operator_answered_at and call, "operator")
    assert caller.wait_for_selector("#prompts li:has-text('Соединяем вас с оператором')")
    fill_appeal(console, region, region.water)
    console.click("#connect-now")
    console.wait_for_selector("#appeal-number", timeout=WAIT)

    # the primary's phone rings in its tab, presses 1, and they are bridged
    rings_and_answers(primary, "Нажмите 1")
    primary.wait_for_selector("#handset[data-bridged=true]", timeout=WAIT)
    caller.wait_for_selector("#handset[data-bridged=true]", timeout=WAIT)
    assert "Соединено" in caller.inner_text("#phone-state")
    shot(primary, "2-primary-bridged")
    shot(caller, "2-caller-bridged")
    caller.click("#hangup")
    caller.wait_for_selector("#handset[data-state=ended]", timeout=WAIT)
    first = wait_for(lambda: (call := _last_call()).outcome and call, "the first call ended")
    assert first.id == taken.id and first.outcome == "connected"
    assert [(a.role, a.outcome) for a in first.attempts] == [("primary", "accepted")]

    # a second call nobody accepts makes a card
    remote = RemoteCarrier(service.url)
    for official in (region.backup, region.supervisor):
        remote.phone(official.phone, "no_answer")
    live_call(caller, served, region.place.duty_number)
    primary.wait_for_selector("#handset[data-state=ringing]", timeout=WAIT)
    primary.click("#reject")
    caller.wait_for_selector("#handset[data-state=ended]", timeout=WAIT)
    shot(caller, "3-caller-nobody-accepted")
    card = wait_for(lambda: db.session.scalar(db.select(Card)), "the card is opened")
    assert card.state == "new"

    # the head calls back from her cabinet: her phone rings, then the citizen's
    cabinet = signed_in(browser, served, "galina")
    own = phone(cabinet, served, region.supervisor.phone)
    cabinet.goto(f"{served}/cabinet/cards/{card.id}")
    cabinet.select_option("#callback-form select#official", str(region.supervisor.id))
    cabinet.click("#callback-form button[type=submit]")
    rings_and_answers(own, "Нажмите 1, чтобы позвонить гражданину")
    caller.wait_for_selector("#handset[data-state=ringing]", timeout=WAIT)
    caller.click("#answer")
    caller.wait_for_selector("#handset[data-bridged=true]", timeout=WAIT)
    own.wait_for_selector("#handset[data-bridged=true]", timeout=WAIT)
    shot(own, "4-head-bridged")
    caller.wait_for_timeout(1200)  # they talk
    caller.click("#hangup")
    own.wait_for_selector("#handset[data-state=ended]", timeout=WAIT)

    card = wait_for(
        lambda: (found := db.session.get(Card, card.id)).state == "called_back" and found,
        "the callback reached the citizen",
    )
    assert [a.outcome for a in card.callbacks] == ["answered"]
    cabinet.reload()
    shot(cabinet, "5-card-called-back")
    text = cabinet.content()
    assert card.appeal.number in text and "перезвонили" in text


def _last_call() -> Call:
    return db.session.scalar(db.select(Call).order_by(Call.id.desc()))


def test_an_offered_call_rings_in_the_console_is_answered_registered_and_sent_to_the_chain(
    app, operator, region, service, served, browser
):
    make_user("boss", "manager")
    db.session.commit()
    console = signed_in(browser, served, "olga")
    console.goto(f"{served}/console/")
    console.fill("#endpoint", "client:operator-olga")  # the console's own softphone
    assert console.is_checked("#ready")
    console.click("#start-shift")
    console.wait_for_selector("#softphone[data-state=idle]", timeout=WAIT)
    shot(console, "6-console-ready")
    primary = phone(console, served, region.primary.phone)
    caller = console.context.new_page()

    # the citizen phones the line: the call rings in the console, nobody clicks "take"
    live_call(caller, served, GOVERNOR_LINE, "client:operator-olga")
    console.bring_to_front()
    console.wait_for_selector("#softphone[data-state=ringing]", timeout=WAIT)
    assert console.query_selector("button.take") is None
    shot(console, "7-call-rings-in-console")
    console.click("#sp-answer")
    console.wait_for_selector("#softphone[data-state=on-call]", timeout=WAIT)
    answered = wait_for(lambda: (call := _last_call()).operator_answered_at and call, "answered")
    assert answered.operator_id == operator.id
    console.click("#active-call a")
    console.wait_for_selector("#appeal-form", timeout=WAIT)
    fill_appeal(console, region, region.water)
    console.click("#connect-now")  # registered and sent into the duty chain
    console.wait_for_selector("#appeal-number", timeout=WAIT)
    rings_and_answers(primary, "Нажмите 1")
    caller.wait_for_selector("#handset[data-bridged=true]", timeout=WAIT)
    shot(console, "8-sent-to-the-duty-chain")
    call = wait_for(lambda: (c := _last_call()).chain_started_at and c, "the chain started")
    assert call.appeal is not None and call.id == answered.id

    board = signed_in(browser, served, "boss")
    board.goto(f"{served}/console/wallboard")
    assert board.inner_text("[data-figure='today.offered']") == "1"
    assert board.inner_text("[data-figure='today.answered']") == "1"
    shot(board, "9-wallboard")
