"""The duty roster's services: who is on duty, rotations, overrides, swaps, absences, gaps.

Services change the session, record an event and flush; the caller commits. Every change
schedules the municipality's roster refresh (rotation extension and gap check) after commit.

What lives where:
- `common`: reading municipalities, rosters, officials and shifts; labels; checks shared
  by the changes; scheduling the refresh job (by its dotted path, so no job is imported).
- `duties`: the effective duties of a roster or an official (layers, absences, the grid).
- `resolver`: who answers a call now (primary, backup, supervisor).
- `conflicts`: refusing a change that would put an absent official on duty.
- `rotations`: saving a rotation and generating (extending) its shift rows.
- `changes`: overrides, swaps, cancelling, and officials' unavailability.
- `gaps`: finding and storing the slots no one covers.
- `imports`: CSV import and export of officials and shifts.
- `feeds`: the iCal feed tokens.
"""

from roster.services.changes import (
    add_override,
    add_unavailability,
    cancel_shift,
    remove_unavailability,
    swap_shifts,
    unavailabilities_of,
)
from roster.services.common import (
    RosterError,
    general_roster,
    get_municipality,
    get_roster,
    list_municipalities,
    officials_of,
    reason_label,
    role_label,
    rosters_of,
    shifts_covering,
    upcoming_shifts,
    visible_municipalities,
)
from roster.services.duties import (
    Duty,
    GridCell,
    due_reminders,
    duties_of_municipality,
    duties_of_official,
    duties_of_official_planned,
    effective_duties,
    local_today,
    week_grid,
)
from roster.services.feeds import feed_token_for, reset_feed_token, subject_for_feed_token
from roster.services.gaps import GAP_WINDOW, check_gaps, find_gaps, stored_gaps
from roster.services.imports import (
    ImportReport,
    export_officials,
    export_shifts,
    import_officials,
    import_shifts,
)
from roster.services.resolver import OnDuty, OnDutyOfficial, resolve_on_duty
from roster.services.rotations import (
    DEFAULT_HORIZON_DAYS,
    extend_rotation,
    extend_rotations,
    rotation_for,
    save_rotation,
)

__all__ = [
    "DEFAULT_HORIZON_DAYS",
    "GAP_WINDOW",
    "Duty",
    "GridCell",
    "ImportReport",
    "OnDuty",
    "OnDutyOfficial",
    "RosterError",
    "add_override",
    "add_unavailability",
    "cancel_shift",
    "check_gaps",
    "due_reminders",
    "duties_of_municipality",
    "duties_of_official",
    "duties_of_official_planned",
    "effective_duties",
    "export_officials",
    "export_shifts",
    "extend_rotation",
    "extend_rotations",
    "feed_token_for",
    "find_gaps",
    "general_roster",
    "get_municipality",
    "get_roster",
    "import_officials",
    "import_shifts",
    "list_municipalities",
    "local_today",
    "officials_of",
    "reason_label",
    "remove_unavailability",
    "reset_feed_token",
    "resolve_on_duty",
    "role_label",
    "rosters_of",
    "rotation_for",
    "save_rotation",
    "shifts_covering",
    "stored_gaps",
    "subject_for_feed_token",
    "swap_shifts",
    "unavailabilities_of",
    "upcoming_shifts",
    "visible_municipalities",
    "week_grid",
]
