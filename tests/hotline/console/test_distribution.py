"""Automatic call distribution: two operators on shift, the simulated carrier, signed webhooks."""

import pytest

from core.events import timeline
from core.extensions import db
from core.telephony.sim import CallerScript, answers_and_presses, no_answer
from hotline.console import floor, jobs
from hotline.models import OperatorStateChange
from tests.conftest import login
from tests.factories import make_user
from tests.hotline.conftest import CITIZEN, GOVERNOR_LINE
from tests.hotline.console.conftest import OPERATOR_PHONE, call_in, post, stored

SECOND_PHONE = "+79000009998"


@pytest.fixture
def second(app):
    user = make_user("petra", "operator")
    db.session.commit()
    return user


def on_shift(app, username: str, phone: str, ready: bool = True):
    """A fresh browser-like client signed in as `username` and on shift at `phone`."""
    client = app.test_client()
    login(client, username)
    data = {"endpoint": phone, **({"ready": "y"} if ready else {})}
    assert post(client, "/console/shift", data).status_code == 302
    return client


def state_of(user) -> tuple[str, str | None]:
    db.session.expire_all()
    presence = floor.presence_of(user.id)
    return presence.state, presence.reason


def test_the_caller_rings_the_operator_ready_longest_without_take(
    app, carrier, operator, second, clock
):
    carrier.phone(SECOND_PHONE, answers_and_presses(None, talk_seconds=30))
    on_shift(app, "olga", OPERATOR_PHONE)
    clock.advance(seconds=5)
    on_shift(app, "petra", SECOND_PHONE)
    clock.advance(seconds=5)

    sim_call = call_in(carrier)
    call = stored(sim_call)
    assert [leg.number for leg in sim_call.transcript.dialled] == [OPERATOR_PHONE]
    assert call.operator_id == operator.id and call.operator_answered_at is not None
    assert state_of(operator) == ("on_call", None)
    assert state_of(second) == ("ready", None)

    other = call_in(carrier, "+79160000002")  # the next caller goes to the other operator
    assert [leg.number for leg in other.transcript.dialled] == [SECOND_PHONE]
    assert state_of(second) == ("on_call", None)


def test_a_missed_offer_goes_to_the_next_operator_and_marks_the_first_not_ready(
    app, carrier, operator, second, clock
):
    carrier.phone(OPERATOR_PHONE, no_answer())
    carrier.phone(SECOND_PHONE, answers_and_presses(None, talk_seconds=30))
    on_shift(app, "olga", OPERATOR_PHONE)
    clock.advance(seconds=5)
    on_shift(app, "petra", SECOND_PHONE)

    sim_call = call_in(carrier)
    assert [leg.number for leg in sim_call.transcript.dialled] == [OPERATOR_PHONE, SECOND_PHONE]
    assert sim_call.legs[0].elapsed == 15  # the offer rang 15 s (OFFER_SECONDS)
    call = stored(sim_call)
    assert call.operator_id == second.id
    assert state_of(operator) == ("break", "missed-offer")
    assert state_of(second) == ("on_call", None)
    offered = [e.data["operator_id"] for e in timeline("call", call.id) if e.verb == "call.offered"]
    assert offered == [operator.id, second.id]
    history = db.session.scalars(
        db.select(OperatorStateChange.state)
        .where(OperatorStateChange.user_id == operator.id)
        .order_by(OperatorStateChange.id)
    ).all()
    assert history == ["ready", "offered", "break"]


def test_nobody_ready_keeps_the_caller_waiting_until_an_operator_is_ready(
    app, carrier, operator, second
):
    olga = on_shift(app, "olga", OPERATOR_PHONE, ready=False)
    sim_call = call_in(carrier)
    assert carrier.queued("operators") == [sim_call] and stored(sim_call).operator_id is None
    assert state_of(operator) == ("break", "not-ready")
    # nobody handled a call in the last hour: 180 s each, one place ahead → about 3 minutes
    assert "Вы 1-й в очереди. Примерное время ожидания — 3 мин." in sim_call.transcript.said

    post(olga, "/console/state", {"action": "ready"})
    carrier.run_pending()
    assert [leg.number for leg in sim_call.transcript.dialled] == [OPERATOR_PHONE]
    assert stored(sim_call).operator_id == operator.id


def test_wrap_up_then_ready_again_takes_the_next_caller(app, carrier, operator, clock):
    olga = on_shift(app, "olga", OPERATOR_PHONE)
    first = call_in(carrier)
    call = stored(first)
    second_caller = call_in(carrier, "+79160000002")
    assert stored(second_caller).operator_id is None  # she is on the first call

    page = f"/console/calls/{call.id}"
    post(olga, f"{page}/wrap-up", {"code": "info"}, page=page)
    carrier.run_pending()
    assert state_of(operator) == ("wrap_up", None)
    post(olga, "/console/state", {"action": "extend"})
    clock.advance(seconds=35)
    jobs.end_wrap_ups()
    carrier.run_pending()
    assert stored(second_caller).operator_id is None  # 30 s + 30 s more: still wrapping up
    clock.advance(seconds=30)
    jobs.end_wrap_ups()
    carrier.run_pending()
    assert stored(second_caller).operator_id == operator.id
    assert [leg.number for leg in second_caller.transcript.dialled] == [OPERATOR_PHONE]


def test_a_break_keeps_offers_away_and_a_supervisor_still_takes_by_hand(
    app, carrier, operator, second
):
    olga = on_shift(app, "olga", OPERATOR_PHONE)
    post(olga, "/console/state", {"action": "break", "reason": "lunch"})
    assert state_of(operator) == ("break", "lunch")
    sim_call = call_in(carrier)
    assert stored(sim_call).operator_id is None

    make_user("sveta", "admin")
    db.session.commit()
    supervisor = on_shift(app, "sveta", "+79000009997", ready=False)
    carrier.phone("+79000009997", answers_and_presses(None, talk_seconds=30))
    post(supervisor, f"/console/calls/{stored(sim_call).id}/take")
    carrier.run_pending()
    assert [leg.number for leg in sim_call.transcript.dialled] == ["+79000009997"]
    assert stored(sim_call).operator_answered_at is not None


def test_hold_and_resume_move_the_caller_and_are_on_the_timeline(app, carrier, operator):
    olga = on_shift(app, "olga", OPERATOR_PHONE)
    sim_call = call_in(carrier)
    call = stored(sim_call)
    page = "/console/"
    held = post(olga, f"/console/calls/{call.id}/hold", page=page)
    carrier.run_pending()
    assert held.json == {"held": True}
    assert carrier.queued("operator-hold") == [sim_call]
    post(olga, f"/console/calls/{call.id}/hold", {"resume": "1"}, page=page)
    carrier.run_pending()
    assert [leg.number for leg in sim_call.transcript.dialled] == [OPERATOR_PHONE] * 2
    verbs = [e.verb for e in timeline("call", call.id)]
    assert "call.held" in verbs and "call.resumed" in verbs


def test_a_caller_who_presses_1_keeps_their_place_and_is_rung_back_after_the_operator(
    app, carrier, operator
):
    app.config["CALLBACK_OFFER_AFTER_SECONDS"] = 0  # the offer comes at once (3 min by default)
    carrier.phone(CITIZEN, answers_and_presses(None, talk_seconds=30))
    olga = on_shift(app, "olga", OPERATOR_PHONE, ready=False)
    first = carrier.incoming_call(CITIZEN, GOVERNOR_LINE, CallerScript(digits=["1"]))
    assert any("сохранена" in said for said in first.transcript.said)
    assert any("нажмите 1" in said for said in first.transcript.said)
    assert first.status == "completed"  # the caller hung up, their place kept
    kept = stored(first)
    assert kept.callback_requested_at is not None and kept.outcome is None
    later = call_in(carrier, "+79160000002")  # a caller who came after waits on the line

    post(olga, "/console/state", {"action": "ready"})
    carrier.run_pending()
    kept, later_call = stored(first), stored(later)
    assert kept.operator_id == operator.id and kept.operator_answered_at is not None
    assert later_call.operator_id is None  # the kept place came first
    (callback,) = carrier.calls_to(OPERATOR_PHONE)
    assert [leg.number for leg in callback.transcript.dialled] == [CITIZEN]
    assert callback.transcript.dialled[0].bridged
    assert state_of(operator) == ("on_call", None)


def test_callers_who_hung_up_after_10_s_are_on_the_call_back_list(app, carrier, operator, clock):
    olga = on_shift(app, "olga", OPERATOR_PHONE, ready=False)
    quick = call_in(carrier, "+79160000001")
    carrier.caller_hangs_up(quick.sid)  # after 0 s: not listed
    patient = call_in(carrier, "+79160000002")
    clock.advance(seconds=11)
    carrier.caller_hangs_up(patient.sid)
    page = olga.get("/console/abandoned").text
    assert f'data-call="{stored(patient).id}"' in page
    assert f'data-call="{stored(quick).id}"' not in page


def test_transfers_to_an_operator_and_to_a_number_are_on_the_timeline(
    app, carrier, operator, second
):
    carrier.phone(SECOND_PHONE, answers_and_presses(None, talk_seconds=30))
    olga = on_shift(app, "olga", OPERATOR_PHONE)
    sim_call = call_in(carrier)
    call = stored(sim_call)
    assert call.operator_id == operator.id
    page = f"/console/calls/{call.id}"
    refused = post(olga, f"{page}/transfer", {"target": "operator", "operator": second.id}, page)
    assert refused.status_code == 302 and stored(sim_call).operator_id == operator.id  # not ready

    on_shift(app, "petra", SECOND_PHONE, ready=True)
    assert "petra" in olga.get(page).text or "Petra" in olga.get(page).text
    post(olga, f"{page}/transfer", {"target": "operator", "operator": second.id}, page)
    carrier.run_pending()
    call = stored(sim_call)
    assert call.operator_id == second.id
    assert [leg.number for leg in sim_call.transcript.dialled][-1] == SECOND_PHONE
    assert state_of(second) == ("on_call", None) and state_of(operator)[0] == "wrap_up"

    petra = app.test_client()
    login(petra, "petra")
    post(petra, f"{page}/transfer", {"target": "number", "number": "+74951234567"}, page)
    carrier.run_pending()
    assert [leg.number for leg in sim_call.transcript.dialled][-1] == "+74951234567"
    moves = [e.data for e in timeline("call", call.id) if e.verb == "call.transferred"]
    assert [(m["kind"], m["to"]) for m in moves] == [
        ("operator", "petra"),
        ("number", "+74951234567"),
    ]


def test_an_offer_never_rung_lapses_and_the_caller_goes_to_the_next_operator(
    app, carrier, operator, second, clock, monkeypatch
):
    from core.schedule import periodic_jobs
    from core.telephony.sim_gateway import SimGateway

    carrier.phone(SECOND_PHONE, answers_and_presses(None, talk_seconds=30))
    on_shift(app, "olga", OPERATOR_PHONE)
    clock.advance(seconds=5)
    real_redirect = SimGateway.redirect_call

    def dies_before_ringing(self, call_sid, url):
        raise SystemExit("the worker was killed between the offer and the carrier")

    monkeypatch.setattr(SimGateway, "redirect_call", dies_before_ringing)
    with pytest.raises(SystemExit):
        call_in(carrier)
    monkeypatch.setattr(SimGateway, "redirect_call", real_redirect)
    db.session.rollback()
    sim_call = carrier.calls[-1]
    call = stored(sim_call)
    assert call.operator_id == operator.id and state_of(operator) == ("offered", None)
    on_shift(app, "petra", SECOND_PHONE)

    clock.advance(seconds=20)  # rung time (15 s) passed, but the carrier may still be late
    jobs.expire_lapsed_offers()
    carrier.run_pending()
    assert stored(sim_call).operator_id == operator.id
    clock.advance(seconds=30)
    jobs.expire_lapsed_offers()
    carrier.run_pending()
    assert state_of(operator) == ("break", "missed-offer")
    assert stored(sim_call).operator_id == second.id
    assert [leg.number for leg in sim_call.transcript.dialled] == [SECOND_PHONE]
    assert state_of(second) == ("on_call", None)
    missed = [e.data for e in timeline("call", call.id) if e.verb == "call.operator-missed"]
    assert missed == [{"operator_id": operator.id, "status": "lapsed"}]
    assert "hotline.console.jobs.expire_lapsed_offers" in [j.name for j in periodic_jobs(app)]
