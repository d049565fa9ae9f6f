"""The duty roster's services: who is on duty, rotations, overrides, swaps, absences, gaps.

Services change the session, record an event and flush; the caller commits. Every change
schedules the municipality's roster refresh (rotation extension and gap check) after commit.
"""

from roster.services.changes import (
    DEFAULT_HORIZON_DAYS,
    add_override,
    add_unavailability,
    cancel_shift,
    extend_rotation,
    extend_rotations,
    remove_unavailability,
    rotation_for,
    save_rotation,
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
