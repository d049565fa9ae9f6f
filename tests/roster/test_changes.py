"""Rotations materialised in local time, overrides, swaps, unavailability and the gap check."""

from datetime import UTC, date, datetime, time, timedelta

import pytest

from core.events import timeline
from core.extensions import db
from roster import jobs
from roster.models import DutyShift, RosterGap
from roster.services import (
    RosterError,
    add_override,
    add_unavailability,
    check_gaps,
    extend_rotation,
    general_roster,
    remove_unavailability,
    resolve_on_duty,
    save_rotation,
    swap_shifts,
)
from tests.factories import make_absence, make_municipality, make_official, make_trio

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture
def berlin(app):
    return make_municipality("berlin", tz="Europe/Berlin")


@pytest.fixture
def trio(berlin):
    return make_trio(berlin)


@pytest.fixture
def roster(berlin):
    return general_roster(berlin)


def _rows(roster, role):
    return db.session.scalars(
        db.select(DutyShift)
        .where(DutyShift.roster_id == roster.id, DutyShift.role == role)
        .order_by(DutyShift.starts_at)
    ).all()


def _full_rotation(roster, trio, now=NOW):
    """Primary alternates between the first two, a deputy is backup, the head supervises."""
    deputy = make_official(roster.municipality, "+79001239999", "Замов Зиновий")
    save_rotation(
        roster, "primary", [trio[0].id, trio[1].id], time(9), 1, date(2026, 3, 1), now=now
    )
    save_rotation(roster, "backup", [deputy.id], time(9), 1, date(2026, 3, 1), now=now)
    save_rotation(roster, "supervisor", [trio[2].id], time(9), 7, date(2026, 3, 2), now=now)


def test_rotation_is_materialised_in_local_time_across_the_dst_change(berlin, trio, roster):
    _full_rotation(roster, trio)
    rows = _rows(roster, "primary")
    assert rows[0].starts_at <= NOW < rows[0].ends_at  # the shift covering now is there
    assert rows[-1].ends_at >= NOW + timedelta(days=60)
    for previous, following in zip(rows, rows[1:], strict=False):
        assert previous.ends_at == following.starts_at
        assert previous.official_id != following.official_id
    change = [r for r in rows if r.starts_at == datetime(2026, 3, 28, 8, tzinfo=UTC)]
    assert change and change[0].ends_at == datetime(2026, 3, 29, 7, tzinfo=UTC)  # 23 hours
    assert {r.starts_at.astimezone(berlin_zone()).time() for r in rows} == {time(9)}
    weekly = _rows(roster, "supervisor")
    assert all(
        r.ends_at - r.starts_at in {7 * DAY, 7 * DAY - timedelta(hours=1)} for r in weekly[1:]
    )
    events = [e.verb for e in timeline("roster", roster.id)]
    assert events.count("rotation.saved") == 3


def berlin_zone():
    from zoneinfo import ZoneInfo

    return ZoneInfo("Europe/Berlin")


def test_extension_fills_the_horizon_once(berlin, trio, roster):
    rotation = save_rotation(roster, "primary", [trio[0].id], time(9), 1, date(2026, 3, 1), now=NOW)
    count = len(_rows(roster, "primary"))
    assert extend_rotation(rotation, NOW) == 0
    assert extend_rotation(rotation, NOW + 5 * DAY) == 5
    assert extend_rotation(rotation, NOW + 5 * DAY) == 0
    assert len(_rows(roster, "primary")) == count + 5


def test_changing_the_rotation_keeps_the_current_shift_until_the_new_handoff(berlin, trio, roster):
    save_rotation(
        roster, "primary", [trio[0].id, trio[1].id], time(9), 1, date(2026, 3, 1), now=NOW
    )
    holder = resolve_on_duty(berlin, None, NOW).primary.official_id
    # from tomorrow the handoff moves to 10:00 and only the head takes turns
    save_rotation(roster, "primary", [trio[2].id], time(10), 1, date(2026, 3, 21), now=NOW)
    assert resolve_on_duty(berlin, None, NOW).primary.official_id == holder
    old_handoff = datetime(2026, 3, 21, 8, tzinfo=UTC)  # 09:00 CET, the old rotation's time
    just_before = old_handoff - timedelta(seconds=1)
    assert resolve_on_duty(berlin, None, just_before).primary.official_id == holder
    # the old order runs on until the new rotation's first handoff at 10:00 CET
    next_one = resolve_on_duty(berlin, None, old_handoff).primary.official_id
    assert next_one not in (holder, trio[2].id)
    handoff = datetime(2026, 3, 21, 9, tzinfo=UTC)
    assert resolve_on_duty(berlin, None, handoff).primary.official_id == trio[2].id
    rows = _rows(roster, "primary")
    for previous, following in zip(rows, rows[1:], strict=False):
        assert previous.ends_at == following.starts_at


def test_override_wins_and_can_be_refused_for_an_absent_official(berlin, trio, roster):
    _full_rotation(roster, trio)
    start = datetime(2026, 3, 22, 8, tzinfo=UTC)
    stand_in = make_official(berlin, "+79001238888", "Подменов Пётр")
    add_override(
        roster, "primary", stand_in, start, start + timedelta(hours=4), "совещание", now=NOW
    )
    on_duty = resolve_on_duty(berlin, None, start + timedelta(hours=1))
    assert on_duty.primary.official_id == stand_in.id
    after = resolve_on_duty(berlin, None, start + timedelta(hours=4))
    assert after.primary.official_id != stand_in.id
    make_absence(trio[1], datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 4, 15, tzinfo=UTC))
    with pytest.raises(RosterError) as refused:
        add_override(
            roster,
            "backup",
            trio[1],
            datetime(2026, 4, 2, tzinfo=UTC),
            datetime(2026, 4, 3, tzinfo=UTC),
            now=NOW,
        )
    assert "Петров Пётр" in refused.value.message
    assert refused.value.field == "official_id"


def test_override_periods_are_checked(berlin, trio, roster):
    for start, end, field in (
        (NOW + DAY, NOW, "ends_at"),
        (NOW - 3 * DAY, NOW - 2 * DAY, "ends_at"),
        (NOW, NOW + 40 * DAY, "ends_at"),
    ):
        with pytest.raises(RosterError) as refused:
            add_override(roster, "primary", trio[0], start, end, now=NOW)
        assert refused.value.field == field
    other = make_municipality("other")
    stranger = make_trio(other, prefix="+7900999")[0]
    with pytest.raises(RosterError, match="не работает"):
        add_override(roster, "primary", stranger, NOW, NOW + DAY, now=NOW)


def test_swap_exchanges_two_officials_shifts(berlin, trio, roster, monkeypatch):
    monkeypatch.setattr("core.clock.now_source", lambda: NOW)
    _full_rotation(roster, trio)
    rows = [r for r in _rows(roster, "primary") if r.starts_at > NOW][:2]
    first, second = rows
    swap_shifts(first, second, "личные обстоятельства")
    assert resolve_on_duty(berlin, None, first.starts_at).primary.official_id == second.official_id
    assert resolve_on_duty(berlin, None, second.starts_at).primary.official_id == first.official_id
    assert "shifts.swapped" in [e.verb for e in timeline("roster", roster.id)]


def test_swap_is_refused_when_it_puts_an_absent_official_on_duty(berlin, trio, roster, monkeypatch):
    monkeypatch.setattr("core.clock.now_source", lambda: NOW)
    _full_rotation(roster, trio)
    first, second = [r for r in _rows(roster, "primary") if r.starts_at > NOW][:2]
    make_absence(db.session.get(type(trio[0]), second.official_id), first.starts_at, first.ends_at)
    with pytest.raises(RosterError, match="отсутствует"):
        swap_shifts(first, second)
    with pytest.raises(RosterError):
        swap_shifts(first, first)


def test_rotation_that_puts_an_absent_official_on_duty_is_refused(berlin, trio, roster):
    make_absence(trio[1], datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 4, 10, tzinfo=UTC))
    with pytest.raises(RosterError) as refused:
        save_rotation(
            roster, "primary", [trio[0].id, trio[1].id], time(9), 1, date(2026, 3, 1), now=NOW
        )
    assert "Петров Пётр" in refused.value.message
    assert refused.value.field == "officials"
    # covering his duty days with overrides first makes the rotation acceptable
    for day in range(0, 10):
        start = datetime(2026, 3, 31, 7, tzinfo=UTC) + day * DAY
        if start.astimezone(berlin_zone()).hour != 9:
            start -= timedelta(hours=1)
        add_override(roster, "primary", trio[2], start, start + DAY, now=NOW)
    save_rotation(
        roster, "primary", [trio[0].id, trio[1].id], time(9), 1, date(2026, 3, 1), now=NOW
    )


def test_extension_skips_absent_slots_then_fills_them_when_the_absence_goes(berlin, trio, roster):
    rotation = save_rotation(
        roster, "primary", [trio[0].id, trio[1].id], time(9), 1, date(2026, 3, 1), now=NOW
    )
    absence, left_open = add_unavailability(
        trio[1], NOW + 70 * DAY, NOW + 72 * DAY, "sick", "грипп"
    )
    assert left_open == []  # nothing planned that far yet
    assert extend_rotation(rotation, NOW + 15 * DAY) == 13  # one slot refused
    assert "rotation.shifts_refused" in [e.verb for e in timeline("roster", roster.id)]
    remove_unavailability(absence)
    assert extend_rotation(rotation, NOW + 15 * DAY) == 2


def test_unavailability_over_planned_duty_shows_as_a_gap(berlin, trio, roster):
    _full_rotation(roster, trio)
    _, left_open = add_unavailability(trio[0], NOW, NOW + 3 * DAY, "vacation")
    assert left_open and all(duty.absence is not None for duty in left_open)
    gaps = check_gaps(berlin, NOW)
    assert {gap.reason for gap in gaps} == {"unavailable"}
    assert {gap.role for gap in gaps} == {"primary"}


def test_gap_check_reports_every_uncovered_role_and_interval(berlin, trio, roster):
    save_rotation(roster, "primary", [trio[0].id], time(9), 1, date(2026, 3, 1), now=NOW)
    gaps = check_gaps(berlin, NOW)
    assert [(g.role, g.starts_at, g.ends_at, g.reason) for g in gaps] == [
        ("backup", NOW, NOW + 14 * DAY, "empty"),
        ("supervisor", NOW, NOW + 14 * DAY, "empty"),
    ]
    found = [e for e in timeline("municipality", berlin.id) if e.verb == "roster.gaps_found"]
    assert len(found) == 1 and len(found[0].data["gaps"]) == 2
    check_gaps(berlin, NOW + timedelta(minutes=5))  # unchanged: no second report
    found = [e for e in timeline("municipality", berlin.id) if e.verb == "roster.gaps_found"]
    assert len(found) == 1
    save_rotation(roster, "backup", [trio[1].id], time(9), 1, date(2026, 3, 1), now=NOW)
    save_rotation(roster, "supervisor", [trio[2].id], time(9), 1, date(2026, 3, 1), now=NOW)
    assert check_gaps(berlin, NOW) == []
    assert "roster.gaps_closed" in [e.verb for e in timeline("municipality", berlin.id)]


def test_refresh_job_extends_and_checks_after_a_change(berlin, trio, roster, monkeypatch):
    monkeypatch.setattr("core.clock.now_source", lambda: NOW)
    save_rotation(roster, "primary", [trio[0].id], time(9), 1, date(2026, 3, 1), now=NOW)
    db.session.commit()
    from core.queue import get_queue

    assert get_queue().fetch_job(f"roster-refresh-{berlin.id}") is not None
    monkeypatch.setattr("core.clock.now_source", lambda: NOW + 2 * DAY)
    jobs.refresh_roster(berlin.id)
    jobs.refresh_roster(berlin.id)  # safe to run twice
    gaps = db.session.scalars(db.select(RosterGap)).all()
    assert {g.role for g in gaps} == {"backup", "supervisor"}
    assert _rows(roster, "primary")[-1].ends_at >= NOW + 62 * DAY
