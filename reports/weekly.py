"""The managers' weekly e-mail: each Monday 08:00 region time, last week's missed-call report."""

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from flask_babel import force_locale
from sqlalchemy import select

from callbacks.services.telling import MORNING_HOUR, open_card_count, tell_user
from core import clock
from core.extensions import db
from core.models import User
from reports import exports, services
from roster.services import list_municipalities

log = logging.getLogger(__name__)

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def weekly_report_due(moment: datetime) -> bool:
    """Return whether `moment` is in the hour of Monday 08:00 in the region's time zone."""
    local = moment.astimezone(ZoneInfo(services.region_tz()))
    return local.weekday() == 0 and local.hour == MORNING_HOUR


def weekly_workbook(period) -> tuple[bytes, dict]:
    """Return the XLSX of a period's missed-call report and trend (in Russian), and the report."""
    places = list_municipalities()
    scope = services.make_scope(places, period)
    with force_locale("ru"):
        report = services.missed_call_report(places, scope)
        tables = [exports.report_table(report), exports.trend_table(services.daily_trend(scope))]
        return exports.to_xlsx(tables), report


def send_weekly_reports(moment: datetime | None = None) -> int:
    """E-mail every manager last week's report with its XLSX, once a week (Monday 08:00)."""
    moment = moment or clock.utcnow()
    if not weekly_report_due(moment):
        return 0
    managers = db.session.scalars(
        select(User).where(User.role == "manager", User.active).order_by(User.id)
    ).all()
    if not managers:
        return 0
    period = services.default_period()
    workbook, report = weekly_workbook(period)
    first, last = period.first.strftime("%d.%m.%Y"), period.last.strftime("%d.%m.%Y")
    context = {
        "first": first,
        "last": last,
        "total": report["total"],
        "rows": report["rows"],
        "open_now": open_card_count(),
    }
    sent = 0
    for manager in managers:
        channels = tell_user(
            manager,
            "weekly_report",
            period.first.isoformat(),
            sms=None,
            subject=f"Пропущенные звонки за неделю {first} – {last}",
            template="weekly",
            context=context,
            about=("user", manager.id),
            attachment=(f"missed-calls-{period.first}-{period.last}.xlsx", XLSX_TYPE, workbook),
        )
        sent += bool(channels)
    db.session.commit()
    log.info("weekly report for %s – %s: %d managers told", first, last, sent)
    return sent
