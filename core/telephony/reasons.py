"""Carrier failures in words, for the operator or head who reads them on a page or a card."""

from flask_babel import lazy_gettext as _l

from core.telephony.gateway import (
    CARRIER_FAILURE,
    REFUSED,
    THROTTLED,
    TIMEOUT,
    UNREACHABLE,
    CarrierError,
)

#: Twilio's refusal codes a regional hotline meets (numbers, permissions, opt-outs).
REFUSAL_REASONS = {
    20003: _l("the carrier does not accept the account's credentials"),
    21211: _l("the number is not a valid phone number"),
    21214: _l("the number cannot be reached by phone"),
    21215: _l("the account may not call this region (geographic permissions)"),
    21216: _l("the carrier blocks this number"),
    21217: _l("the number is not a valid phone number"),
    21408: _l("the account may not send SMS to this region"),
    21610: _l("the recipient has unsubscribed from the line's messages (STOP)"),
    21612: _l("this number cannot receive messages from the line"),
    21614: _l("the number cannot receive SMS"),
    13227: _l("the account has no permission for international calls"),
}

#: What each kind of failure means when the carrier gave no code we know.
KIND_REASONS = {
    REFUSED: _l("the carrier refused the request"),
    THROTTLED: _l("the carrier is overloaded with requests"),
    CARRIER_FAILURE: _l("a failure on the carrier's side"),
    TIMEOUT: _l("the carrier did not answer in time"),
    UNREACHABLE: _l("the carrier cannot be reached"),
}


def carrier_reason(kind: str | None, code: int | None = None) -> str:
    """Return in words why the carrier did not do what was asked."""
    if code in REFUSAL_REASONS:
        return str(REFUSAL_REASONS[code])
    text = str(KIND_REASONS.get(kind or UNREACHABLE, KIND_REASONS[UNREACHABLE]))
    return f"{text} ({code})" if code and kind == REFUSED else text


def reason_of(error: CarrierError) -> str:
    """Return in words why the carrier did not take a call action."""
    return carrier_reason(error.kind, error.code)
