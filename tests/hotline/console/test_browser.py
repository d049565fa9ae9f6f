"""An operator in Chromium: the live queue, taking a call, registering, connecting, searching."""

from callbacks.models import Card
from core.extensions import db
from core.telephony.sim import answers_and_presses
from hotline.models import Appeal
from hotline.prompts import spoken_number
from tests.conftest import ARTIFACTS, BROWSER_TEST, browser_login
from tests.factories import make_user
from tests.hotline.conftest import CITIZEN
from tests.hotline.console.conftest import OPERATOR_PHONE, call_in, stored

SHOT = ARTIFACTS / "console"

pytestmark = BROWSER_TEST


def signed_in(browser, server, username: str):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    browser_login(page, server, username)
    return page


def shot(page, name: str) -> None:
    SHOT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOT / f"{name}.png"), full_page=True)


def on_shift_with_a_caller(browser, server, carrier):
    """The operator starts a shift, a citizen calls, appears live and is taken."""
    page = signed_in(browser, server, "olga")
    page.goto(f"{server}/console/")
    page.fill("#endpoint", OPERATOR_PHONE)
    page.uncheck("#ready")  # not ready: the call is taken by hand, as a supervisor does
    page.click("#start-shift")
    assert "На смене" in page.content()
    sim_call = call_in(carrier)
    row = page.wait_for_selector("tr.queued-call", timeout=10_000)  # no reload: polled
    assert CITIZEN in row.inner_text()
    shot(page, "queue")
    page.click("tr.queued-call button.take")
    page.wait_for_selector("#appeal-form")
    carrier.run_pending()  # the caller is put through to the operator's phone
    assert stored(sim_call).operator_answered_at is not None
    return page, sim_call


def fill_appeal(page, region, category) -> None:
    page.fill("#municipality", region.place.name)
    page.wait_for_selector("#responsible .slot[data-role=primary]")
    page.select_option("#category", str(category.id))
    page.fill("#address", "ул. Ленина, 5")
    page.fill("#text", "Нет воды во всём доме с утра")
    page.fill("#caller_name", "Иван Петров")


def test_operator_takes_registers_and_connects_the_primary_accepts(
    app, operator, region, carrier, server, browser
):
    carrier.phone(region.primary.phone, answers_and_presses("1"))
    page, sim_call = on_shift_with_a_caller(browser, server, carrier)
    fill_appeal(page, region, region.water)
    assert page.input_value("#urgency") == "emergency"  # preset from the category
    responsible = page.inner_text("#responsible")
    assert region.primary.full_name in responsible and region.primary.phone in responsible
    assert region.supervisor.full_name in responsible
    shot(page, "register")
    page.click("#connect-now")
    page.wait_for_selector("#appeal-number")
    carrier.run_pending()  # the caller goes into the duty chain
    page.wait_for_selector("tr.attempt.accepted", timeout=10_000)  # shown live
    assert region.primary.full_name in page.inner_text("#chain-progress")
    page.wait_for_selector("#call-outcome")
    shot(page, "connected")
    call = stored(sim_call)
    assert call.outcome == "connected" and call.appeal.status == "in_work"
    assert [leg.number for leg in sim_call.transcript.dialled] == [
        OPERATOR_PHONE,
        region.primary.phone,
    ]


def test_nobody_accepts_and_the_card_reaches_the_heads_cabinet(
    app, operator, region, carrier, server, browser
):
    make_user("hugo", "head", region.place)
    page, sim_call = on_shift_with_a_caller(browser, server, carrier)
    fill_appeal(page, region, region.roads)
    page.click("#connect-now")
    page.wait_for_selector("#appeal-number")
    carrier.run_pending()
    page.wait_for_selector("#call-outcome", timeout=10_000)
    assert page.locator("tr.attempt").count() == 3
    assert page.locator("tr.attempt.accepted").count() == 0
    shot(page, "nobody-accepted")
    appeal = stored(sim_call).appeal
    assert appeal.status == "missed"
    head = signed_in(browser, server, "hugo")
    head.goto(f"{server}/cabinet/")
    card = db.session.scalar(db.select(Card).where(Card.appeal_id == appeal.id))
    assert head.locator(f"tr.card-row[data-card='{card.id}']").count() == 1
    assert CITIZEN in head.inner_text(f"tr.card-row[data-card='{card.id}']")


def test_register_only_with_field_errors_first_then_search_finds_it(
    app, operator, region, carrier, server, browser
):
    make_user("hugo", "head", region.place)
    page, sim_call = on_shift_with_a_caller(browser, server, carrier)
    page.fill("#text", "Яма на дороге")
    page.fill("#callback_number", "12345")
    page.click("#register-only")
    assert page.is_visible("#municipality-error") and page.is_visible("#callback_number-error")
    assert page.get_attribute("#callback_number", "aria-invalid") == "true"
    shot(page, "field-errors")
    assert db.session.scalar(db.select(Appeal)) is None

    fill_appeal(page, region, region.roads)
    page.fill("#callback_number", "8 916 123-45-67")
    page.click("#register-only")
    number = page.inner_text("#appeal-number")
    assert number in page.inner_text(".flash")
    carrier.run_pending()  # the caller hears the number and the call ends
    assert any(spoken_number(number) in said for said in sim_call.transcript.said)
    shot(page, "registered-only")
    appeal = db.session.scalar(db.select(Appeal).where(Appeal.number == number))
    assert appeal.caller_number == CITIZEN and appeal.status == "in_work"

    head = signed_in(browser, server, "hugo")
    head.goto(f"{server}/cabinet/")
    card = db.session.scalar(db.select(Card).where(Card.appeal_id == appeal.id))
    assert head.locator(f"tr.card-row[data-card='{card.id}']").count() == 1

    page.goto(f"{server}/console/search")
    page.fill("#number", number)
    page.click("#search")
    assert page.locator("tr.result").count() == 1
    page.goto(f"{server}/console/search")
    page.fill("#address", "Ленина")
    page.select_option("#municipality", str(region.place.id))
    page.click("#search")
    assert number in page.inner_text("table.results")
    shot(page, "search")
