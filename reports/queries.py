"""SQL building blocks: periods in each municipality's zone, durations and the metric filters."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Float, Integer, and_, case, cast, func, literal, or_, true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from callbacks.models import OPEN_STATES, Card
from core.dbtypes import UTCDateTime
from hotline.models import CallOutcome, DialAttempt
from roster.rules import local_day_bounds

#: Longest period a report covers.
MAX_DAYS = 400


@dataclass(frozen=True)
class Period:
    """Whole local days from `first` to `last` inclusive."""

    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def previous(self) -> "Period":
        """Return the period of the same length right before this one."""
        return Period(self.first - timedelta(days=self.days), self.first - timedelta(days=1))

    def dates(self) -> list[date]:
        """Return every day of the period."""
        return [self.first + timedelta(days=offset) for offset in range(self.days)]

    def bounds(self, tz: str) -> tuple[datetime, datetime]:
        """Return the UTC instants of local midnight before the first and after the last day."""
        zone = ZoneInfo(tz)
        start, _ = local_day_bounds(self.first, zone)
        _, end = local_day_bounds(self.last, zone)
        return start, end


@dataclass(frozen=True)
class Scope:
    """What a report covers: a period, the municipalities (id → zone), a channel, the moment."""

    period: Period
    places: dict[int, str]
    now: datetime
    channel: str | None = None
    dialect: str = "sqlite"

    def with_period(self, period: Period) -> "Scope":
        """Return the same scope over another period."""
        return Scope(period, self.places, self.now, self.channel, self.dialect)

    def within(self, moment, municipality) -> list:
        """Return the conditions: the municipality is reported on and the moment is in its days."""
        if not self.places:
            return [municipality.in_([])]
        bounds = {place: self.period.bounds(tz) for place, tz in self.places.items()}
        conditions = [
            municipality.in_(sorted(bounds)),
            moment >= min(start for start, _ in bounds.values()),
            moment < max(end for _, end in bounds.values()),
        ]
        if len(set(bounds.values())) > 1:
            starts = {place: _instant(start) for place, (start, _) in bounds.items()}
            ends = {place: _instant(end) for place, (_, end) in bounds.items()}
            conditions.append(moment >= case(starts, value=municipality))
            conditions.append(moment < case(ends, value=municipality))
        return conditions

    def local_day(self, moment, municipality):
        """Return the local date of a moment in its municipality's zone, as SQL."""
        if self.dialect == "postgresql":
            zones = {place: literal(tz) for place, tz in self.places.items()}
            zone = (
                case(zones, value=municipality)
                if len(set(self.places.values())) > 1
                else (literal(next(iter(self.places.values()), "UTC")))
            )
            return cast(func.timezone(zone, moment), Date)
        start = datetime.combine(self.period.first, time())
        shifts = {
            place: literal(f"{int(ZoneInfo(tz).utcoffset(start).total_seconds()):+d} seconds")
            for place, tz in self.places.items()
        }
        if len(set(self.places.values())) > 1:
            return func.date(moment, case(shifts, value=municipality))
        return func.date(moment, next(iter(shifts.values()), literal("+0 seconds")))


def _instant(moment: datetime):
    return literal(moment, UTCDateTime())


class seconds_between(FunctionElement):
    """Seconds from the first moment to the second (fractional)."""

    type = Float()
    inherit_cache = True


@compiles(seconds_between)
def _seconds_between(element, compiler, **kw):
    start, end = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"CAST(EXTRACT(EPOCH FROM ({end} - {start})) AS DOUBLE PRECISION)"


@compiles(seconds_between, "sqlite")
def _seconds_between_sqlite(element, compiler, **kw):
    start, end = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"ROUND((julianday({end}) - julianday({start})) * 86400.0, 3)"


def call_metrics(accepted) -> dict:
    """Return the condition behind each call figure (`accepted` is the accepting attempt)."""
    metrics = {"routed": true(), "accepted": accepted.accepted_at.is_not(None)}
    for role in ("primary", "backup", "supervisor"):
        metrics[f"accepted_{role}"] = and_(accepted.accepted_at.is_not(None), accepted.role == role)
    return metrics


def attempt_metrics(call_table) -> dict:
    """Return the condition behind each figure of an official (rows are their attempts)."""
    return {
        "rung": true(),
        "accepted": DialAttempt.accepted_at.is_not(None),
        "not_accepted": DialAttempt.accepted_at.is_(None),
        "missed": call_table.outcome == CallOutcome.MISSED,
    }


def card_metrics(now: datetime) -> dict:
    """Return the condition behind each card figure (rows are cards of the period's calls)."""
    return {
        "missed": true(),
        "called_back": Card.called_back_at.is_not(None),
        "in_time": Card.called_back_at <= Card.callback_due_at,
        "late": late_condition(now),
    }


def late_condition(now: datetime):
    """A card not called back by its deadline, the deadline having passed."""
    return and_(
        Card.callback_due_at <= now,
        or_(Card.called_back_at.is_(None), Card.called_back_at > Card.callback_due_at),
    )


def overdue_now_condition(now: datetime):
    """A card still open whose callback deadline has passed."""
    return and_(Card.state.in_([str(state) for state in OPEN_STATES]), Card.callback_due_at <= now)


def appeal_reference(event_table):
    """Return the appeal id an appeal event is about, as SQL (none for other subjects)."""
    return case(
        (event_table.subject_type == "appeal", cast(event_table.subject_id, Integer)),
    )


def percentile(values: list[float], fraction: float) -> float | None:
    """Return the percentile with linear interpolation (as PostgreSQL's percentile_cont)."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    lower = int(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)
