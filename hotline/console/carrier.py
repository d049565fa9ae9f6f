"""The console's carrier actions: each commits what the operator did, then asks the carrier;
a failure is noted on the call, compensated and committed too."""

import logging

from core.events import record_event
from core.extensions import db
from core.models import User
from core.telephony import CarrierError, get_gateway
from core.urls import absolute_url
from hotline.console import floor
from hotline.console.handling import connect_url, connection_not_made, request_connection
from hotline.console.queue import operator_endpoint, release_call
from hotline.models import Appeal, Call

log = logging.getLogger(__name__)


def note_carrier_error(call: Call, action: str, reason: str, user: User) -> None:
    """Note on the call's timeline that the carrier did not carry out a console action."""
    record_event(
        "call", call.id, "call.carrier-error", {"action": action, "error": reason[:300]}, actor=user
    )
    db.session.flush()
    log.info("call %s: the carrier did not %s", call.call_sid, action)


def _redirect(call: Call, endpoint: str, action: str, user: User) -> bool:
    try:
        get_gateway().redirect_call(call.call_sid, absolute_url(endpoint, call_id=call.id))
    except CarrierError as error:
        note_carrier_error(call, action, str(error), user)
        return False
    return True


def move_caller(call: Call, endpoint: str, action: str, user: User) -> bool:
    """Commit, then point a live call at the console's next TwiML; False when the carrier failed.

    The failure is noted on the call and committed; a call that has ended is not moved.
    """
    db.session.commit()
    if call.ended_at is not None or _redirect(call, endpoint, action, user):
        return True
    db.session.commit()
    return False


def ring_operator(call: Call, user: User) -> bool:
    """Commit the taken call and put the caller through to its operator; False gives it back."""
    db.session.commit()  # the carrier's webhooks must find the call taken
    if _redirect(call, "console_voice.dial_operator", "take", user):
        return True
    release_call(call)
    db.session.commit()
    return False


def connect_caller(call: Call, appeal: Appeal, user: User) -> str:
    """Send the caller into the appeal's duty chain: `connected`, `retrying` or `failed`.

    A passing carrier failure is tried again by a job while the caller holds.
    """
    request_connection(appeal, user)
    db.session.commit()
    try:
        get_gateway().redirect_call(call.call_sid, connect_url(call))
    except CarrierError as error:
        retry_at = connection_not_made(call, error, user)
        db.session.commit()
        return "failed" if retry_at is None else "retrying"
    return "connected"


def offer_waiting_calls() -> int:
    """Offer waiting callers to the operators ready longest and ring them; return how many.

    The offers are committed before the carrier is asked, so its webhooks find them; an
    operator the carrier could not ring is ready again and her caller waits on.
    """
    offers = floor.claim_offers()
    db.session.commit()
    rung = 0
    for offer in offers:
        call = db.session.get(Call, offer.call_id)
        try:
            if call.ended_at is not None:  # asked to be rung back: ring the operator first
                ring_operator_for_callback(call)
            else:
                get_gateway().redirect_call(
                    call.call_sid, absolute_url("console_voice.dial_operator", call_id=call.id)
                )
        except CarrierError as error:
            log.info("call %s: the carrier did not ring the operator: %s", call.call_sid, error)
            floor.withdraw_offer(call, offer.user_id)
            db.session.commit()
            continue
        rung += 1
    return rung


def ring_operator_for_callback(call: Call) -> None:
    """Ring the offered operator; once she answers, the citizen who kept their place is dialled."""
    get_gateway().place_call(
        operator_endpoint(call),
        absolute_url("console_voice.callback_operator", call_id=call.id),
        status_callback=absolute_url("console_voice.callback_status", call_id=call.id),
        timeout=floor.offer_seconds(),
    )
