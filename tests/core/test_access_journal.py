"""The access journal: every view or download of citizens' personal data leaves one entry."""

import csv
import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from werkzeug.middleware.proxy_fix import ProxyFix

from core.clock import utcnow
from core.extensions import db
from core.models import AccessEntry
from core.retention import purge_expired
from tests.api.conftest import CITIZEN, make_card
from tests.conftest import login


def _entries() -> list[AccessEntry]:
    db.session.expire_all()
    return db.session.scalars(db.select(AccessEntry).order_by(AccessEntry.id)).all()


def test_a_heads_view_of_a_card_is_journaled_with_who_why_and_from_where(app, client, world):
    card = make_card(world)
    db.session.commit()
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1)  # as PROXY_HOPS=1 does in production
    login(client, "head")
    page = client.get(f"/cabinet/cards/{card.id}", headers={"X-Forwarded-For": "203.0.113.7"})
    assert page.status_code == 200
    [entry] = _entries()
    head = world.users["head"]
    assert (entry.user_id, entry.username, entry.role) == (head.id, "head", "head")
    assert entry.municipality_id == world.tula.id
    assert entry.address == "203.0.113.7"
    assert (entry.kind, entry.subject_id, entry.phone) == ("card", str(card.id), CITIZEN)
    assert entry.detail["endpoint"] == "callbacks.card"
    assert utcnow() - entry.at < timedelta(minutes=1)


def test_a_refused_view_leaves_no_entry(client, world):
    card = make_card(world)
    db.session.commit()
    login(client, "headb")
    assert client.get(f"/cabinet/cards/{card.id}").status_code in (403, 404)
    assert _entries() == []


def test_the_appeal_page_console_search_and_recording_are_journaled(client, world):
    card = make_card(world)
    db.session.commit()
    login(client, "operator")
    assert client.get(f"/console/appeals/{card.appeal_id}").status_code == 200
    found = client.get("/console/search", query_string={"phone": "8 916 123-45-67"})
    assert found.status_code == 200
    client.get(f"/console/appeals/{card.appeal_id}/recording")  # none: 404, nothing journaled
    kinds = [(entry.kind, entry.phone, entry.username) for entry in _entries()]
    assert kinds == [("appeal", CITIZEN, "operator"), ("search", CITIZEN, "operator")]
    assert _entries()[1].detail["found"] == 1


def test_an_export_records_its_filter(client, world):
    make_card(world)
    db.session.commit()
    login(client, "manager")
    query = {"from": "2026-01-01", "to": "2026-01-31", "channel": "phone", "format": "csv"}
    answer = client.get("/reports/cards", query_string=query)
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    [entry] = _entries()
    assert (entry.kind, entry.username, entry.role) == ("export", "manager", "manager")
    assert entry.subject_id == "cards-20260101-20260131"
    assert entry.detail["format"] == "csv"
    assert entry.detail["filter"] == {"from": "2026-01-01", "to": "2026-01-31", "channel": "phone"}


def test_the_roster_export_of_officials_is_journaled(client, world):
    login(client, "admin")
    assert client.get("/roster/officials.csv").status_code == 200
    [entry] = _entries()
    assert (entry.kind, entry.subject_id, entry.username) == ("export", "officials", "admin")


def test_api_reads_of_cards_and_appeals_are_journaled(client, world):
    card = make_card(world)
    db.session.commit()
    number = card.appeal.number
    headers = world.tokens["head"]
    assert client.get(f"/api/v1/cards/{card.id}", headers=headers).status_code == 200
    assert client.get(f"/api/v1/appeals/{number}", headers=headers).status_code == 200
    assert client.get("/api/v1/appeals?status=routing", headers=headers).status_code == 200
    entries = _entries()
    assert [(e.kind, e.subject_id, e.phone) for e in entries] == [
        ("card", str(card.id), CITIZEN),
        ("appeal", number, CITIZEN),
        ("appeal", "", None),
    ]
    assert {(e.username, e.role, e.municipality_id) for e in entries} == {
        ("head", "head", world.tula.id)
    }
    assert entries[2].detail["filter"] == {"status": "routing"}
    assert client.get("/api/v1/cards/999999", headers=headers).status_code == 404
    assert len(_entries()) == 3


def _seed(world, days_ago: int, username: str, phone: str | None, kind: str = "card"):
    entry = AccessEntry(
        at=utcnow() - timedelta(days=days_ago),
        username=username,
        role=world.users[username].role,
        kind=kind,
        subject_id="1",
        phone=phone,
        detail={},
    )
    db.session.add(entry)
    db.session.commit()
    return entry


def test_the_api_filters_by_user_phone_and_period_a_page_at_a_time(client, world):
    for days in range(5):
        _seed(world, days, "head", CITIZEN)
    _seed(world, 1, "operator", CITIZEN)
    _seed(world, 1, "head", "+79160000000")
    admin = world.tokens["admin"]
    since = (utcnow() - timedelta(days=2, hours=12)).isoformat()
    answer = client.get(
        "/api/v1/audit",
        query_string={"user": "head", "phone": "8 (916) 123-45-67", "since": since, "limit": 2},
        headers=admin,
    )
    assert answer.status_code == 200
    first = answer.json["entries"]
    assert len(first) == 2 and answer.json["next_cursor"]
    rest = client.get(
        "/api/v1/audit",
        query_string={
            "user": "head",
            "phone": CITIZEN,
            "since": since,
            "limit": 2,
            "cursor": answer.json["next_cursor"],
        },
        headers=admin,
    ).json
    assert len(rest["entries"]) == 1 and rest["next_cursor"] is None
    seen = first + rest["entries"]
    assert {(e["username"], e["phone"]) for e in seen} == {("head", CITIZEN)}
    assert [e["id"] for e in seen] == sorted((e["id"] for e in seen), reverse=True)
    everything = client.get("/api/v1/audit", headers=admin).json["entries"]
    assert len(everything) == 7
    bad = client.get("/api/v1/audit?phone=not-a-phone", headers=admin)
    assert bad.status_code == 400 and bad.json["error"]["field"] == "phone"
    assert client.get("/api/v1/audit", headers=world.tokens["manager"]).status_code == 403
    assert client.get("/api/v1/audit").status_code == 401


def test_the_audit_endpoint_is_in_the_openapi_document(client):
    document = client.get("/api/v1/openapi.json").json
    listing = document["paths"]["/api/v1/audit"]["get"]
    assert {p["name"] for p in listing["parameters"]} >= {"user", "phone", "since", "cursor"}


def test_the_admin_page_filters_and_exports_through_the_safe_writer(app, client, world):
    _seed(world, 1, "head", CITIZEN)
    _seed(world, 40, "head", CITIZEN)
    _seed(world, 1, "operator", "+79160000000")
    _seed(world, 1, "head", CITIZEN)
    db.session.add(AccessEntry(username="=cmd()", kind="card", phone=CITIZEN, detail={}))
    db.session.commit()
    login(client, "admin")
    since = (utcnow() - timedelta(days=3)).date().isoformat()
    page = client.get("/admin/journal", query_string={"phone": "89161234567", "since": since})
    assert page.status_code == 200
    assert "Журнал доступа" in page.text and page.text.count("<td>+79161234567</td>") == 3
    assert "+79160000000" not in page.text
    assert client.get("/admin/journal?phone=abc").status_code == 400
    exported = client.get("/admin/journal", query_string={"phone": CITIZEN, "format": "csv"})
    rows = list(csv.reader(io.StringIO(exported.data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["at", "username", "role"] and len(rows) == 5
    assert [row[1] for row in rows if "cmd" in row[1]] == ["'=cmd()"]
    xlsx = client.get("/admin/journal", query_string={"user": "head", "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    assert sheet.max_row == 4  # the header and the three entries of "head"
    exports = [e for e in _entries() if e.kind == "export"]
    assert [e.detail["format"] for e in exports] == ["csv", "xlsx"]
    assert exports[0].detail["filter"]["phone"] == CITIZEN
    other = app.test_client()
    login(other, "manager")
    assert other.get("/admin/journal").status_code == 403


def test_the_journal_cannot_be_edited_or_deleted_through_the_app(world):
    entry = _seed(world, 0, "head", CITIZEN)
    entry.username = "someone-else"
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.commit()
    db.session.rollback()
    db.session.delete(db.session.get(AccessEntry, entry.id))
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.commit()
    db.session.rollback()
    assert [e.username for e in _entries()] == ["head"]


def test_a_bulk_update_or_delete_of_the_journal_is_refused_but_the_purges(app, world):
    old_id = _seed(world, 4000, "head", CITIZEN).id
    kept = _seed(world, 1, "head", CITIZEN)
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.execute(db.update(AccessEntry).values(username="someone-else"))
    db.session.rollback()
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.execute(db.delete(AccessEntry).where(AccessEntry.id == kept.id))
    db.session.rollback()
    assert purge_expired()["access journal entries"] == 1
    db.session.commit()
    assert [(e.id, e.username) for e in _entries()] == [(kept.id, "head")]
    assert old_id != kept.id


def test_the_daily_purge_keeps_the_retention(app, world):
    app.config["ACCESS_JOURNAL_RETENTION_DAYS"] = 30
    _seed(world, 31, "head", CITIZEN)
    kept = _seed(world, 29, "head", CITIZEN)
    counts = purge_expired()
    db.session.commit()
    assert counts["access journal entries"] == 1
    assert [e.id for e in _entries()] == [kept.id]


def test_a_thousand_mixed_views_leave_exactly_a_thousand_entries(client, world):
    cards = [
        make_card(world, sid=f"CA9{index:03d}", caller=f"+7916555{index:04d}") for index in range(5)
    ]
    db.session.commit()
    login(client, "head")
    token = world.tokens["head"]
    expected = []
    for index in range(1000):
        card = cards[index % len(cards)]
        match index % 4:
            case 0:
                answer = client.get(f"/cabinet/cards/{card.id}")
                expected.append(("card", str(card.id), "callbacks.card"))
            case 1:
                answer = client.get(f"/api/v1/cards/{card.id}", headers=token)
                expected.append(("card", str(card.id), "api.get_card"))
            case 2:
                answer = client.get(f"/api/v1/appeals/{card.appeal.number}", headers=token)
                expected.append(("appeal", card.appeal.number, "api.get_appeal"))
            case 3:
                answer = client.get("/api/v1/cards", headers=token)
                expected.append(("card", "", "api.list_cards"))
        assert answer.status_code == 200
    entries = _entries()
    assert len(entries) == 1000
    assert [(e.kind, e.subject_id, e.detail["endpoint"]) for e in entries] == expected
    assert {e.username for e in entries} == {"head"}
