"""Report pages, their roles, the lists behind figures, downloads and the JSON API."""

import csv
import io

import pytest
from openpyxl import load_workbook

from core.extensions import db
from core.users import issue_token as _issue
from tests.conftest import counted_statements, login
from tests.factories import make_category, make_municipality, make_official, make_user
from tests.reports.conftest import History


def issue_token(user) -> str:
    token = _issue(user)
    db.session.commit()
    return token


WEEK = {"from": "2026-03-02", "to": "2026-03-08"}


def test_manager_reads_the_weekly_report_by_default(history, client):
    login(client, "manager")
    page = client.get("/reports/")
    assert page.status_code == 200
    text = page.text
    assert "02.03.2026 – 08.03.2026" in text
    assert '<label>С <input type="date" name="from"' in text
    assert '<label>По <input type="date" name="to"' in text
    for place in (history.alpha, history.beta, history.gamma):
        assert f'data-municipality="{place.code}"' in text
    assert "<svg" in text and "series-missed" in text
    assert "reports.css" in text


def test_figures_link_to_the_rows_behind_them(history, client):
    login(client, "manager")
    page = client.get(
        "/reports/calls", query_string=WEEK | {"municipality": "alpha", "metric": "routed"}
    )
    assert page.text.count('class="call-row"') == 6
    cards = client.get(
        "/reports/cards", query_string=WEEK | {"municipality": "alpha", "metric": "late"}
    )
    assert cards.text.count('class="card-row"') == 2
    official = history.trios["alpha"]["backup"]
    drilled = client.get(
        "/reports/calls",
        query_string=WEEK
        | {"municipality": "alpha", "official": official.id, "role": "backup", "metric": "missed"},
    )
    for case in history.a[3:]:
        assert f"/cabinet/cards/{case.card.id}" in drilled.text


def test_bad_period_rerenders_with_the_message(history, client):
    login(client, "manager")
    page = client.get("/reports/", query_string={"from": "2026-03-08", "to": "2026-03-01"})
    assert page.status_code == 400
    assert 'data-field="to"' in page.text


@pytest.mark.parametrize("user", ["operator", "official_a"])
def test_other_roles_are_refused(history, client, user):
    login(client, user)
    for url in ("/reports/", "/reports/ranking", "/reports/heatmap", "/reports/calls"):
        assert client.get(url).status_code == 403


def test_head_sees_only_own_municipality(history, client):
    login(client, "head_a")
    text = client.get("/reports/", query_string=WEEK).text
    assert 'data-municipality="alpha"' in text and 'data-municipality="beta"' not in text
    assert client.get("/reports/municipalities/alpha").status_code == 200
    assert client.get("/reports/municipalities/beta").status_code == 403
    assert client.get("/reports/cards", query_string={"municipality": "beta"}).status_code == 403
    ranking = client.get("/reports/ranking", query_string=WEEK).text
    assert 'data-municipality="alpha"' in ranking and 'data-municipality="gamma"' not in ranking
    assert client.get("/reports/operators").status_code == 403


def test_csv_and_xlsx_downloads_carry_the_figures(history, client):
    login(client, "admin")
    response = client.get("/reports/", query_string=WEEK | {"format": "csv"})
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][0] == "Муниципалитет"
    by_name = {row[0]: row for row in rows[1:]}
    assert by_name["Альфинский район"][1:6] == ["6", "1", "1", "1", "3"]
    assert by_name["Итого"][1] == "12"
    book = load_workbook(
        io.BytesIO(client.get("/reports/ranking", query_string=WEEK | {"format": "xlsx"}).data)
    )
    sheet = book.worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    assert [row[1] for row in values[1:]] == [
        "Альфинский район",
        "Гаммский округ",
        "Бетинский район",
    ]
    heat = load_workbook(
        io.BytesIO(client.get("/reports/heatmap", query_string=WEEK | {"format": "xlsx"}).data)
    )
    assert len(heat.worksheets) == 3


def test_heat_cell_page_names_repeated_addresses(history, client):
    login(client, "manager")
    page = client.get(
        "/reports/appeals",
        query_string=WEEK | {"municipality": "alpha", "category": history.roads.id, "kind": "all"},
    )
    assert page.text.count('class="appeal-row"') == 3
    assert "ул. Ленина, 1</td><td>3</td>" in page.text


def test_api_returns_the_same_figures(history, client):
    token = issue_token(history.manager)
    response = client.get(
        "/api/v1/reports/missed-calls",
        query_string=WEEK,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200
    body = response.get_json()
    alpha = next(m for m in body["municipalities"] if m["code"] == "alpha")
    assert alpha["figures"]["routed"] == 6 and alpha["figures"]["accept_p90"] == 46.0
    assert body["total"]["missed"] == 7
    assert body["period"] == {"from": "2026-03-02", "to": "2026-03-08"}


def test_api_scopes_heads_and_refuses_others(history, client):
    head = {"Authorization": f"Bearer {issue_token(history.head_a)}"}
    body = client.get("/api/v1/reports/missed-calls", query_string=WEEK, headers=head).get_json()
    assert [m["code"] for m in body["municipalities"]] == ["alpha"]
    other = client.get(
        "/api/v1/reports/missed-calls", query_string={"municipality": "beta"}, headers=head
    )
    assert other.status_code == 403
    operator = {"Authorization": f"Bearer {issue_token(history.operator)}"}
    assert client.get("/api/v1/reports/missed-calls", headers=operator).status_code == 403
    bad = client.get(
        "/api/v1/reports/missed-calls", query_string={"from": "03/02/2026"}, headers=head
    )
    assert bad.status_code == 400 and bad.get_json()["error"]["field"] == "from"


@pytest.mark.parametrize(("user", "masked"), [("manager", True), ("head_a", False)])
def test_exports_mask_callers_numbers_for_roles_that_do_not_call_citizens(
    history, client, user, masked
):
    login(client, user)
    query = WEEK | {"municipality": "alpha", "metric": "routed", "format": "csv"}
    text = client.get("/reports/calls", query_string=query).data.decode("utf-8-sig")
    assert ("+7916000" in text) is not masked
    assert ("+7916*****" in text) is masked


def test_lists_are_named_in_the_plural_and_each_call_by_its_outcome(history, client):
    """A report names its lists in the plural, and each call by its own outcome."""
    login(client, "manager")
    alpha = WEEK | {"municipality": "alpha"}
    backup = {"official": history.trios["alpha"]["backup"].id, "role": "backup"}
    missed = client.get("/reports/calls", query_string=alpha | backup | {"metric": "missed"}).text
    assert "<h1>Звонки: пропущенные · резервный</h1>" in missed and "<td>пропущен</td>" in missed
    accepted = client.get("/reports/calls", query_string=alpha | {"metric": "accepted"}).text
    assert "<h1>Звонки: принятые</h1>" in accepted
    late = client.get("/reports/cards", query_string=alpha | {"metric": "late"}).text
    assert "<h1>Карточки: просроченные</h1>" in late


def test_report_tabs_run_as_many_statements_for_fifty_rows_as_for_five(app, client, fixed_now):
    make_user("manager", "manager")
    alpha = make_municipality("alpha", "Альфинский район")
    water = make_category("water", "emergency")
    history = History()
    tabs = [
        ("/reports/", {}),
        ("/reports/ranking", {}),
        ("/reports/heatmap", {}),
        ("/reports/municipalities/alpha", {}),
        ("/reports/cards", {"municipality": "alpha", "metric": "missed"}),
    ]
    db.session.commit()
    login(client, "manager")
    loads = []
    made = 0
    for count in (5, 50):
        while made < count:
            index = made
            place = make_municipality(f"m{index:02d}", f"Район {index}", tz="Asia/Yekaterinburg")
            for where in (alpha, place):
                trio = {
                    role: make_official(where, f"+79{where.id:03d}{index:04d}{position}", role)
                    for position, role in enumerate(("primary", "backup", "supervisor"))
                }
                history.call(where, "2026-03-03T10:00:00", trio, None, water, f"ул. {index}")
            made += 1
        db.session.commit()
        counts = []
        for url, args in tabs:
            client.get(url, query_string=WEEK | args)
            with counted_statements() as statements:
                page = client.get(url, query_string=WEEK | args)
            assert page.status_code == 200
            counts.append(len(statements))
        assert f"Район {count - 1}" in client.get("/reports/", query_string=WEEK).text
        loads.append(counts)
    assert loads[0] == loads[1]
