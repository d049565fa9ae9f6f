"""The demo's heat map with the map of the region, shaded by the switch shown."""

import re
from html import unescape

from tests.conftest import login
from tests.reports.test_demo_history import demo  # noqa: F401  (the fixture)

TILE = re.compile(
    r'<a href="([^"]+)" class="tile" data-municipality="([a-z-]+)" data-value="(\d+)">'
)


def test_heat_map_shows_the_region_map_of_its_switch(demo, client):  # noqa: F811
    login(client, "manager", "hotline-demo")
    page = client.get("/reports/heatmap", query_string={"kind": "missed"}).text
    tiles = TILE.findall(page)
    assert len(tiles) == 26
    href, code, value = max(tiles, key=lambda tile: int(tile[2]))
    assert int(value) > 0 and "kind=missed" in unescape(href)
    row = page.split(f'<tr data-municipality="{code}">', 1)[1].split("</tr>", 1)[0]
    cells = [int(n) for n in re.findall(r">\s*(\d+)\s*(?:</a>)?\s*</td>", row)]
    assert sum(cells) == int(value)
    listing = client.get(unescape(href)).text
    assert listing.count('class="appeal-row"') == int(value)
    assert re.search(r'class="heat-[1-5]"', page)  # the cells are shaded
