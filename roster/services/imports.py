"""CSV import (all or nothing, with a dry run) and export of officials and shifts."""

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import insert

from core import clock
from core.events import record_event
from core.extensions import db
from core.models import User
from core.parsing import check_year
from core.spreadsheets import csv_text, unguard_text
from roster import rules
from roster.models import DUTY_ROLES, DutyShift, Municipality, Official, Roster, ShiftKind
from roster.services.changes import add_overrides, check_override
from roster.services.common import RosterError
from roster.services.duties import absences_of

OFFICIAL_COLUMNS = ["municipality", "full_name", "position", "phone", "active"]
SHIFT_COLUMNS = ["municipality", "roster", "role", "phone", "starts_at", "ends_at", "note"]
_REQUIRED = {
    "officials": {"municipality", "full_name", "phone"},
    "shifts": {"municipality", "role", "phone", "starts_at", "ends_at"},
}
_TRUE = {"1", "true", "yes", "да", "y", "д", ""}
_FALSE = {"0", "false", "no", "нет", "n", "н"}


@dataclass(frozen=True)
class RowError:
    row: int  # the line in the file; the header is line 1
    field: str | None
    message: str


@dataclass(frozen=True)
class RowChange:
    row: int
    action: str  # create | update | unchanged
    summary: str


@dataclass
class ImportReport:
    what: str
    dry_run: bool
    changes: list[RowChange] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def written(self) -> bool:
        return (
            not self.dry_run
            and not self.errors
            and any(change.action != "unchanged" for change in self.changes)
        )

    def counts(self) -> dict[str, int]:
        result = {"create": 0, "update": 0, "unchanged": 0}
        for change in self.changes:
            result[change.action] += 1
        return result


def _read(text: str, what: str, report: ImportReport) -> list[tuple[int, dict]]:
    text = text.lstrip("\ufeff")
    if not text.strip():
        report.errors.append(RowError(1, None, _("The file is empty.")))
        return []
    first_line = text.splitlines()[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = [name.strip().lower() for name in reader.fieldnames or []]
    missing = sorted(_REQUIRED[what] - set(header))
    if missing:
        report.errors.append(
            RowError(1, None, _("Missing columns: %(columns)s.", columns=", ".join(missing)))
        )
        return []
    reader.fieldnames = header
    rows = []
    for row in reader:
        values = {key: unguard_text((value or "").strip()) for key, value in row.items() if key}
        if any(values.values()):
            rows.append((reader.line_num, values))
    if not rows:
        report.errors.append(RowError(1, None, _("The file has no data rows.")))
    return rows


def _municipalities() -> dict[str, Municipality]:
    return {m.code: m for m in db.session.scalars(db.select(Municipality))}


def import_officials(text: str, dry_run: bool = True, *, actor: User | None = None) -> ImportReport:
    """Create or update officials from CSV; write nothing if any row is wrong or on a dry run.

    Columns: municipality (code), full_name, position, phone, active. An official is found by
    municipality and phone.
    """
    report = ImportReport("officials", dry_run)
    places = _municipalities()
    seen: set[tuple[int, str]] = set()
    planned = []
    for line, values in _read(text, "officials", report):
        place = places.get(values.get("municipality", ""))
        if place is None:
            report.errors.append(
                RowError(line, "municipality", _("No municipality with this code."))
            )
            continue
        try:
            phone = rules.normalise_phone(values.get("phone", ""))
        except ValueError:
            report.errors.append(RowError(line, "phone", _("Not a valid phone number.")))
            continue
        name = values.get("full_name", "")
        if not name:
            report.errors.append(RowError(line, "full_name", _("The name is empty.")))
            continue
        active_text = values.get("active", "").lower()
        if active_text not in _TRUE | _FALSE:
            report.errors.append(RowError(line, "active", _("Write yes or no.")))
            continue
        if (place.id, phone) in seen:
            report.errors.append(
                RowError(line, "phone", _("This phone appears twice for the municipality."))
            )
            continue
        seen.add((place.id, phone))
        planned.append((line, place, name, values.get("position", ""), phone, active_text))
    if report.errors:
        return report
    known = _officials_by_phone({place.id for _, place, *_rest in planned}, seen)
    created = []
    for line, place, name, position, phone, active_text in planned:
        official = known.get((place.id, phone))
        active = active_text not in _FALSE
        wanted = {"full_name": name[:200], "position": position[:200], "active": active}
        summary = f"{place.code}: {name}, {phone}"
        if official is None:
            report.changes.append(RowChange(line, "create", summary))
            created.append({"municipality_id": place.id, "phone": phone, **wanted})
        elif any(getattr(official, key) != value for key, value in wanted.items()):
            report.changes.append(RowChange(line, "update", summary))
            if not dry_run:
                for key, value in wanted.items():
                    setattr(official, key, value)
        else:
            report.changes.append(RowChange(line, "unchanged", summary))
    if report.written:
        if created:
            db.session.execute(insert(Official), created)
        db.session.flush()
        record_event("system", "roster", "officials.imported", report.counts(), actor=actor)
    return report


def _officials_by_phone(place_ids: set[int], keys: set[tuple[int, str]]) -> dict:
    """Return the officials with these (municipality, phone) keys, by key, in one query."""
    if not keys:
        return {}
    phones = {phone for _, phone in keys}
    rows = db.session.scalars(
        db.select(Official).where(
            Official.municipality_id.in_(place_ids), Official.phone.in_(phones)
        )
    )
    return {(row.municipality_id, row.phone): row for row in rows}


def _parse_moment(text: str, place: Municipality) -> datetime:
    moment = datetime.fromisoformat(text.replace(" ", "T", 1) if "T" not in text else text)
    check_year(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(place.timezone))
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class _PlannedShift:
    line: int
    roster: Roster
    role: str
    official: Official
    starts_at: datetime
    ends_at: datetime
    note: str
    summary: str

    @property
    def key(self) -> tuple:
        return (self.roster.id, self.role, self.official.id, self.starts_at, self.ends_at)


def _rosters_and_officials(places: list[Municipality]) -> tuple[dict, dict]:
    """Return the rosters by (municipality, code or None) and officials by (municipality, phone)."""
    ids = [place.id for place in places]
    rosters: dict[tuple[int, str | None], Roster] = {}
    for roster in db.session.scalars(db.select(Roster).where(Roster.municipality_id.in_(ids))):
        rosters[(roster.municipality_id, roster.code)] = roster
        if roster.is_general:
            rosters[(roster.municipality_id, None)] = roster
    officials = {
        (official.municipality_id, official.phone): official
        for official in db.session.scalars(
            db.select(Official).where(Official.municipality_id.in_(ids))
        )
    }
    return rosters, officials


def _plan_shifts(rows: list[tuple[int, dict]], report: ImportReport) -> list[_PlannedShift]:
    """Check each row against rosters and officials loaded once; note the wrong rows."""
    places = _municipalities()
    mentioned = {places[v["municipality"]] for _, v in rows if v.get("municipality") in places}
    rosters, officials = _rosters_and_officials(list(mentioned))
    planned = []
    for line, values in rows:
        place = places.get(values.get("municipality", ""))
        if place is None:
            report.errors.append(
                RowError(line, "municipality", _("No municipality with this code."))
            )
            continue
        roster = rosters.get((place.id, values.get("roster") or None))
        if roster is None:
            report.errors.append(RowError(line, "roster", _("No roster with this code.")))
            continue
        role = values.get("role", "").lower()
        if role not in DUTY_ROLES:
            report.errors.append(RowError(line, "role", _("Write primary, backup or supervisor.")))
            continue
        try:
            phone = rules.normalise_phone(values.get("phone", ""))
        except ValueError:
            report.errors.append(RowError(line, "phone", _("Not a valid phone number.")))
            continue
        official = officials.get((place.id, phone))
        if official is None:
            report.errors.append(
                RowError(line, "phone", _("No official of this municipality has this phone."))
            )
            continue
        moments = {}
        for column in ("starts_at", "ends_at"):
            try:
                moments[column] = _parse_moment(values.get(column, ""), place)
            except ValueError:
                report.errors.append(
                    RowError(line, column, _("Write the time as 2026-03-01T09:00 (ISO 8601)."))
                )
        if len(moments) < 2:
            continue
        summary = (
            f"{place.code}/{roster.code} {role}: {official.full_name}, "
            f"{values['starts_at']} – {values['ends_at']}"
        )
        planned.append(
            _PlannedShift(
                line,
                roster,
                role,
                official,
                moments["starts_at"],
                moments["ends_at"],
                values.get("note", ""),
                summary,
            )
        )
    return planned


def _existing_overrides(planned: list[_PlannedShift]) -> set[tuple]:
    """Return the keys of the override rows that exist already for the planned ones."""
    if not planned:
        return set()
    rows = db.session.execute(
        db.select(
            DutyShift.roster_id,
            DutyShift.role,
            DutyShift.official_id,
            DutyShift.starts_at,
            DutyShift.ends_at,
        ).where(
            DutyShift.kind == ShiftKind.OVERRIDE,
            DutyShift.roster_id.in_({shift.roster.id for shift in planned}),
            DutyShift.starts_at >= min(shift.starts_at for shift in planned),
            DutyShift.starts_at <= max(shift.starts_at for shift in planned),
        )
    )
    return {tuple(row) for row in rows}


def import_shifts(text: str, dry_run: bool = True, *, actor: User | None = None) -> ImportReport:
    """Add override shifts from CSV; write nothing if any row is wrong or on a dry run.

    Columns: municipality, roster (code, default the general one), role, phone, starts_at,
    ends_at (ISO 8601; without an offset read in the municipality's time zone), note. Each
    row is checked as the override form checks it, absences included.
    """
    report = ImportReport("shifts", dry_run)
    rows = _read(text, "shifts", report)
    if report.errors:
        return report
    planned = _plan_shifts(rows, report)
    existing = _existing_overrides(planned)
    absences = (
        absences_of(
            {shift.official.id for shift in planned},
            min(shift.starts_at for shift in planned),
            max(shift.ends_at for shift in planned),
        )
        if planned
        else []
    )
    now = clock.utcnow()
    made = []
    for shift in planned:
        if shift.key in existing:
            report.changes.append(RowChange(shift.line, "unchanged", shift.summary))
            continue
        try:
            made.append(
                check_override(
                    shift.roster,
                    shift.role,
                    shift.official,
                    shift.starts_at,
                    shift.ends_at,
                    shift.note,
                    now=now,
                    known_absences=absences,
                )
            )
        except RosterError as error:
            report.errors.append(RowError(shift.line, error.field, error.message))
            continue
        existing.add(shift.key)
        report.changes.append(RowChange(shift.line, "create", shift.summary))
    report.errors.sort(key=lambda error: error.row)
    if report.written:
        add_overrides(made, actor=actor)
        record_event("system", "roster", "shifts.imported", report.counts(), actor=actor)
        db.session.flush()
    return report


def export_officials(places: list[Municipality]) -> str:
    """Return the officials of these municipalities as CSV, in the import's columns."""
    codes = {place.id: place.code for place in places}
    officials = db.session.scalars(
        db.select(Official)
        .where(Official.municipality_id.in_(codes))
        .order_by(Official.municipality_id, Official.full_name)
    )
    rows = [
        [
            codes[official.municipality_id],
            official.full_name,
            official.position,
            official.phone,
            "yes" if official.active else "no",
        ]
        for official in officials
    ]
    return csv_text(OFFICIAL_COLUMNS, rows)


def export_shifts(place: Municipality, since: datetime, until: datetime) -> str:
    """Return the municipality's shift rows overlapping [since, until) as CSV (local times)."""
    zone = ZoneInfo(place.timezone)
    found = db.session.execute(
        db.select(DutyShift, Roster.code, Official)
        .join(Roster, Roster.id == DutyShift.roster_id)
        .join(Official, Official.id == DutyShift.official_id)
        .where(
            Roster.municipality_id == place.id,
            DutyShift.starts_at < until,
            DutyShift.ends_at > since,
        )
        .order_by(DutyShift.starts_at, Roster.code, DutyShift.role, DutyShift.id)
    ).all()
    rows = [
        [
            place.code,
            roster_code,
            shift.role,
            official.phone,
            shift.starts_at.astimezone(zone).isoformat(timespec="minutes"),
            shift.ends_at.astimezone(zone).isoformat(timespec="minutes"),
            shift.note,
            official.full_name,
            shift.kind,
        ]
        for shift, roster_code, official in found
    ]
    return csv_text([*SHIFT_COLUMNS, "full_name", "kind"], rows)
