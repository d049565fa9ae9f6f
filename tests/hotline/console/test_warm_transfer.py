"""Warm transfer: the operator consults the other side while the caller holds (signed webhooks)."""

from core.events import timeline
from core.telephony.sim import answers_and_presses
from tests.hotline.console.conftest import OPERATOR_PHONE, call_in, post, stored
from tests.hotline.console.test_distribution import SECOND_PHONE, on_shift, second, state_of

__all__ = ["second"]  # the second operator's fixture

DEPUTY = "+74951234567"


def verbs(call) -> list[str]:
    return [e.verb for e in timeline("call", call.id) if e.verb.startswith("call.transfer")]


def test_a_warm_transfer_holds_the_caller_rings_the_operator_to_the_number_then_bridges(
    app, carrier, operator
):
    carrier.phone(DEPUTY, answers_and_presses(None, talk_seconds=30))
    olga = on_shift(app, "olga", OPERATOR_PHONE)
    sim_call = call_in(carrier)
    call = stored(sim_call)
    page = f"/console/calls/{call.id}"
    assert 'id="warm-number"' in olga.get(page).text

    post(olga, f"{page}/warm", {"target": "number", "number": "+7 495 123-45-67"}, page)
    carrier.run_pending()
    assert carrier.queued("operator-hold") == [sim_call]  # the caller holds meanwhile
    consult = [c for c in carrier.calls_to(OPERATOR_PHONE) if c.direction != "inbound"][-1]
    assert "согласования перевода" in " ".join(consult.transcript.said)
    assert [leg.number for leg in consult.transcript.dialled] == [DEPUTY]
    shown = olga.get(page).text
    assert 'id="warm-complete"' in shown and DEPUTY in shown

    post(olga, f"{page}/warm", {"step": "complete"}, page)
    carrier.run_pending()
    assert [leg.number for leg in sim_call.transcript.dialled][-1] == DEPUTY
    assert carrier.queued("operator-hold") == []
    assert verbs(stored(sim_call)) == ["call.transfer-consult", "call.transferred"]
    moved = [e.data for e in timeline("call", call.id) if e.verb == "call.transferred"]
    assert moved == [{"kind": "number", "to": DEPUTY, "mode": "warm"}]
    assert state_of(operator)[0] == "wrap_up"


def test_a_cancelled_warm_transfer_brings_the_operator_back_to_the_caller(app, carrier, operator):
    carrier.phone(DEPUTY, answers_and_presses(None, talk_seconds=30))
    olga = on_shift(app, "olga", OPERATOR_PHONE)
    sim_call = call_in(carrier)
    call = stored(sim_call)
    page = f"/console/calls/{call.id}"
    post(olga, f"{page}/warm", {"target": "number", "number": DEPUTY}, page)
    carrier.run_pending()
    rung_before = len(sim_call.transcript.dialled)

    post(olga, f"{page}/warm", {"step": "cancel"}, page)
    carrier.run_pending()
    assert [leg.number for leg in sim_call.transcript.dialled][rung_before:] == [OPERATOR_PHONE]
    assert verbs(stored(sim_call)) == ["call.transfer-consult", "call.transfer-cancelled"]
    assert 'id="warm-number"' in olga.get(page).text  # no consultation pending any more
    refused = post(olga, f"{page}/warm", {"step": "complete"}, page)
    assert refused.status_code == 302
    assert verbs(stored(sim_call)) == ["call.transfer-consult", "call.transfer-cancelled"]


def test_a_warm_transfer_to_the_duty_chain_consults_its_first_official(
    app, carrier, operator, region
):
    olga = on_shift(app, "olga", OPERATOR_PHONE)
    sim_call = call_in(carrier)
    call = stored(sim_call)
    page = f"/console/calls/{call.id}"
    post(olga, f"{page}/warm", {"target": "chain"}, page)
    assert verbs(stored(sim_call)) == []  # no appeal yet: refused


def test_a_warm_transfer_to_a_ready_operator_consults_her_then_puts_the_caller_through(
    app, carrier, operator, second
):
    carrier.phone(SECOND_PHONE, answers_and_presses(None, talk_seconds=30))
    olga = on_shift(app, "olga", OPERATOR_PHONE)
    sim_call = call_in(carrier)
    call = stored(sim_call)
    page = f"/console/calls/{call.id}"
    on_shift(app, "petra", SECOND_PHONE, ready=True)
    assert 'id="warm-operator"' in olga.get(page).text

    post(olga, f"{page}/warm", {"target": "operator", "operator": second.id}, page)
    carrier.run_pending()
    assert carrier.queued("operator-hold") == [sim_call]
    assert state_of(second)[0] == "offered"  # held for the consultation: no other offer
    consult = [c for c in carrier.calls_to(OPERATOR_PHONE) if c.direction != "inbound"][-1]
    assert [leg.number for leg in consult.transcript.dialled] == [SECOND_PHONE]

    post(olga, f"{page}/warm", {"step": "complete"}, page)
    carrier.run_pending()
    assert [leg.number for leg in sim_call.transcript.dialled][-1] == SECOND_PHONE
    assert stored(sim_call).operator_id == second.id
    assert state_of(second) == ("on_call", None) and state_of(operator)[0] == "wrap_up"
    moved = [e.data for e in timeline("call", call.id) if e.verb == "call.transferred"]
    assert moved == [{"kind": "operator", "to": "petra", "mode": "warm"}]


def test_a_cancelled_warm_transfer_to_an_operator_makes_her_ready_again(
    app, carrier, operator, second
):
    carrier.phone(SECOND_PHONE, answers_and_presses(None, talk_seconds=30))
    olga = on_shift(app, "olga", OPERATOR_PHONE)
    sim_call = call_in(carrier)
    page = f"/console/calls/{stored(sim_call).id}"
    on_shift(app, "petra", SECOND_PHONE, ready=True)
    post(olga, f"{page}/warm", {"target": "operator", "operator": second.id}, page)
    carrier.run_pending()
    post(olga, f"{page}/warm", {"step": "cancel"}, page)
    carrier.run_pending()
    assert state_of(second)[0] == "ready"
    assert verbs(stored(sim_call)) == ["call.transfer-consult", "call.transfer-cancelled"]


def test_a_warm_transfer_to_an_operator_the_carrier_refuses_says_so_and_frees_her(
    app, carrier, operator, second, monkeypatch
):
    from core.telephony.gateway import THROTTLED, CarrierError
    from core.telephony.sim_gateway import SimGateway

    olga = on_shift(app, "olga", OPERATOR_PHONE)
    sim_call = call_in(carrier)
    page = f"/console/calls/{stored(sim_call).id}"
    on_shift(app, "petra", SECOND_PHONE, ready=True)

    def busy_carrier(self, *args, **kwargs):
        raise CarrierError("429 Too Many Requests", kind=THROTTLED, code=20429)

    monkeypatch.setattr(SimGateway, "place_call", busy_carrier)
    post(olga, f"{page}/warm", {"target": "operator", "operator": second.id}, page)
    carrier.run_pending()
    shown = olga.get(page).text
    assert "Телефонная сеть не выполнила действие со звонящим" in shown
    assert state_of(second)[0] == "ready"
    assert "call.transfer-consult" not in verbs(stored(sim_call))
