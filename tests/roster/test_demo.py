"""The demo region."""

from datetime import UTC, datetime

from core.extensions import db
from core.models import User
from roster.demo import MUNICIPALITIES, seed_demo
from roster.models import Category, DutyShift, Municipality, Official
from roster.services import general_roster, get_municipality, shifts_covering
from tests.conftest import login


def _counts() -> dict:
    return {
        model.__name__: db.session.scalar(db.select(db.func.count()).select_from(model))
        for model in (Municipality, Official, Category, DutyShift, User)
    }


def test_seed_loads_tula_oblast_and_is_idempotent(app):
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    assert seed_demo(now) > 0
    db.session.commit()
    first = _counts()
    assert first["Municipality"] == len(MUNICIPALITIES) == 26
    assert first["Official"] == 78 and first["User"] == 5
    assert seed_demo(now) == 0
    db.session.commit()
    assert _counts() == first


def test_seeded_roster_covers_now_and_thirty_days(app):
    now = datetime(2026, 11, 22, 5, 0, tzinfo=UTC)  # 08:00 in Tula, before the 09:00 handoff
    seed_demo(now)
    db.session.commit()
    roster = general_roster(get_municipality("tula"))
    for moment in (now, datetime(2026, 12, 22, 5, 59, tzinfo=UTC)):
        slots = shifts_covering(roster, moment)
        assert all(slots.values()), moment
        assert len({shift.official_id for shift in slots.values()}) == 3


def test_every_demo_login_works(app, client):
    seed_demo()
    db.session.commit()
    for username in ("operator", "official", "head", "manager", "admin"):
        fresh = app.test_client()
        response = login(fresh, username, "hotline-demo")
        assert response.status_code == 302, username
        assert fresh.get("/").status_code == 200


def test_demo_roster_page_has_all_slots_covered(app, monkeypatch):
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    monkeypatch.setattr("core.clock.now_source", lambda: now)
    seed_demo(now)
    db.session.commit()
    client = app.test_client()
    login(client, "admin", "hotline-demo")
    page = client.get("/roster/tula")
    assert page.status_code == 200
    assert page.text.count('class="stretch now"') == 3
    assert "Все три роли закрыты на ближайшие 14 дней." in page.text
