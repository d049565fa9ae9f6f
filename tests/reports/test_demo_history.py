"""The demo's past weeks: played through the real services, they fill every report."""

import re
from datetime import UTC, datetime
from html import unescape

import pytest

import core.clock
from callbacks.models import Card
from core.extensions import db
from hotline.models import Appeal, Call
from reports.demo import SID_PREFIX, seed_history
from roster.demo import seed_demo
from tests.conftest import login

#: A Wednesday: the history covers the two weeks before this one and this Monday and Tuesday.
NOW = datetime(2026, 3, 11, 9, 0, tzinfo=UTC)


@pytest.fixture
def demo(app, monkeypatch):
    monkeypatch.setattr(core.clock, "now_source", lambda: NOW)
    seed_demo(NOW)
    db.session.commit()
    played = seed_history(2, seed=7, now=NOW)
    return played


def _stored(model) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model))


def test_history_is_deterministic_idempotent_and_spans_every_channel(demo):
    assert demo > 100
    assert seed_history(2, seed=7, now=NOW) == 0  # a second run plays nothing again
    assert _stored(Call) == demo
    channels = set(db.session.scalars(db.select(Appeal.channel).distinct()))
    assert channels >= {"phone", "operator", "web", "open311", "api"}
    sids = db.session.scalars(db.select(Call.call_sid).where(Call.call_sid.like(f"{SID_PREFIX}%")))
    assert len(set(sids)) == demo
    assert _stored(Card) > 0


def test_last_weeks_report_counts_what_its_links_show(demo, client):
    login(client, "manager", "hotline-demo")
    report = client.get("/reports/")
    assert report.status_code == 200
    row = report.text.split('data-municipality="tula"', 1)[1].split("</tr>", 1)[0]
    link = re.search(
        r'<a[^>]*href="([^"]*/reports/cards[^"]*metric=missed[^"]*)"[^>]*>(\d+)</a>', row
    )
    assert link, row
    shown = int(link.group(2))
    assert shown > 0
    listing = client.get(unescape(link.group(1)))
    assert listing.text.count('class="card-row"') == shown
    tula = db.session.scalar(db.text("select id from municipalities where code = 'tula'"))
    stored = db.session.scalar(
        db.select(db.func.count(Card.id))
        .join(Call, Call.id == Card.call_id)
        .where(
            Call.municipality_id == tula,
            Call.chain_started_at >= datetime(2026, 3, 1, 21, 0, tzinfo=UTC),
            Call.chain_started_at < datetime(2026, 3, 8, 21, 0, tzinfo=UTC),
        )
    )
    assert stored == shown


def test_ranking_heat_map_and_trend_are_not_empty(demo, client):
    login(client, "manager", "hotline-demo")
    ranking = client.get("/reports/ranking")
    assert ranking.status_code == 200
    scores = [float(s) for s in re.findall(r"<td><strong>([\d.]+)</strong></td>", ranking.text)]
    heat = client.get("/reports/heatmap")
    assert heat.status_code == 200
    assert re.search(r">\s*[1-9]\d*\s*</a>", heat.text)
    report = client.get("/reports/")
    assert "series-missed" in report.text
    points = re.findall(r"<title>[^<]*: [^<]* ([1-9]\d*)</title>", report.text)
    assert points, "the daily trend shows calls"
    assert scores and max(scores) > 0


def test_ranking_bars_link_to_each_municipalitys_report(demo, client):
    login(client, "manager", "hotline-demo")
    ranking = client.get("/reports/ranking").text
    bars = re.findall(r'<a href="([^"]+)" class="bar" data-municipality="([a-z-]+)">', ranking)
    assert len(bars) == 26
    href, code = bars[0]
    assert f"/reports/municipalities/{code}" in unescape(href)
    assert client.get(unescape(href)).status_code == 200


def test_map_places_every_municipality_shaded_with_a_legend_and_links(demo, client):
    login(client, "manager", "hotline-demo")
    page = client.get("/reports/ranking", query_string={"figure": "overdue_now"}).text
    tiles = re.findall(
        r'<a href="([^"]+)" class="tile" data-municipality="([a-z-]+)" data-value="(\d+)">'
        r"<title>([^<]+)</title><rect [^>]*fill=\"(#[0-9a-f]{6})\"",
        page,
    )
    assert len(tiles) == 26
    values = [int(value) for _, _, value, _, _ in tiles]
    assert max(values) > 0
    darkest = next(tile for tile in tiles if int(tile[2]) == max(values))
    assert darkest[4] == "#440154"  # the legend's last class
    assert darkest[3].endswith(f" {max(values)}")
    assert f"/reports/municipalities/{darkest[1]}" in unescape(darkest[0])
    assert page.count('class="tile-map"') == 1 and "≥" in page


def test_weekly_brief_prints_as_a_russian_pdf(demo, client, tmp_path):
    import subprocess

    login(client, "manager", "hotline-demo")
    html = client.get("/reports/brief", query_string={"week": "2026-03-04"})
    assert html.status_code == 200
    assert "02.03.2026 – 08.03.2026" in html.text and 'class="tile-map"' in html.text
    pdf = client.get("/reports/brief", query_string={"week": "2026-03-04", "format": "pdf"})
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    path = tmp_path / "brief.pdf"
    path.write_bytes(pdf.data)
    subprocess.run(["pdftoppm", "-r", "50", "-png", str(path), str(tmp_path / "page")], check=True)
    assert list(tmp_path.glob("page*.png"))
    text = subprocess.run(
        ["pdftotext", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert "Еженедельная справка" in text
    assert "Город Тула" in text
