"""Officials' and heads' pages on a 360×740 phone: no sideways scroll, the next step first."""

import pytest

from callbacks.models import Card
from core.extensions import db
from tests.callbacks.conftest import miss_call
from tests.conftest import ARTIFACTS, BROWSER_TEST, browser_login

pytestmark = BROWSER_TEST

PHONE = {"width": 360, "height": 740}

#: Visible controls a finger must hit that are shorter than 44 px.
SMALL_TARGETS = """() => [...document.querySelectorAll(
    'button, select, input:not([type=hidden]):not([type=checkbox]), summary, .menu-button, .menu a'
  )].filter(e => e.offsetParent !== null)
  .filter(e => e.getBoundingClientRect().height < 44)
  .map(e => e.outerHTML.slice(0, 80))"""


def _fits(page, name: str) -> None:
    """Keep a screenshot; the page never scrolls sideways and its controls are finger-sized."""
    page.screenshot(path=str(ARTIFACTS / f"mobile-{name}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], name
    assert page.evaluate(SMALL_TARGETS) == [], name


#: The most bytes one asset of an official's page may weigh (a slow phone loads them all).
ASSET_LIMIT = 20_000
TIMINGS = """() => [performance.getEntriesByType('navigation')[0],
  ...performance.getEntriesByType('resource')].map(e => [e.name, e.responseEnd - e.requestStart,
  e.decodedBodySize])"""


def _light(page) -> None:
    """The page and each asset are small; print how long each took (one run, not asserted)."""
    entries = page.evaluate(TIMINGS)
    print("\n".join(f"{ms:7.1f} ms {size:7d} B {name}" for name, ms, size in entries))
    assert [name for name, _ms, size in entries if size > ASSET_LIMIT] == []


def _above_the_fold(page, selector: str, least_height: int = 44) -> None:
    box = page.locator(selector).bounding_box()
    assert box is not None and box["height"] >= least_height
    assert box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"], box


@pytest.fixture
def phone(browser):
    """A Chromium page the size of a small phone."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    yield context.new_page()
    context.close()


@pytest.mark.parametrize("username", ["head_a", "official_a"])
def test_the_cabinet_card_and_roster_fit_a_phone(
    app, client, region, carrier, server, phone, username
):
    card = miss_call(client, "CA1")
    getattr(region, username).locale = "ru"
    db.session.commit()
    ARTIFACTS.mkdir(exist_ok=True)

    phone.goto(f"{server}/login")
    _fits(phone, "login")
    browser_login(phone, server, username)
    phone.goto(f"{server}/cabinet/")
    _fits(phone, f"cabinet-{username}")
    # the menu is folded behind one button and opens on a tap
    assert not phone.locator("nav.menu").is_visible()
    phone.click(".menu-button")
    assert phone.locator("nav.menu a", has_text="Кабинет").is_visible()
    _fits(phone, f"menu-{username}")

    phone.goto(f"{server}/cabinet/cards/{card.id}")
    _fits(phone, f"card-new-{username}")
    _light(phone)
    # a new card: calling the citizen back is the main button, with the countdown, on screen
    _above_the_fold(phone, "#call-back")
    _above_the_fold(phone, "#next-step .countdown", least_height=1)
    assert "main-action" in phone.locator("#call-back").get_attribute("class")
    # the later steps are there but folded until they apply
    assert not phone.locator("#outcome-form").is_visible()
    assert not phone.locator("#photo-form").is_visible()
    phone.click("#step-outcome summary")
    assert phone.locator("#outcome-form").is_visible()

    phone.goto(f"{server}/roster/")
    assert "Альфинский район" in phone.locator("h1").inner_text()
    _fits(phone, f"roster-{username}")


def test_a_called_back_card_puts_the_outcome_first(app, client, region, carrier, server, phone):
    card = miss_call(client, "CA1")
    db.session.get(Card, card.id).state = "called_back"
    region.head_a.locale = "ru"
    db.session.commit()

    browser_login(phone, server, "head_a")
    phone.goto(f"{server}/cabinet/cards/{card.id}")
    _fits(phone, "card-called-back")
    _above_the_fold(phone, "#record-outcome")
    assert phone.locator("#photo-form").is_visible()
    assert not phone.locator("#callback-form").is_visible()
