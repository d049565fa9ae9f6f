"""The load run's checks: what went missing or was doubled, and how long the follow-ups took."""

import os
import time

from bench.load.stack import Stack
from core.telephony.sim.rest_standin import TwilioStandin


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def check_nothing_lost(stack: Stack, carried: dict[str, bool]) -> dict[str, int]:
    """Count, from the database and the queue, everything that went missing or was doubled.

    `carried` maps every citizen's call the carrier carried to whether the caller was put
    through to the regional dispatcher (the safe TwiML while the database was down).
    """
    os.environ.update(stack.env)
    from rq.registry import ScheduledJobRegistry
    from sqlalchemy import func

    from callbacks.models import OPEN_STATES, CallbackAttempt, Card
    from callbacks.services import card_job_ids
    from core import create_app
    from core.extensions import db
    from core.models import OutboundMessage
    from core.queue import get_queue
    from hotline.models import Appeal, Call, DialAttempt

    app = create_app()
    with app.app_context():

        def count(query) -> int:
            return db.session.scalar(query) or 0

        recorded = set(db.session.scalars(db.select(Call.call_sid)))
        problems = {
            "calls neither recorded nor put through to the dispatcher": sum(
                1
                for sid, to_dispatcher in carried.items()
                if sid not in recorded and not to_dispatcher
            ),
            "calls without an outcome": count(
                db.select(func.count(Call.id)).where(Call.outcome.is_(None))
            ),
            "missed calls without an appeal": count(
                db.select(func.count(Call.id))
                .outerjoin(Appeal, Appeal.call_id == Call.id)
                .where(Call.outcome == "missed", Appeal.id.is_(None))
            ),
            "missed calls without a card": count(
                db.select(func.count(Call.id))
                .outerjoin(Card, Card.call_id == Call.id)
                .where(Call.outcome == "missed", Card.id.is_(None))
            ),
            "connected calls whose appeal is not in work": count(
                db.select(func.count(Call.id))
                .join(Appeal, Appeal.call_id == Call.id)
                .where(Call.outcome == "connected", Appeal.assignee_id.is_(None))
            ),
            "attempts left ringing": count(
                db.select(func.count(DialAttempt.id)).where(DialAttempt.outcome.is_(None))
            ),
            "missed appeals without the SMS to the caller": count(
                db.select(func.count(Appeal.id)).where(
                    Appeal.status == "missed",
                    Appeal.caller_number.is_not(None),
                    ~db.exists().where(
                        OutboundMessage.purpose == func.concat("appeal-registered:", Appeal.id)
                    ),
                )
            ),
            "cards not announced to the duty trio": count(
                db.select(func.count(Card.id)).where(Card.notified_at.is_(None))
            ),
        }
        queue = get_queue()
        scheduled = set(ScheduledJobRegistry(queue=queue).get_job_ids())
        waiting = set(queue.job_ids)
        unscheduled = 0
        for card in db.session.scalars(db.select(Card).where(Card.state.in_(OPEN_STATES))):
            ids = card_job_ids(card)
            pending = {
                "reminder": card.reminded_at,
                "escalation": card.escalated_at,
                "overdue": card.overdue_at,
            }
            for kind, done_at in pending.items():
                if done_at is None and ids[kind] not in scheduled | waiting:
                    unscheduled += 1
        problems["open cards' follow-ups not scheduled"] = unscheduled
        duplicates = count(
            db.select(func.count()).select_from(
                db.select(Card.call_id).group_by(Card.call_id).having(func.count() > 1).subquery()
            )
        )
        duplicates += count(
            db.select(func.count()).select_from(
                db.select(Appeal.call_id)
                .where(Appeal.call_id.is_not(None))
                .group_by(Appeal.call_id)
                .having(func.count() > 1)
                .subquery()
            )
        )
        problems["calls with a doubled appeal or card"] = duplicates
        problems["callbacks without an end and no retry waiting"] = count(
            db.select(func.count(CallbackAttempt.id)).where(
                CallbackAttempt.outcome.is_(None), CallbackAttempt.retry_at.is_(None)
            )
        )
        problems["SMS stored but never handed over (pending or claimed)"] = count(
            db.select(func.count(OutboundMessage.id)).where(
                OutboundMessage.status.in_(("pending", "claimed"))
            )
        )
        problems["SMS still waiting for another try"] = count(
            db.select(func.count(OutboundMessage.id)).where(OutboundMessage.status == "retrying")
        )
        problems["SMS whose sending was cut short (unknown)"] = count(
            db.select(func.count(OutboundMessage.id)).where(OutboundMessage.status == "unknown")
        )
        totals = {
            "calls": dict(
                db.session.execute(
                    db.select(Call.outcome, func.count()).group_by(Call.outcome)
                ).all()
            ),
            "cards": dict(
                db.session.execute(db.select(Card.state, func.count()).group_by(Card.state)).all()
            ),
            "callbacks": dict(
                db.session.execute(
                    db.select(
                        func.coalesce(CallbackAttempt.outcome, "waiting for a retry"), func.count()
                    ).group_by(CallbackAttempt.outcome)
                ).all()
            ),
            "sms": dict(
                db.session.execute(
                    db.select(OutboundMessage.status, func.count()).group_by(OutboundMessage.status)
                ).all()
            ),
        }
        return problems, totals


def sms_handed_twice(standin: TwilioStandin) -> int:
    """Count the stored SMS the REST stand-in created more than once (by their StatusCallback)."""
    created: dict[str, int] = {}
    for message in standin.messages.values():
        callback = message["status_callback"] or message["sid"]
        created[callback] = created.get(callback, 0) + 1
    return sum(1 for times in created.values() if times > 1)


def settle(stack: Stack, limit: float) -> float:
    """Wait until the follow-ups are done; return how many seconds that took (at most `limit`).

    A job that died with a killed worker runs again only once RQ finds it abandoned.
    """
    started = time.monotonic()
    time.sleep(75)  # at least one minute sweep after the last call
    while time.monotonic() - started < limit:
        problems, _ = check_nothing_lost(stack, {})
        if sum(problems.values()) == 0:
            break
        time.sleep(15)
    return time.monotonic() - started
