"""A manager in Chromium: the weekly report, drilling to an official and a card, downloads."""

import csv
import io
from pathlib import Path

from openpyxl import load_workbook

from tests.conftest import ARTIFACTS, BROWSER_TEST, browser_login

pytestmark = BROWSER_TEST


def test_manager_drills_from_the_weekly_report_to_a_card_and_downloads(
    history, server, page, tmp_path
):
    ARTIFACTS.mkdir(exist_ok=True)
    browser_login(page, server, "manager")
    page.goto(f"{server}/reports/")
    assert "02.03.2026 – 08.03.2026" in page.locator(".report-period").inner_text()
    alpha = page.locator('#missed-calls tr[data-municipality="alpha"]')
    assert alpha.locator("td").first.inner_text().strip() == "6"
    assert page.locator("svg.trend polyline").count() == 3
    page.screenshot(path=str(ARTIFACTS / "reports-week.png"), full_page=True)
    page.emulate_media(media="print")
    assert page.locator(".report-filters").is_hidden()
    page.screenshot(path=str(ARTIFACTS / "reports-week-print.png"), full_page=True)
    page.emulate_media(media="screen")

    with page.expect_download() as xlsx_download:
        page.click("#export-xlsx")
    saved = tmp_path / xlsx_download.value.suggested_filename
    xlsx_download.value.save_as(saved)
    assert saved.name == "missed-calls-20260302-20260308.xlsx"
    book = load_workbook(saved)
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert rows[0][0] == "Муниципалитет"
    assert {row[0]: row[1] for row in rows[1:]}["Альфинский район"] == 6
    with page.expect_download() as csv_download:
        page.click("#export-csv")
    text = Path(csv_download.value.path()).read_text(encoding="utf-8-sig")
    table = list(csv.reader(io.StringIO(text)))
    assert {row[0]: row[1] for row in table[1:]}["Итого"] == "12"

    alpha.locator("a.drill").click()
    assert page.locator("h1").inner_text() == "Альфинский район"
    primary = page.locator('#officials tr[data-role="primary"]')
    assert primary.locator("th").inner_text() == "Первов alpha"
    page.screenshot(path=str(ARTIFACTS / "reports-municipality.png"), full_page=True)
    primary.locator("td").nth(7).locator("a").click()  # calls missed by the whole chain
    assert page.locator("tr.call-row").count() == 3
    page.screenshot(path=str(ARTIFACTS / "reports-official-missed.png"), full_page=True)
    card_id = history.a[3].card.id
    page.click(f'a.card-link[href="/cabinet/cards/{card_id}"]')
    page.wait_for_url(f"**/cabinet/cards/{card_id}")
    assert str(card_id) in page.locator("h1").inner_text()
    page.screenshot(path=str(ARTIFACTS / "reports-card.png"), full_page=True)
