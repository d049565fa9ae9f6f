"""Refusing a roster change that would put an absent official on duty."""

from flask_babel import gettext as _

from core.extensions import db
from core.i18n import local_time
from roster import rules
from roster.models import Municipality, Official, Roster
from roster.services.common import RosterError, reason_label, role_label
from roster.services.duties import absences_of, shift_layers


def _conflict_message(conflicts: list[rules.Conflict], place: Municipality, role: str) -> str:
    names = dict(
        db.session.execute(
            db.select(Official.id, Official.full_name).where(
                Official.id.in_({c.candidate.official_id for c in conflicts})
            )
        ).all()
    )
    parts = []
    for conflict in conflicts[:3]:
        parts.append(
            _(
                "%(name)s is unavailable (%(reason)s) from %(absent_from)s to %(absent_to)s "
                "but would be on duty as %(role)s from %(start)s to %(end)s.",
                name=names.get(conflict.candidate.official_id, "?"),
                reason=reason_label(conflict.absence.reason),
                absent_from=local_time(conflict.absence.starts_at, place.timezone),
                absent_to=local_time(conflict.absence.ends_at, place.timezone),
                role=role_label(role).lower(),
                start=local_time(conflict.starts_at, place.timezone),
                end=local_time(conflict.ends_at, place.timezone),
            )
        )
    if len(conflicts) > 3:
        parts.append(_("And %(count)d more such shifts.", count=len(conflicts) - 3))
    return " ".join(parts)


def refuse_absent(
    roster: Roster,
    role: str,
    candidates: list[rules.Layer],
    field: str,
    existing_kinds: tuple[str, ...] | None = None,
    known_absences: list[rules.Absence] | None = None,
) -> None:
    """Raise RosterError when a candidate row would put an absent official on duty.

    `known_absences`, when given, are the absences loaded already (a superset is fine).
    """
    if not candidates:
        return
    since = min(c.starts_at for c in candidates)
    until = max(c.ends_at for c in candidates)
    officials = {c.official_id for c in candidates}
    if known_absences is None:
        absences = absences_of(officials, since, until)
    else:
        absences = [
            a
            for a in known_absences
            if a.official_id in officials and a.starts_at < until and a.ends_at > since
        ]
    if not absences:
        return
    existing = shift_layers([roster.id], since, until, existing_kinds).get((roster.id, role), [])
    conflicts = rules.absence_conflicts(candidates, existing, absences)
    if conflicts:
        raise RosterError(_conflict_message(conflicts, roster.municipality, role), field)
