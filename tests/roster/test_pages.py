"""Roster pages: the week grid, who may see and edit what, and the forms' clear errors."""

import re
from datetime import UTC, date, datetime, time, timedelta

import pytest

from core.extensions import db
from roster.models import DutyShift, Unavailability
from roster.services import check_gaps, general_roster, save_rotation
from tests.conftest import csrf_token, login
from tests.factories import make_municipality, make_official, make_trio, make_user

NOW = datetime(2026, 3, 18, 12, 0, tzinfo=UTC)  # a Wednesday, 15:00 in Moscow


@pytest.fixture
def region(app, monkeypatch):
    monkeypatch.setattr("core.clock.now_source", lambda: NOW)
    alpha, beta = make_municipality("alpha"), make_municipality("beta")
    trio = make_trio(alpha)
    roster = general_roster(alpha)
    for role, people in (("primary", trio[:2]), ("backup", [trio[1], trio[0]])):
        save_rotation(roster, role, [p.id for p in people], time(9), 1, date(2026, 3, 1), now=NOW)
    check_gaps(alpha, NOW)
    check_gaps(beta, NOW)
    db.session.commit()
    make_user("admin", "admin")
    make_user("head", "head", alpha)
    make_user("operator", "operator")
    return alpha, beta, trio


def _signed_in(app, username):
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def _post_form(client, url, data):
    page = client.get(url)
    assert page.status_code == 200
    return client.post(url, data={**data, "csrf_token": csrf_token(page.text)})


def test_week_grid_highlights_who_is_on_duty_now(app, region):
    alpha, _, trio = region
    page = _signed_in(app, "operator").get("/roster/alpha")
    assert page.status_code == 200
    holder = trio[0] if (date(2026, 3, 18) - date(2026, 3, 1)).days % 2 == 0 else trio[1]
    assert '<span class="stretch now">' in page.text
    now_cell = page.text.split('<span class="stretch now">')[1].split("</span>")[0]
    assert holder.full_name in now_cell
    assert "16.03" in page.text and "22.03" in page.text  # Monday to Sunday
    # the supervisor slot has no rotation: shown as a gap
    assert "Nobody is on duty in this slot" in page.text or "Никто не дежурит" in page.text


def test_region_overview_shows_which_municipalities_have_gaps(app, region):
    page = _signed_in(app, "operator").get("/roster/")
    rows = {
        line.split("</a>")[0].split(">")[-1]: line for line in page.text.split("<tr class=")[1:]
    }
    assert "has-gaps" in rows["Район alpha"] and "has-gaps" in rows["Район beta"]


def test_head_sees_only_his_municipality_and_edits_nothing(app, region):
    head = _signed_in(app, "head")
    assert head.get("/roster/").headers["Location"].endswith("/roster/alpha")
    assert head.get("/roster/alpha").status_code == 200
    assert head.get("/roster/beta").status_code == 403
    assert head.get("/roster/alpha/override").status_code == 403
    assert head.get("/roster/alpha/rotation/primary").status_code == 403
    assert "/roster/alpha/override" not in head.get("/roster/alpha").text


def test_rotation_form_shows_field_errors(app, region):
    admin = _signed_in(app, "admin")
    response = _post_form(
        admin,
        "/roster/alpha/rotation/supervisor",
        {"handoff": "09:00", "length": "custom", "length_days": "40", "starts_on": "2026-03-19"},
    )
    assert response.status_code == 400
    assert response.text.count('class="field-error"') == 2


def test_rotation_form_saves_and_regenerates(app, region):
    alpha, _, trio = region
    admin = _signed_in(app, "admin")
    response = _post_form(
        admin,
        "/roster/alpha/rotation/supervisor",
        {
            "officials-0": str(trio[2].id),
            "handoff": "09:00",
            "length": "7",
            "length_days": "3",
            "starts_on": "2026-03-16",
        },
    )
    assert response.status_code == 302
    rows = db.session.scalars(db.select(DutyShift).where(DutyShift.role == "supervisor")).all()
    assert rows and all(row.official_id == trio[2].id for row in rows)
    assert len(check_gaps(alpha, NOW)) == 0


def test_override_form_refuses_an_absent_official_with_a_clear_message(app, region):
    alpha, _, trio = region
    stand_in = make_official(alpha, "+79001237777", "Запасной Захар")
    db.session.add(
        Unavailability(
            official_id=stand_in.id,
            starts_at=NOW,
            ends_at=NOW + timedelta(days=10),
            reason="vacation",
        )
    )
    db.session.commit()
    admin = _signed_in(app, "admin")
    data = {
        "role": "primary",
        "official_id": str(stand_in.id),
        "starts_at": "2026-03-20T09:00",
        "ends_at": "2026-03-20T18:00",
        "note": "",
    }
    response = _post_form(admin, "/roster/alpha/override", data)
    assert response.status_code == 400
    assert "Запасной Захар" in response.text and "field-error" in response.text
    assert db.session.scalar(db.select(DutyShift).where(DutyShift.kind == "override")) is None
    bad_period = _post_form(
        admin,
        "/roster/alpha/override",
        {**data, "official_id": str(trio[0].id), "ends_at": "2026-03-19T18:00"},
    )
    assert bad_period.status_code == 400 and "field-error" in bad_period.text
    good = _post_form(admin, "/roster/alpha/override", {**data, "official_id": str(trio[2].id)})
    assert good.status_code == 302
    override = db.session.scalar(db.select(DutyShift).where(DutyShift.kind == "override"))
    assert override.starts_at == datetime(2026, 3, 20, 6, tzinfo=UTC)  # 09:00 Moscow


def test_swap_and_unavailability_pages(app, region):
    alpha, _, trio = region
    admin = _signed_in(app, "admin")
    rows = db.session.scalars(
        db.select(DutyShift)
        .where(DutyShift.role == "primary", DutyShift.starts_at > NOW)
        .order_by(DutyShift.starts_at)
    ).all()
    response = _post_form(
        admin,
        "/roster/alpha/swap",
        {"first_id": str(rows[0].id), "second_id": str(rows[0].id), "note": ""},
    )
    assert response.status_code == 400 and "field-error" in response.text
    response = _post_form(
        admin,
        "/roster/alpha/swap",
        {"first_id": str(rows[0].id), "second_id": str(rows[1].id), "note": "семейные дела"},
    )
    assert response.status_code == 302
    swaps = db.session.scalars(db.select(DutyShift).where(DutyShift.kind == "swap")).all()
    assert {(s.starts_at, s.official_id) for s in swaps} == {
        (rows[0].starts_at, rows[1].official_id),
        (rows[1].starts_at, rows[0].official_id),
    }
    assert "семейные дела" in admin.get("/roster/alpha").text
    absence = {
        "official_id": str(trio[0].id),
        "reason": "sick",
        "starts_on": "2026-03-18",
        "ends_on": "2026-03-17",  # before it starts: refused
        "note": "",
    }
    response = _post_form(admin, "/roster/alpha/unavailability", absence)
    assert response.status_code == 400 and "field-error" in response.text
    response = _post_form(
        admin, "/roster/alpha/unavailability", {**absence, "ends_on": "2026-03-19"}
    )
    assert response.status_code == 302
    listing = admin.get(response.headers["Location"])
    assert trio[0].full_name in listing.text
    grid = admin.get("/roster/alpha")
    assert "stretch absent" in grid.text or "stretch now absent" in grid.text


def test_roster_pages_keep_their_own_words_for_slots_ends_and_notes(app, region):
    """Words the cabinet and the reports use in another sense read right on the roster pages."""
    admin = _signed_in(app, "admin")
    week = admin.get("/roster/alpha").text
    assert "<h2>Сейчас дежурят</h2>" in week and "Никто не дежурит в этой роли" in week
    assert "<thead><tr><th>Роль</th>" in week
    absences = admin.get("/roster/alpha/unavailability").text
    assert '<label for="ends_on">Последний день</label>' in absences
    assert '<label for="note">Примечание</label>' in absences
    assert "<th>С</th><th>До</th>" in absences


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_roster_forms_refuse_dates_no_calendar_arithmetic_can_hold(app, region, day):
    alpha, _, trio = region
    admin = _signed_in(app, "admin")
    before = db.session.scalar(db.select(db.func.count(DutyShift.id)))
    override = {"role": "primary", "official_id": str(trio[2].id), "note": ""}
    absence = {"official_id": str(trio[0].id), "reason": "sick", "note": ""}
    for url, data, field in (
        (
            "/roster/alpha/rotation/supervisor",
            {"officials-0": str(trio[2].id), "handoff": "09:00", "length": "7", "starts_on": day},
            "starts_on",
        ),
        (
            "/roster/alpha/override",
            {**override, "starts_at": f"{day}T00:00", "ends_at": "2026-03-20T18:00"},
            "starts_at",
        ),
        (
            "/roster/alpha/override",
            {**override, "starts_at": "2026-03-20T09:00", "ends_at": f"{day}T23:59"},
            "ends_at",
        ),
        ("/roster/alpha/unavailability", {**absence, "starts_on": day, "ends_on": day}, "ends_on"),
        (
            "/roster/alpha/unavailability",
            {**absence, "starts_on": "2026-03-20", "ends_on": day},
            "ends_on",
        ),
    ):
        response = _post_form(admin, url, data)
        assert response.status_code == 400, (url, data)
        tag = re.search(f'<input[^>]*id="{field}"[^>]*>', response.text).group(0)
        assert 'aria-invalid="true"' in tag  # the field named is marked
        assert "Укажите дату с 2000 по 2100 год" in response.text
    assert db.session.scalar(db.select(db.func.count(DutyShift.id))) == before
    assert db.session.scalar(db.select(Unavailability)) is None
