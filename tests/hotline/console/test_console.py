"""The console through the test client and the simulated carrier."""

from datetime import timedelta
from urllib.parse import urlencode

import pytest

from callbacks.models import AppealTracking, Card
from core.clock import utcnow
from core.events import timeline
from core.extensions import db
from core.telephony.sim import answers_and_presses
from hotline.models import Appeal, BlockedNumber, OperatorShift
from hotline.prompts import spoken_number
from tests.conftest import carrier_down, csrf_token, login, statements_naming_actors, work
from tests.factories import make_user
from tests.hotline.conftest import CITIZEN
from tests.hotline.console.conftest import (
    OPERATOR_PHONE,
    appeal_data,
    call_in,
    post,
    stored,
    submit_appeal,
    take,
    taken_call,
)


def test_shift_opens_and_closes_with_a_valid_endpoint(client, operator):
    login(client, "olga")
    bad = post(client, "/console/shift", {"endpoint": "12"})
    assert bad.status_code == 400 and "field-error" in bad.text
    post(client, "/console/shift", {"endpoint": "8 (900) 000-99-99"})
    shift = db.session.scalar(db.select(OperatorShift))
    assert shift.endpoint == OPERATOR_PHONE and shift.ended_at is None
    post(client, "/console/shift/end")
    db.session.expire_all()
    assert db.session.scalar(db.select(OperatorShift)).ended_at is not None


def test_queued_call_is_listed_taken_and_bridged_to_the_operator(console, carrier):
    sim_call = call_in(carrier)
    assert carrier.queued("operators") == [sim_call]
    call = stored(sim_call)
    assert call.queued_at is not None
    assert CITIZEN in console.get("/console/queue").text

    take(console, carrier, sim_call)
    call = stored(sim_call)
    assert call.operator_id is not None and call.operator_answered_at is not None
    assert [leg.number for leg in sim_call.transcript.dialled] == [OPERATOR_PHONE]
    assert sim_call.transcript.dialled[0].bridged
    assert carrier.queued("operator-hold") == [sim_call]  # held while the appeal is registered
    queue = console.get("/console/queue").text
    assert f'data-call="{call.id}"' not in queue and 'id="active-call"' in queue
    page = console.get(f"/console/calls/{call.id}")
    assert "Первов Пётр" not in page.text  # no municipality chosen yet


def test_connect_now_sends_the_caller_into_the_chain_and_shows_the_attempts(
    console, carrier, region
):
    carrier.phone(region.primary.phone, answers_and_presses("1"))
    sim_call, call = taken_call(console, carrier)
    response = submit_appeal(console, call, region, "connect")
    assert response.status_code == 302
    carrier.run_pending()
    call = stored(sim_call)
    assert call.outcome == "connected" and call.appeal.status == "in_work"
    assert call.appeal.channel == "operator" and call.appeal.created_by_id is not None
    progress = console.get(f"/console/calls/{call.id}/progress").text
    assert "Первов Пётр" in progress and "accepted" in progress
    assert [leg.number for leg in sim_call.transcript.dialled][-1] == region.primary.phone


def test_register_only_sends_the_appeal_and_the_sms(app, console, carrier, region):
    sim_call, call = taken_call(console, carrier)
    submit_appeal(console, call, region, "register")
    carrier.run_pending()
    call = stored(sim_call)
    appeal = call.appeal
    assert call.outcome == "handled" and appeal.status == "in_work"
    assert call.wrapped_up_at is not None and not call.attempts
    assert any(spoken_number(appeal.number) in said for said in sim_call.transcript.said)
    assert sim_call.status == "completed"
    work(app)
    assert any(appeal.number in sms for sms in carrier.sms_to(CITIZEN))
    card = db.session.scalar(db.select(Card).where(Card.appeal_id == appeal.id))
    assert card.municipality_id == region.place.id
    assert card.callback_due_at == appeal.callback_due_at
    assert card.duty["primary"]["phone"] == region.primary.phone
    assert db.session.get(AppealTracking, appeal.id).next_checkin_at is not None


def test_field_errors_for_bad_phone_and_missing_municipality(console, carrier, region):
    _, call = taken_call(console, carrier)
    response = submit_appeal(
        console, call, region, "connect", municipality="", callback_number="12345"
    )
    assert response.status_code == 400
    assert 'id="municipality-error"' in response.text
    assert 'id="callback_number-error"' in response.text
    assert db.session.scalar(db.select(Appeal)) is None


def test_wrap_up_abusive_marks_the_number_for_review(console, carrier, region):
    sim_call, call = taken_call(console, carrier)
    post(
        console,
        f"/console/calls/{call.id}/wrap-up",
        {"code": "abusive"},
        page=f"/console/calls/{call.id}",
    )
    carrier.run_pending()
    call = stored(sim_call)
    assert call.wrapup_code == "abusive" and call.outcome == "handled"
    assert sim_call.status == "completed"
    verbs = [e.verb for e in timeline("number", CITIZEN)]
    assert verbs == ["number.block-review"]
    db.session.add(BlockedNumber(pattern="+7916*"))
    db.session.commit()
    again = call_in(carrier, "+79169999999")
    assert again.status == "completed"  # refused: blocked


def test_caller_hanging_up_in_the_queue_is_abandoned(console, carrier):
    sim_call = call_in(carrier)
    carrier.caller_hangs_up(sim_call.sid)
    call = stored(sim_call)
    assert call.outcome == "abandoned" and call.queued_at is not None
    assert call.operator_id is None


def test_operator_not_answering_puts_the_caller_back_in_the_queue(console, carrier):
    from core.telephony.sim import no_answer

    carrier.phone(OPERATOR_PHONE, no_answer())
    sim_call = call_in(carrier)
    take(console, carrier, sim_call)
    call = stored(sim_call)
    assert call.operator_id is None and call.operator_answered_at is None
    assert carrier.queued("operators") == [sim_call]


def test_other_roles_cannot_open_the_console(client, region):
    make_user("hugo", "head", region.place)
    login(client, "hugo")
    assert client.get("/console/").status_code == 403


def test_every_action_is_on_the_appeal_timeline_with_the_operators_name(
    console, carrier, region, operator
):
    carrier.phone(region.primary.phone, answers_and_presses("1"))
    sim_call, call = taken_call(console, carrier)
    submit_appeal(console, call, region, "connect")
    carrier.run_pending()
    appeal = stored(sim_call).appeal
    post(
        console,
        f"/console/appeals/{appeal.id}/control-call",
        {"text": "Позвонила дежурному: бригада выехала"},
        page=f"/console/appeals/{appeal.id}",
    )
    by_operator = {
        event.verb
        for event in timeline("appeal", appeal.id) + timeline("call", call.id)
        if event.actor_id == operator.id and event.actor_label == "olga"
    }
    assert {
        "call.taken",
        "appeal.registered",
        "appeal.connect-requested",
        "appeal.control-call",
    } <= by_operator
    page = console.get(f"/console/appeals/{appeal.id}").text
    assert page.count("Ольга Операторова") >= 4
    assert "бригада выехала" in page
    control = console.get("/console/control?scope=mine").text
    assert appeal.number in control


def test_an_operator_cannot_edit_the_roster(console, region):
    code = region.place.code
    for url in (
        f"/roster/{code}/rotation/primary",
        f"/roster/{code}/override",
        f"/roster/{code}/swap",
        f"/roster/{code}/unavailability",
        "/roster/import",
    ):
        assert console.get(url).status_code == 403, url
    response = post(console, f"/roster/{code}/override", {"role": "primary"})
    assert response.status_code == 403


def _carrier_errors(call) -> list:
    return [e for e in timeline("call", call.id) if e.verb == "call.carrier-error"]


@pytest.mark.parametrize("kind", ["twilio", "sim"])
def test_a_carrier_error_on_connect_now_keeps_the_appeal_and_the_operator_tries_again(
    app, console, carrier, region, kind
):
    carrier.phone(region.primary.phone, answers_and_presses("1"))
    sim_call, call = taken_call(console, carrier)
    page = f"/console/calls/{call.id}"
    with carrier_down(app, kind) as twilio:
        response = submit_appeal(console, call, region, "connect")
    assert response.status_code == 302 and response.location == page
    if twilio is not None:
        assert twilio.requests[0]["data"]["Url"].endswith(f"/voice/calls/{call.id}/connect")
    shown = console.get(page).text
    assert "телефонная сеть не соединила заявителя с дежурными" in shown
    assert 'id="connect-again"' in shown and 'id="connect-retrying"' in shown
    call = stored(sim_call)
    assert call.appeal.status == "routing" and call.appeal.number in shown
    assert call.chain_started_at is None and call.outcome is None and call.ended_at is None
    [error] = _carrier_errors(call)
    assert error.data["action"] == "connect" and error.actor_id == call.operator_id
    appeal_page = console.get(f"/console/appeals/{call.appeal.id}").text
    assert "сбой телефонной сети" in appeal_page

    assert post(console, f"{page}/connect", page=page).status_code == 302
    carrier.run_pending()
    call = stored(sim_call)
    assert call.outcome == "connected" and call.appeal.status == "in_work"
    assert [leg.number for leg in sim_call.transcript.dialled][-1] == region.primary.phone
    shown = console.get(page).text
    assert 'id="connect-again"' not in shown and 'id="connect-retrying"' not in shown
    post(console, f"{page}/connect", page=page)
    assert "Этого заявителя уже нельзя соединить." in console.get(page).text


def test_a_carrier_error_on_taking_a_call_puts_it_back_in_the_queue(app, console, carrier):
    sim_call = call_in(carrier)
    call = stored(sim_call)
    with carrier_down(app, "sim"):
        response = post(console, f"/console/calls/{call.id}/take")
    assert response.status_code == 302 and response.location == "/console/"
    shown = console.get("/console/").text
    assert "звонок возвращён в очередь" in shown
    call = stored(sim_call)
    assert call.operator_id is None and call.outcome is None
    assert [e.data["action"] for e in _carrier_errors(call)] == ["take"]
    assert f'data-call="{call.id}"' in console.get("/console/queue").text

    take(console, carrier, sim_call)
    call = stored(sim_call)
    assert call.operator_answered_at is not None
    assert [leg.number for leg in sim_call.transcript.dialled] == [OPERATOR_PHONE]


def test_a_carrier_error_on_wrap_up_or_register_only_tells_the_operator(
    app, console, carrier, region
):
    first, call = taken_call(console, carrier)
    page = f"/console/calls/{call.id}"
    with carrier_down(app, "twilio"):
        post(console, f"{page}/wrap-up", {"code": "info"}, page)
    assert "положите трубку на своём телефоне" in console.get("/console/").text
    call = stored(first)
    assert call.wrapup_code == "info" and call.wrapped_up_at is not None
    assert [e.data["action"] for e in _carrier_errors(call)] == ["goodbye"]

    second, call = taken_call(console, carrier, "+79160000002")
    page = f"/console/calls/{call.id}"
    with carrier_down(app, "twilio"):
        submit_appeal(console, call, region, "register")
    call = stored(second)
    assert call.appeal.status == "in_work" and call.outcome == "handled"
    assert "сообщите номер сами" in console.get(page).text
    assert [e.data["action"] for e in _carrier_errors(call)] == ["registered"]


def test_the_appeal_page_names_who_acted_without_loading_every_user(console, region):
    from hotline.console.services import log_control_call
    from hotline.services import register_appeal

    appeal = register_appeal(
        channel="operator", municipality=region.place, category=region.roads, caller_number=CITIZEN
    )
    db.session.commit()
    for index in range(30):  # users who never touched the appeal
        make_user(f"bystander{index}", "official", region.place)
    page = f"/console/appeals/{appeal.id}"

    def control_call_by(index: int) -> str:
        operator = make_user(f"operator{index}", "operator")
        operator.full_name = f"Операторова {index}"
        log_control_call(db.session.get(Appeal, appeal.id), f"Звонок {index}", operator)
        return operator.full_name

    three, ten = statements_naming_actors(console, page, control_call_by)
    assert len(three) == len(ten)
    assert not [s for s in ten if "FROM users" in s and "WHERE" not in s]


def test_the_caller_card_flags_a_call_as_the_voice_flow_judged_it(app, console, carrier):
    from hotline.console.services import caller_card
    from hotline.services import refusal_reason

    app.config["CALLER_RATE_LIMIT"] = (2, 600)
    first, call = taken_call(console, carrier)
    call_in(carrier)  # waits in the queue
    third = call_in(carrier)
    assert third.status == "completed"  # refused: the third call in ten minutes
    page = f"/console/calls/{call.id}"

    shown = console.get(page).text
    assert 'id="flag-rate-limited"' not in shown and "Отметок нет." in shown
    assert caller_card(stored(first)).rate_limited is False  # later calls do not count
    assert caller_card(stored(third)).rate_limited is True
    assert refusal_reason(stored(third)) == "rate-limited"

    db.session.add(BlockedNumber(pattern="+7916*"))
    db.session.commit()
    shown = console.get(page).text
    assert 'id="flag-blocked"' in shown
    assert caller_card(stored(first)).blocked is True


def test_the_console_names_a_missed_call_and_an_overdue_appeal_in_its_own_words(
    console, carrier, region
):
    """Words the reports and the cabinet use in another sense read right in the console."""
    sim_call, call = taken_call(console, carrier)
    submit_appeal(console, call, region, "connect")
    carrier.run_pending()
    call = stored(sim_call)
    assert call.outcome == "missed" and call.appeal.status == "missed"
    assert "<title>Звонок +7" in console.get(f"/console/calls/{call.id}").text
    progress = console.get(f"/console/calls/{call.id}/progress").text
    assert '<span id="appeal-status">пропущено</span>' in progress
    assert 'Звонок: <span id="call-outcome">пропущен</span>' in progress
    call.appeal.resolution_due_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    control = console.get("/console/control?scope=mine").text
    assert '<span class="gap">просрочено</span>' in control


def test_an_operator_whose_phone_did_not_answer_reads_why_on_her_call_page(console, carrier):
    from core.telephony.sim import no_answer

    carrier.phone(OPERATOR_PHONE, no_answer())
    sim_call, call = taken_call(console, carrier)
    page = console.get(f"/console/calls/{call.id}")
    assert page.status_code == 200
    assert "Вызов вернулся в очередь: ваш телефон не ответил." in page.text
    assert "Звонящий снова ждёт в очереди" in page.text
    assert 'href="/console/" id="back-to-queue"' in page.text
    polled = console.get(f"/console/calls/{call.id}/state")
    assert polled.status_code == 200 and "ваш телефон не ответил" in polled.text
    late = post(console, f"/console/calls/{call.id}/wrap-up", {"code": "info"})
    assert late.status_code == 409 and "ваш телефон не ответил" in late.text
    assert stored(sim_call).wrapped_up_at is None


def test_a_busy_phone_and_a_call_taken_since_by_another_operator_are_named(
    client, console, carrier
):
    from core.telephony.sim import busy

    carrier.phone(OPERATOR_PHONE, busy())
    sim_call, call = taken_call(console, carrier)
    make_user("irina", "operator")
    db.session.commit()
    other = client.application.test_client()
    login(other, "irina")
    post(other, "/console/shift", {"endpoint": "+79000008888"})
    post(other, f"/console/calls/{call.id}/take")
    page = console.get(f"/console/calls/{call.id}").text
    assert "ваш телефон был занят" in page and "С тех пор вызов принял другой оператор." in page
    assert console.get(f"/console/calls/{call.id}/progress").status_code == 200


def test_the_call_page_asks_until_the_call_is_settled(console, carrier):
    sim_call, call = taken_call(console, carrier)
    assert console.get(f"/console/calls/{call.id}/state").status_code == 200  # answered
    page = console.get(f"/console/calls/{call.id}").text
    assert f'id="call-state" data-url="/console/calls/{call.id}/state"' in page
    assert "console-call.js" in page


def test_a_stranger_operator_still_may_not_open_the_call(client, console, carrier):
    sim_call, call = taken_call(console, carrier)
    make_user("irina", "operator")
    db.session.commit()
    other = client.application.test_client()
    login(other, "irina")
    assert other.get(f"/console/calls/{call.id}").status_code == 403


def test_a_caller_who_hangs_up_before_the_operator_answers_is_named_on_her_page(console, carrier):
    from core.telephony.sim import no_answer

    carrier.phone(OPERATOR_PHONE, no_answer())
    sim_call = call_in(carrier)
    post(console, f"/console/calls/{stored(sim_call).id}/take")
    carrier.caller_hangs_up(sim_call.sid)
    carrier.run_pending()
    call = stored(sim_call)
    page = console.get(f"/console/calls/{call.id}")
    assert page.status_code == 200
    assert "Звонящий положил трубку, не дождавшись вашего ответа." in page.text
    polled = console.get(f"/console/calls/{call.id}/state")
    assert "Звонящий положил трубку" in polled.text and 'id="back-to-queue"' in polled.text


def test_a_lone_surrogate_in_the_appeal_form_is_read_as_its_escapes_not_a_500(
    console, carrier, region
):
    _, call = taken_call(console, carrier)
    page = f"/console/calls/{call.id}"
    fields = {
        **appeal_data(region, text="Яма \ud800 у дома"),
        "action": "register",
        "csrf_token": csrf_token(console.get(page).text),
    }
    response = console.post(
        f"{page}/appeal",
        data=urlencode(fields, encoding="utf-8", errors="surrogatepass"),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 302
    assert db.session.scalar(db.select(Appeal)).text == "Яма %ED%A0%80 у дома"
