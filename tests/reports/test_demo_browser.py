"""The demo's report, charts, map and brief in Chromium, wide and on a phone, in the viewport."""

import pytest

from tests.conftest import ARTIFACTS, BROWSER_TEST
from tests.reports.test_demo_history import demo  # noqa: F401  (the fixture)

pytestmark = BROWSER_TEST

PAGES = {
    "report": "/reports/",
    "map": "/reports/ranking",
    "brief": "/reports/brief",
    "municipality": "/reports/municipalities/tula",
    "heatmap": "/reports/heatmap",
    "incidents": "/reports/incidents",
}


@pytest.mark.parametrize("width", [1366, 390])
def test_report_map_and_brief_fit_the_viewport(demo, server, page, width):  # noqa: F811
    ARTIFACTS.mkdir(exist_ok=True)
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{server}/login")
    page.fill("input[name=username]", "manager")
    page.fill("input[name=password]", "hotline-demo")
    page.click("section.narrow button[type=submit]")
    for name, path in PAGES.items():
        page.goto(f"{server}{path}")
        page.screenshot(path=str(ARTIFACTS / f"demo-{name}-{width}.png"), full_page=True)
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= width, f"{name} is {scroll} px wide at {width} px"
    page.goto(f"{server}/reports/ranking")
    assert page.locator("svg.tile-map a.tile").count() == 26
    page.goto(f"{server}/reports/municipalities/tula")
    assert page.locator("svg.weekly-trend a.point").count() == 24
    assert page.locator("svg.histogram a.band").count() == 8
    page.goto(f"{server}/reports/heatmap")
    assert page.locator("svg.tile-map a.tile").count() == 26
