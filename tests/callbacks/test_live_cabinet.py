"""The open cabinet shows a new or escalated card without reload, with a notification and a tone."""

from datetime import timedelta

from callbacks.jobs import sweep
from callbacks.models import Card
from core.extensions import db
from tests.callbacks.conftest import BETA_LINE, miss_call
from tests.conftest import ARTIFACTS, BROWSER_TEST, browser_login, work

pytestmark = BROWSER_TEST

#: Records the notifications the page shows instead of showing them.
NOTIFICATION_SPY = """
window.shown = [];
window.Notification = function (title, options) { window.shown.push([title, options.body]); };
window.Notification.permission = 'granted';
window.Notification.requestPermission = function () { return Promise.resolve('granted'); };
"""


def test_a_new_and_an_escalated_card_appear_in_the_open_cabinet(
    app, client, region, carrier, server, browser, clock
):
    app.config["CABINET_POLL_SECONDS"] = 1
    first = miss_call(client, "CA1")
    region.head_a.locale = "ru"
    db.session.commit()
    context = browser.new_context(viewport={"width": 360, "height": 740})
    context.add_init_script(NOTIFICATION_SPY)
    page = context.new_page()
    browser_login(page, server, "head_a")
    page.goto(f"{server}/cabinet/")
    assert page.locator("tr.card-row").count() == 1

    second = miss_call(client, "CA2", from_="+79160000055")
    miss_call(client, "CA3", from_="+79160000066", line=BETA_LINE)  # another municipality's
    db.session.commit()
    page.wait_for_selector(f'tr.card-row[data-card="{second.id}"]', timeout=10_000)
    page.wait_for_function("window.shown.length >= 1", timeout=5_000)
    assert page.locator("tr.card-row").count() == 2  # Beta's card never shows in Alpha's cabinet
    [[title, body]] = page.evaluate("window.shown")
    assert title == "Новая карточка в кабинете" and f"№{second.id}" in body
    assert page.evaluate("window.hotlineBeeps") == 1
    page.screenshot(path=str(ARTIFACTS / "live-cabinet.png"), full_page=True)

    card = db.session.get(Card, first.id)
    clock.now = card.escalate_at + timedelta(seconds=1)
    sweep()
    work(app)
    assert db.session.get(Card, first.id).escalated_at is not None
    page.wait_for_function("window.shown.length >= 2", timeout=10_000)
    assert page.evaluate("window.shown")[1][0] == "Карточка эскалирована"
    context.close()
