"""Who is on duty: boundaries, precedence, the regulation, folding, absences, one query."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event

from core.extensions import db
from roster.models import Regulation, Roster
from roster.services import general_roster, resolve_on_duty
from tests.factories import (
    make_absence,
    make_category,
    make_municipality,
    make_official,
    make_shift,
    make_trio,
)

T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # 09:00 in Moscow
DAY = timedelta(days=1)


@pytest.fixture
def place(app):
    return make_municipality("alpha")


@pytest.fixture
def trio(place):
    return make_trio(place)


@pytest.fixture
def roster(place):
    return general_roster(place)


def _daily(roster, trio, days=3):
    for day in range(days):
        start = T0 + day * DAY
        first, second = (trio[0], trio[1]) if day % 2 == 0 else (trio[1], trio[0])
        make_shift(roster, "primary", first, start, start + DAY)
        make_shift(roster, "backup", second, start, start + DAY)
        make_shift(roster, "supervisor", trio[2], start, start + DAY)


def test_handoff_moment_belongs_to_the_next_shift(place, trio, roster):
    _daily(roster, trio)
    before = resolve_on_duty(place, None, T0 + DAY - timedelta(microseconds=1))
    at_handoff = resolve_on_duty(place, None, T0 + DAY)
    assert before.primary.full_name == "Иванов Иван"
    assert at_handoff.primary.full_name == "Петров Пётр"
    assert at_handoff.backup.full_name == "Иванов Иван"
    assert at_handoff.supervisor.phone == trio[2].phone
    assert [slot.role for slot in at_handoff.chain()] == ["primary", "backup", "supervisor"]
    assert at_handoff.roster_id == roster.id and at_handoff.at == T0 + DAY


def test_empty_slot_is_none_and_never_guessed(place, trio, roster):
    make_shift(roster, "primary", trio[0], T0, T0 + DAY)
    make_shift(roster, "backup", trio[1], T0 + DAY, T0 + 2 * DAY)
    on_duty = resolve_on_duty(place, None, T0 + timedelta(hours=3))
    assert on_duty.backup is None and on_duty.supervisor is None
    assert on_duty.empty_roles() == ["backup", "supervisor"]
    assert on_duty.as_dict()["backup"] is None
    assert resolve_on_duty(place, None, T0 - timedelta(seconds=1)).chain() == []


def test_override_wins_over_swap_and_rotation(place, trio, roster):
    _daily(roster, trio, days=1)
    swapped_in = make_official(place, "+79001230009", "Обменов Олег")
    covering = make_official(place, "+79001230010", "Заменов Захар")
    make_shift(roster, "primary", swapped_in, T0, T0 + DAY, kind="swap")
    noon = T0 + timedelta(hours=6)
    override = make_shift(roster, "primary", covering, noon, noon + timedelta(hours=2), "override")
    assert resolve_on_duty(place, None, T0).primary.official_id == swapped_in.id
    covered = resolve_on_duty(place, None, noon)
    assert covered.primary.official_id == covering.id
    assert covered.primary.shift_id == override.id
    after = resolve_on_duty(place, None, noon + timedelta(hours=2))
    assert after.primary.official_id == swapped_in.id


def test_same_person_in_two_slots_is_returned_once_in_the_higher(place, trio, roster):
    make_shift(roster, "primary", trio[2], T0, T0 + DAY)
    make_shift(roster, "backup", trio[1], T0, T0 + DAY)
    make_shift(roster, "supervisor", trio[2], T0, T0 + DAY)
    on_duty = resolve_on_duty(place, None, T0)
    assert on_duty.supervisor is None
    assert on_duty.folded == {"supervisor": "primary"}
    assert on_duty.empty_roles() == []
    assert [slot.official_id for slot in on_duty.chain()] == [trio[2].id, trio[1].id]
    assert on_duty.as_dict()["folded"] == {"supervisor": "primary"}


def test_regulation_sends_a_category_to_its_special_roster(place, trio, roster):
    _daily(roster, trio, days=1)
    utilities = Roster(municipality_id=place.id, code="utilities", name="Диспетчер ЖКХ")
    db.session.add(utilities)
    db.session.flush()
    heating, roads = make_category("heating", "emergency"), make_category("roads")
    db.session.add(
        Regulation(municipality_id=place.id, category_id=heating.id, roster_id=utilities.id)
    )
    make_shift(utilities, "primary", trio[2], T0, T0 + DAY)
    by_heating = resolve_on_duty(place, heating, T0)
    assert by_heating.roster_id == utilities.id
    assert by_heating.primary.official_id == trio[2].id and by_heating.backup is None
    by_roads = resolve_on_duty(place, roads, T0)
    assert by_roads.roster_id == roster.id and by_roads.primary.official_id == trio[0].id


def test_municipality_without_roster(app):
    place = make_municipality("beta")
    db.session.delete(general_roster(place))
    db.session.flush()
    on_duty = resolve_on_duty(place, None, T0)
    assert on_duty.roster_id is None and on_duty.chain() == []
    assert on_duty.empty_roles() == ["primary", "backup", "supervisor"]


def test_absent_or_deactivated_official_leaves_the_slot_empty(place, trio, roster):
    _daily(roster, trio, days=1)
    make_absence(trio[0], T0 + timedelta(hours=2), T0 + 3 * DAY, reason="sick")
    trio[2].active = False
    db.session.flush()
    assert resolve_on_duty(place, None, T0 + timedelta(hours=1)).primary is not None
    later = resolve_on_duty(place, None, T0 + timedelta(hours=2))
    assert later.primary is None and later.supervisor is None
    assert later.backup.official_id == trio[1].id


def test_resolver_is_one_query(place, trio, roster):
    _daily(roster, trio, days=3)
    db.session.commit()
    place_id = place.id  # load the expired object before counting
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        on_duty = resolve_on_duty(place, None, T0 + DAY)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert on_duty.primary is not None
    assert on_duty.municipality_id == place_id
    assert len(statements) == 1
