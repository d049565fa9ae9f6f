"""Weekly trends, the answer-time histogram and the brief's officials: every point a link."""

import re
import subprocess
from html import unescape
from urllib.parse import parse_qs, urlsplit

from tests.conftest import login

WEEK = {"from": "2026-03-02", "to": "2026-03-08"}
POINT = re.compile(
    r'<a href="([^"]+)" class="point" data-series="(\w+)" data-week="([\d-]+)" '
    r'data-value="(\d+)">'
)
BAND = re.compile(
    r'<a href="([^"]+)" class="band" data-low="(\d+)" data-high="(\d*)" data-value="(\d+)">'
)
ROWS = {"calls": 'class="call-row"', "missed": 'class="card-row"', "overdue": 'class="card-row"'}


def _query(href: str) -> dict:
    return {key: values[0] for key, values in parse_qs(urlsplit(unescape(href)).query).items()}


def _points(text: str) -> dict:
    return {(series, week): (href, int(value)) for href, series, week, value in POINT.findall(text)}


def test_municipalitys_weekly_trend_counts_what_each_point_links_to(history, client):
    login(client, "manager")
    page = client.get("/reports/municipalities/alpha", query_string=WEEK).text
    points = _points(page)
    assert len(points) == 8 * 3  # eight weeks, three series
    assert {week for _, week in points} >= {"2026-03-02", "2026-02-23", "2026-01-12"}
    week = {series: points[(series, "2026-03-02")][1] for series in ROWS}
    assert week == {"calls": 6, "missed": 3, "overdue": 2}
    assert points[("calls", "2026-02-23")][1] == 2 and points[("missed", "2026-02-23")][1] == 1
    href = points[("overdue", "2026-03-02")][0]
    assert _query(href) == {
        "metric": "late",
        "from": "2026-03-02",
        "to": "2026-03-08",
        "municipality": "alpha",
    }
    for (series, _), (href, value) in points.items():
        if value:
            listing = client.get(unescape(href))
            assert listing.status_code == 200
            assert listing.text.count(ROWS[series]) == value, (series, href)
    assert 'stroke-dasharray="6 3"' in page and "<polygon" in page  # not colour alone


def test_regions_weekly_trend_sums_the_municipalities(history, client):
    login(client, "manager")
    page = client.get("/reports/", query_string=WEEK).text
    points = _points(page)
    assert len(points) == 24
    href, calls = points[("calls", "2026-03-02")]
    assert calls == 12  # alpha 6, beta 3, gamma 3, each in its own zone
    assert "municipality" not in _query(href)
    assert client.get(unescape(href)).text.count('class="call-row"') == 12
    days = re.findall(
        r'<a href="([^"]+)" class="day-point" data-series="(\w+)" data-day="([\d-]+)">'
        r"<circle [^>]*><title>[^<]* (\d+)</title>",
        page,
    )
    assert len(days) == 7 * 3
    monday = {s: (href, int(n)) for href, s, day, n in days if day == WEEK["from"]}
    assert monday["calls"][1] == 2  # alpha at midnight, beta at 00:30 its own time
    assert _query(monday["calls"][0])["to"] == WEEK["from"]
    for series, (href, value) in monday.items():
        assert client.get(unescape(href)).text.count(ROWS[series]) == value


def test_answer_times_histogram_bands_link_to_their_calls(history, client):
    login(client, "manager")
    page = client.get("/reports/", query_string=WEEK).text
    bands = {(int(low), high): (href, int(value)) for href, low, high, value in BAND.findall(page)}
    assert [value for _, value in bands.values()] == [0, 1, 1, 2, 1, 0, 0, 0]
    href, value = bands[(30, "45")]
    assert _query(href) | WEEK == _query(href)
    assert _query(href)["wait_from"] == "30" and _query(href)["wait_to"] == "45"
    listing = client.get(unescape(href)).text
    assert listing.count('class="call-row"') == value == 2
    last = bands[(120, "")][0]
    assert "wait_to" not in _query(last)
    alpha = client.get("/reports/municipalities/alpha", query_string=WEEK).text
    values = [int(value) for *_, value in BAND.findall(alpha)]
    assert values == [0, 1, 0, 1, 1, 0, 0, 0]  # 10 s, 30 s and 50 s
    for bad in ("x", "-5", "1" * 30):
        assert client.get("/reports/calls", query_string={"wait_from": bad}).status_code == 404


def test_a_long_period_charts_every_week_and_names_some(history, client):
    login(client, "manager")
    page = client.get("/reports/", query_string={"from": "2025-03-03", "to": "2026-03-08"}).text
    weekly = page.split('class="weekly-trend"', 1)[1].split("</svg>", 1)[0]
    weeks = {week for _, _, week, _ in POINT.findall(page)}
    assert len(weeks) == 53 and "2025-03-03" in weeks
    assert 6 <= len(re.findall(r'font-size="10">\d\d\.\d\d</text>', weekly)) <= 14


def test_brief_names_the_officials_with_most_missed_calls(history, client, tmp_path):
    login(client, "manager")
    html = client.get("/reports/brief", query_string={"week": "2026-03-04"}).text
    table = html.split('id="brief-officials"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r'<tr data-official="(\d+)"><th scope="row">([^<]+)</th>', table)
    assert [name for _, name in rows][:4] == [
        "Первов alpha",
        "Вторых alpha",
        "Главный alpha",
        "Первов gamma",
    ]
    assert len(rows) == 5
    first = table.split("</tr>", 2)[1]
    links = re.findall(r'<a href="([^"]+)">(\d+)</a>', first)
    assert [int(value) for _, value in links] == [5, 3]
    for href, value in links:
        assert _query(href)["official"] == str(history.trios["alpha"]["primary"].id)
        assert client.get(unescape(href)).text.count('class="call-row"') == int(value)
    pdf = client.get("/reports/brief", query_string={"week": "2026-03-04", "format": "pdf"})
    path = tmp_path / "brief.pdf"
    path.write_bytes(pdf.data)
    text = subprocess.run(
        ["pdftotext", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert "Должностные лица с наибольшим числом пропущенных звонков" in text
    assert "Первов alpha" in text
