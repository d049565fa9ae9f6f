"""Console jobs: connecting a holding caller again; the end of wrap-ups; lapsed offers."""

import logging

from core.extensions import db
from core.telephony import CarrierError, get_gateway
from hotline.console import floor, services
from hotline.models import Call

log = logging.getLogger(__name__)


def retry_connection(call_id: int) -> None:
    """Send a holding caller into the duty chain again after a passing carrier failure; once."""
    call = db.session.get(Call, call_id)
    if call is None or not services.claim_connection_try(call):
        db.session.commit()
        return
    db.session.commit()  # the try is taken before the carrier is asked: a second run skips
    try:
        get_gateway().redirect_call(call.call_sid, services.connect_url(call))
    except CarrierError as error:
        services.connection_not_made(call, error, None)
    db.session.commit()


def end_wrap_ups() -> None:
    """Make ready the operators whose wrap-up is over and offer them the waiting callers."""
    floor.end_finished_wrap_ups()
    db.session.commit()
    services.offer_waiting_calls()


def expire_lapsed_offers() -> None:
    """Every 30 s: a lapsed offer counts as missed; its caller is offered to the next operator."""
    for call_id, user_id in floor.lapsed_offers():
        call = db.session.get(Call, call_id)
        services.return_to_queue(call, "lapsed")
        db.session.commit()
        log.info("call %s: the offer to operator %s lapsed", call.call_sid, user_id)
    services.offer_waiting_calls()
