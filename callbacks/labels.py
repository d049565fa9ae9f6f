"""The translated names of the cabinet's states, outcomes and timeline events.

Appeal statuses and duty roles are hotline's names (`hotline.labels`), re-exported here.
"""

from flask_babel import gettext as _

from hotline.labels import appeal_status_labels, call_and_appeal_event_labels, duty_role_labels


def countdown(due, moment) -> str:
    """Return the time left until a deadline as H:MM:SS (or how long it is overdue)."""
    seconds = int((due - moment).total_seconds())
    left = abs(seconds)
    text = f"{left // 3600}:{left % 3600 // 60:02d}:{left % 60:02d}"
    return text if seconds >= 0 else _("overdue by") + " " + text


def card_state_labels() -> dict[str, str]:
    """Return the translated names of the card states."""
    return {
        "new": _("new"),
        "acknowledged": _("acknowledged"),
        "called_back": _("called back"),
        "closed": _("closed"),
    }


def cabinet_labels() -> dict:
    """Give the cabinet templates the translated names of states, roles and events."""
    return {
        "countdown": countdown,
        "state_labels": card_state_labels(),
        "role_labels": duty_role_labels(),
        "attempt_labels": {
            "accepted": _("accepted"),
            "no-answer": _("no answer"),
            "busy": _("busy"),
            "failed": _("failed"),
            "not-accepted": _("picked up, not accepted"),
            "caller-hung-up": _("caller hung up"),
            "machine": _("answering machine"),
            "answered": _("answered"),
            "canceled": _("cancelled"),
        },
        "status_notes": {
            "callback reached the citizen": _("the callback reached the citizen"),
            "confirmed by sms": _("the citizen confirmed by SMS that it is solved"),
            "not solved (sms)": _("the citizen answered by SMS that it is not solved"),
            "unconfirmed": _("the citizen did not answer whether it is solved"),
            "by phone": _("by pressing 1 on the call that followed the undelivered SMS"),
        },
        "appeal_status_labels": appeal_status_labels(),
        "event_labels": {
            **call_and_appeal_event_labels(),
            "card.opened": _("card opened"),
            "card.notified": _("SMS to the duty about the card"),
            "card.reminder": _("reminder to the duty"),
            "card.escalated": _("escalated to the supervisor"),
            "card.overdue": _("deadline passed, managers told"),
            "card.acknowledged": _("taken into work"),
            "card.notice-call": _("the SMS did not reach the official: calling them"),
            "card.notice-call-failed": _("the SMS did not reach the official; the call failed"),
            "card.notice-call-retrying": _(
                "the SMS did not reach the official; the call did not go through, it is tried again"
            ),
            "card.notice-call-unanswered": _("the official did not confirm the card on the call"),
            "card.note": _("note"),
            "card.forwarded": _("forwarded"),
            "callback.started": _("callback started"),
            "callback.retrying": _("the carrier did not take the callback; it is tried again"),
            "callback.accepted": _("official pressed 1"),
            "callback.finished": _("callback ended"),
            "card.called-back": _("citizen reached"),
            "card.outcome": _("outcome recorded"),
            "card.photo": _("photo attached"),
            "card.photo-deleted": _("photo deleted: retention period over"),
            "card.closed": _("card closed"),
            "card.reopened": _("card reopened"),
            "card.overdue-told": _("heads and managers told of the overdue card"),
            "email.sent": _("e-mail sent"),
            "email.failed": _("e-mail not delivered"),
        },
    }
