"""The translated names of the hotline's states, outcomes and events, for its pages."""

from flask_babel import gettext as _
from flask_babel import pgettext

from hotline.caller_id import is_hidden


def caller_label(number: str | None) -> str:
    """Return a call's number as people read it: «номер скрыт» for a hidden caller ID."""
    if is_hidden(number):
        return _("number hidden")
    return number or "—"


def call_and_appeal_event_labels() -> dict[str, str]:
    """Return the label of every call, chain, attempt and appeal event, translated."""
    return {
        "call.received": _("call received"),
        "call.queued": _("queued for operators"),
        "call.left-queue": _("left the queue for the voice menu"),
        "call.taken": _("taken by the operator"),
        "call.operator-answered": _("operator answered"),
        "call.operator-missed": _("operator did not answer"),
        "call.wrapped-up": _("call wrapped up"),
        "call.carrier-error": _("the telephone network failed"),
        "call.handled": _("call ended after the operator"),
        "call.finalised-from-carrier": _("finalised from the carrier's status"),
        "chain.started": _("duty chain started"),
        "attempt.key-pressed": _("official pressed the key"),
        "attempt.finished": _("official rung"),
        "attempt.answering-machine": _("an answering machine picked up"),
        "appeal.submitted": _("appeal received"),
        "appeal.registered": _("appeal registered"),
        "appeal.registration-sms": _("SMS to the caller with the appeal number"),
        "appeal.connect-requested": _("caller sent to the duty chain"),
        "appeal.sent-to-municipality": _("sent to the municipality"),
        "appeal.control-call": _("control call"),
        "appeal.called-about": _("the caller phoned again about it"),
        "appeal.accepted": _("accepted by the official"),
        "appeal.missed": _("nobody accepted"),
        "appeal.status": _("appeal status changed"),
        "appeal.moved": _("appeal moved"),
        "appeal.checkin": _("status request to the official"),
        "appeal.voice-message": _("voice message left"),
        "appeal.recording-deleted": _("voice message deleted: retention period over"),
        "appeal.confirmation-asked": _("confirmation request to the citizen"),
        "appeal.reopened": _("citizen says not solved"),
    }


def appeal_status_labels() -> dict[str, str]:
    """Return the translated names of the appeal statuses."""
    return {
        "routing": _("routing"),
        "in_work": _("in work"),
        "missed": _("missed"),
        "resolved": _("resolved"),
        "reopened": _("reopened"),
        "closed": pgettext("appeal", "closed"),
    }


def attempt_outcome_labels() -> dict[str, str]:
    """Return the translated names of how ringing an official ended."""
    return {
        "accepted": _("accepted"),
        "no-answer": _("no answer"),
        "busy": _("busy"),
        "failed": _("failed"),
        "not-accepted": _("picked up, not accepted"),
        "caller-hung-up": _("caller hung up"),
        "machine": _("answering machine"),
    }


def call_outcome_labels() -> dict[str, str]:
    """Return the translated names of the call outcomes."""
    return {
        "connected": _("connected"),
        "missed": pgettext("call outcome", "missed"),
        "abandoned": _("abandoned"),
        "refused": _("refused"),
        "handled": _("handled by the operator"),
    }


def duty_role_labels() -> dict[str, str]:
    """Return the translated names of the duty roles, in lower case for running text."""
    return {"primary": _("primary"), "backup": _("backup"), "supervisor": _("supervisor")}
