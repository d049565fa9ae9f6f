"""Pure roster rules: rotations across daylight-saving changes, layering, folding, phones."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from roster import rules

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def _utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def _assert_contiguous(slots):
    for previous, following in zip(slots, slots[1:], strict=False):
        assert previous.ends_at == following.starts_at


@pytest.mark.parametrize(
    ("zone", "change_day"),
    [(BERLIN, date(2026, 3, 29)), (BERLIN, date(2026, 10, 25)), (NEW_YORK, date(2026, 3, 8))],
)
def test_daily_rotation_keeps_local_handoff_across_dst(zone, change_day):
    slots = rules.rotation_slots(
        date(2026, 1, 1),
        time(9, 0),
        1,
        [1, 2, 3],
        zone,
        datetime.combine(change_day - timedelta(days=3), time(0), zone),
        datetime.combine(change_day + timedelta(days=3), time(0), zone),
    )
    _assert_contiguous(slots)
    assert all(slot.starts_at.astimezone(zone).time() == time(9, 0) for slot in slots)
    lengths = {
        slot.starts_at.astimezone(zone).date(): slot.ends_at - slot.starts_at for slot in slots
    }
    # the shift running through the change night is an hour shorter (spring) or longer (autumn)
    night_before = change_day - timedelta(days=1)
    assert lengths[night_before] in (timedelta(hours=23), timedelta(hours=25))
    assert all(
        length == timedelta(hours=24) for day, length in lengths.items() if day != night_before
    )
    # officials take turns in order, one slot after the other
    assert [slot.official_id for slot in slots[:3]] == [
        [1, 2, 3][slots[0].index % 3],
        [1, 2, 3][(slots[0].index + 1) % 3],
        [1, 2, 3][(slots[0].index + 2) % 3],
    ]


def test_spring_change_in_berlin_gives_a_23_hour_shift_without_gap():
    slots = rules.rotation_slots(
        date(2026, 3, 27), time(9, 0), 1, [7, 8], BERLIN, _utc(2026, 3, 28, 0), _utc(2026, 3, 30, 0)
    )
    by_start = {(s.starts_at, s.ends_at) for s in slots}
    # 28 March 09:00 CET = 08:00 UTC until 29 March 09:00 CEST = 07:00 UTC
    assert (_utc(2026, 3, 28, 8), _utc(2026, 3, 29, 7)) in by_start
    _assert_contiguous(slots)


def test_handoff_in_the_skipped_hour_stays_contiguous():
    # 02:30 does not exist in Berlin on 29 March 2026
    slots = rules.rotation_slots(
        date(2026, 3, 20), time(2, 30), 1, [1, 2], BERLIN, _utc(2026, 3, 27), _utc(2026, 4, 1)
    )
    _assert_contiguous(slots)
    changed = [s for s in slots if s.starts_at.astimezone(BERLIN).date() == date(2026, 3, 29)]
    assert changed[0].starts_at == _utc(2026, 3, 29, 1, 30)  # read as 03:30 summer time
    assert all(s.ends_at > s.starts_at for s in slots)


def test_autumn_change_in_new_york_weekly_rotation():
    slots = rules.rotation_slots(
        date(2026, 10, 26), time(8, 0), 7, [1, 2], NEW_YORK, _utc(2026, 10, 27), _utc(2026, 11, 20)
    )
    _assert_contiguous(slots)
    assert slots[0].ends_at - slots[0].starts_at == timedelta(days=7, hours=1)
    assert all(s.starts_at.astimezone(NEW_YORK).time() == time(8, 0) for s in slots)
    assert [s.official_id for s in slots] == [1, 2, 1, 2][: len(slots)]


def test_rotation_does_not_begin_before_its_first_day():
    slots = rules.rotation_slots(
        date(2026, 5, 10), time(9, 0), 1, [1], BERLIN, _utc(2026, 5, 1), _utc(2026, 5, 12)
    )
    assert slots[0].index == 0
    assert slots[0].starts_at == _utc(2026, 5, 10, 7)


def test_override_wins_over_swap_wins_over_rotation():
    rotation = rules.Layer(1, 10, _utc(2026, 1, 1, 6), _utc(2026, 1, 2, 6), "rotation")
    swap = rules.Layer(2, 20, _utc(2026, 1, 1, 6), _utc(2026, 1, 2, 6), "swap")
    override = rules.Layer(3, 30, _utc(2026, 1, 1, 12), _utc(2026, 1, 1, 14), "override")
    segments = rules.effective_segments(
        [override, swap, rotation], _utc(2026, 1, 1, 0), _utc(2026, 1, 2, 12)
    )
    assert [(s.starts_at.hour, s.official_id) for s in segments] == [
        (0, None),
        (6, 20),
        (12, 30),
        (14, 20),
        (6, None),
    ]
    gaps = rules.find_gaps("primary", segments)
    assert [(g.starts_at, g.ends_at) for g in gaps] == [
        (_utc(2026, 1, 1, 0), _utc(2026, 1, 1, 6)),
        (_utc(2026, 1, 2, 6), _utc(2026, 1, 2, 12)),
    ]


def test_absence_makes_an_unavailable_gap_and_a_conflict():
    row = rules.Layer(None, 10, _utc(2026, 1, 1, 6), _utc(2026, 1, 2, 6))
    absence = rules.Absence(10, _utc(2026, 1, 1, 20), _utc(2026, 1, 5))
    segments = rules.mark_absences(
        rules.effective_segments([row], row.starts_at, row.ends_at), [absence]
    )
    assert [g.reason for g in rules.find_gaps("backup", segments)] == ["unavailable"]
    assert len(rules.absence_conflicts([row], [], [absence])) == 1
    cover = rules.Layer(5, 11, _utc(2026, 1, 1, 18), _utc(2026, 1, 2, 6), "override")
    assert rules.absence_conflicts([row], [cover], [absence]) == []


def test_same_person_is_kept_in_the_higher_slot():
    slots, folded = rules.fold_duplicates({"primary": 1, "backup": 2, "supervisor": 1})
    assert slots == {"primary": 1, "backup": 2, "supervisor": None}
    assert folded == {"supervisor": "primary"}


def test_phones_are_normalised_to_e164_or_refused():
    assert rules.normalise_phone("8 (900) 123-45-67") == "+79001234567"
    assert rules.normalise_phone("+7 4872 70-01-01") == "+74872700101"
    for bad in ("", "12345", "not a phone", "+7 000 000 00 00"):
        with pytest.raises(ValueError):
            rules.normalise_phone(bad)
