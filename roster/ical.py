"""iCal feeds of duty: per official and per municipality."""

from datetime import datetime

from icalendar import Calendar, Event

from roster.services import Duty


def duty_calendar(
    name: str,
    duties: list[Duty],
    summary_of,
    description_of,
    stamp: datetime,
) -> bytes:
    """Return an iCalendar document with one event per stretch of duty (times in UTC)."""
    calendar = Calendar()
    calendar.add("prodid", "-//Hotline//Duty roster//RU")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    for duty in duties:
        event = Event()
        event.add(
            "uid",
            f"duty-{duty.roster_id}-{duty.role}-{duty.official_id}-"
            f"{duty.starts_at:%Y%m%dT%H%M%SZ}@hotline",
        )
        event.add("dtstamp", stamp)
        event.add("dtstart", duty.starts_at)
        event.add("dtend", duty.ends_at)
        event.add("summary", summary_of(duty))
        event.add("description", description_of(duty))
        event.add("transp", "OPAQUE")
        calendar.add_component(event)
    return calendar.to_ical()
