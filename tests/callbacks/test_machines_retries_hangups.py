"""What a real carrier does to the call flows: answering machines, retried and reordered
webhooks, and a caller who hangs up while the official hears the whisper."""

import pytest
from flask import current_app

from callbacks.models import CallbackAttempt, Card, NoticeCall
from core.events import timeline
from core.extensions import db
from core.models import OutboundMessage
from core.telephony import sign
from core.telephony.sim import answers_and_presses, voicemail
from hotline.models import Appeal, Call, DialAttempt
from tests.callbacks.conftest import ALPHA_LINE, CITIZEN, miss_call
from tests.conftest import csrf_token, login, work
from tests.hotline.conftest import twilio_post

WHISPER_GONE = "Гражданин уже положил трубку"


def retry_post(client, path: str, **params):
    """POST a webhook as Twilio retries it: signed over the URL with the connection overrides."""
    url = f"{current_app.config['PUBLIC_BASE_URL']}{path}#"
    url += current_app.config["TWILIO_CONNECTION_OVERRIDES"]
    signature = sign(url, params, current_app.config["TWILIO_AUTH_TOKEN"])
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature})


def post(client, url: str, page_url: str, **data):
    token = csrf_token(client.get(page_url).text)
    return client.post(url, data={"csrf_token": token, **data})


def count(model) -> int:
    return db.session.scalar(db.select(db.func.count(model.id)))


def ring_duty(client, sid: str = "CA1") -> Call:
    """A citizen calls Alpha's duty number; the chain starts ringing its first official."""
    answer = twilio_post(client, "/voice/incoming", CallSid=sid, From=CITIZEN, To=ALPHA_LINE)
    assert "<Dial" in answer.text
    return db.session.scalar(db.select(Call).where(Call.call_sid == sid))


def attempts(call: Call) -> list[DialAttempt]:
    db.session.expire_all()
    query = db.select(DialAttempt).where(DialAttempt.call_id == call.id)
    return db.session.scalars(query.order_by(DialAttempt.position)).all()


def citizen_sms() -> list[OutboundMessage]:
    query = db.select(OutboundMessage).where(OutboundMessage.to_number == CITIZEN)
    return db.session.scalars(query).all()


def start_callback(client, card: Card, official) -> CallbackAttempt:
    login(client, "head_a")
    page = f"/cabinet/cards/{card.id}"
    post(client, f"{page}/callback", page, official=str(official.id))
    return db.session.scalars(db.select(CallbackAttempt).order_by(CallbackAttempt.id)).all()[-1]


# --- answering machines --------------------------------------------------------------------


@pytest.mark.parametrize("answered_by", ["machine_start", "machine_end_beep", "fax"])
def test_a_machine_on_a_duty_leg_never_accepts_and_the_chain_goes_on(
    app, client, region, answered_by
):
    call = ring_duty(client)
    whisper = twilio_post(
        client, f"/voice/chain/{call.id}/0/whisper", CallSid="CAleg0", AnsweredBy=answered_by
    )
    assert "<Hangup" in whisper.text and "Нажмите 1" not in whisper.text
    # the machine's leg ends; the chain goes on exactly as for no answer
    result = twilio_post(
        client,
        f"/voice/chain/{call.id}/0/result",
        CallSid="CA1",
        CallStatus="in-progress",
        DialCallStatus="completed",
        DialCallSid="CAleg0",
    )
    assert "<Dial" in result.text and region.a["backup"].phone in result.text
    first, second = attempts(call)
    assert first.outcome == "machine" and not first.key_pressed
    assert first.dial_call_sid == "CAleg0" and second.outcome is None
    finished = [e for e in timeline("call", call.id) if e.verb == "attempt.finished"]
    assert [e.data["outcome"] for e in finished] == ["machine"]
    [machine] = [e for e in timeline("call", call.id) if e.verb == "attempt.answering-machine"]
    assert machine.data == {"position": 0, "role": "primary", "answered_by": answered_by}
    # a retried whisper changes nothing
    twilio_post(
        client, f"/voice/chain/{call.id}/0/whisper", CallSid="CAleg0", AnsweredBy=answered_by
    )
    verbs = [e.verb for e in timeline("call", call.id)]
    assert verbs.count("attempt.answering-machine") == 1


def test_a_human_answer_on_a_duty_leg_hears_the_whisper(app, client, region):
    call = ring_duty(client)
    whisper = twilio_post(
        client, f"/voice/chain/{call.id}/0/whisper", CallSid="CAleg0", AnsweredBy="human"
    )
    assert "Нажмите 1" in whisper.text
    assert attempts(call)[0].outcome is None


def test_a_voicemail_on_a_duty_phone_is_not_accepted(app, client, region, carrier):
    carrier.phone(region.a["primary"].phone, voicemail(after=3))
    carrier.phone(region.a["backup"].phone, answers_and_presses("1", talk_seconds=20))
    sim_call = carrier.incoming_call(CITIZEN, ALPHA_LINE)
    call = db.session.scalar(db.select(Call).where(Call.call_sid == sim_call.sid))
    first, second = attempts(call)
    assert first.outcome == "not-accepted" and not first.key_pressed
    assert second.outcome == "accepted"
    assert db.session.get(Call, call.id).outcome == "connected"


def test_voicemail_on_a_click_to_call_is_an_answering_machine(app, client, region, carrier):
    card = miss_call(client)
    official = region.a["supervisor"]
    carrier.phone(official.phone, voicemail(after=3))
    start_callback(client, card, official)
    carrier.run_pending()
    db.session.expire_all()
    [attempt] = db.session.scalars(db.select(CallbackAttempt)).all()
    assert attempt.outcome == "machine" and attempt.key_pressed_at is None
    [leg] = carrier.calls_to(official.phone)
    assert leg.answered_by == "machine_end_beep"
    assert not any("Нажмите 1" in text for text in leg.transcript.said)
    assert carrier.calls_to(CITIZEN) == []
    assert db.session.get(Card, card.id).state == "new"  # as for no answer
    page = client.get(f"/cabinet/cards/{card.id}").text
    assert "автоответчик" in page


def test_a_person_on_a_click_to_call_is_told_human_and_hears_the_whisper(
    app, client, region, carrier
):
    card = miss_call(client)
    official = region.a["supervisor"]
    carrier.phone(official.phone, answers_and_presses("2"))
    start_callback(client, card, official)
    carrier.run_pending()
    [leg] = carrier.calls_to(official.phone)
    assert leg.answered_by == "human"
    assert any("Нажмите 1" in text for text in leg.transcript.said)
    db.session.expire_all()
    assert db.session.scalars(db.select(CallbackAttempt)).one().outcome == "not-accepted"


def test_voicemail_on_a_notice_call_is_unanswered_because_of_a_machine(
    app, client, region, carrier, clock
):
    card = miss_call(client)
    primary = region.a["primary"]
    carrier.sms_undelivered(primary.phone, "30005")
    carrier.phone(primary.phone, voicemail(after=3))
    work(app)
    clock.advance(minutes=3)
    from callbacks import jobs

    jobs.sweep()
    work(app)
    carrier.run_pending()
    [leg] = carrier.calls_to(primary.phone)
    assert leg.answered_by == "machine_end_beep"
    db.session.expire_all()
    notice = db.session.scalars(
        db.select(NoticeCall).where(NoticeCall.official_phone == primary.phone)
    ).one()
    assert notice.outcome == "unanswered"
    [unanswered] = [e for e in timeline("card", card.id) if e.verb == "card.notice-call-unanswered"]
    assert unanswered.data["outcome"] == "machine"
    assert db.session.get(Card, card.id).state == "new"
    login(client, "head_a")
    page = client.get(f"/cabinet/cards/{card.id}").text
    assert "дежурный не подтвердил карточку на звонке" in page and "автоответчик" in page


# --- retried webhooks ----------------------------------------------------------------------


def test_every_duty_chain_webhook_twice_answers_the_same_and_changes_nothing(app, client, region):
    first = twilio_post(client, "/voice/incoming", CallSid="CA1", From=CITIZEN, To=ALPHA_LINE)
    again = twilio_post(client, "/voice/incoming", CallSid="CA1", From=CITIZEN, To=ALPHA_LINE)
    assert first.text == again.text and count(Call) == 1 and count(Appeal) == 1
    call = db.session.scalar(db.select(Call))
    base = f"/voice/chain/{call.id}"
    no_answer = dict(CallSid="CA1", CallStatus="in-progress", DialCallStatus="no-answer")
    answers = [twilio_post(client, f"{base}/0/result", **no_answer) for _ in range(2)]
    assert answers[0].text == answers[1].text and "<Dial" in answers[0].text
    assert len(attempts(call)) == 2
    whispers = [twilio_post(client, f"{base}/1/whisper", CallSid="CAleg1") for _ in range(2)]
    assert whispers[0].text == whispers[1].text
    presses = [
        twilio_post(client, f"{base}/1/accept", CallSid="CAleg1", Digits="1") for _ in range(2)
    ]
    assert presses[0].text == presses[1].text and "<Hangup" not in presses[0].text
    bridged = dict(CallSid="CA1", DialCallStatus="completed", DialCallDuration="40")
    results = [twilio_post(client, f"{base}/1/result", **bridged) for _ in range(2)]
    assert results[0].text == results[1].text
    status = dict(CallSid="CA1", CallStatus="completed", SequenceNumber="3")
    assert [twilio_post(client, "/voice/status", **status).status_code for _ in range(2)] == [
        204,
        204,
    ]
    db.session.expire_all()
    call = db.session.get(Call, call.id)
    assert call.outcome == "connected" and call.appeal.status == "in_work"
    assert [a.outcome for a in attempts(call)] == ["no-answer", "accepted"]
    verbs = [e.verb for e in timeline("call", call.id)]
    assert verbs.count("attempt.key-pressed") == 1 and verbs.count("attempt.finished") == 2
    assert count(Card) == 0


def test_a_retried_exhausted_chain_opens_one_card_and_sends_one_sms(app, client, region):
    app.config["TWILIO_CONNECTION_OVERRIDES"] = "rc=2&rt=timeout"
    call = ring_duty(client)
    no_answer = dict(CallSid="CA1", CallStatus="in-progress", DialCallStatus="no-answer")
    for position in range(3):
        url = f"/voice/chain/{call.id}/{position}/result"
        answer = twilio_post(client, url, **no_answer)
        retried = retry_post(client, url, **no_answer)
        assert retried.status_code == 200 and retried.text == answer.text
    assert "<Record" in answer.text
    recording = dict(CallSid="CA1", RecordingUrl="https://r.example/RE1", RecordingDuration="9")
    url = f"/voice/calls/{call.id}/recording"
    answers = [twilio_post(client, url, **recording), retry_post(client, url, **recording)]
    assert answers[0].text == answers[1].text
    work(app)
    assert count(Card) == 1 and len(citizen_sms()) == 1
    appeal = db.session.scalar(db.select(Appeal))
    assert appeal.status == "missed" and appeal.recording_url == "https://r.example/RE1"
    verbs = [e.verb for e in timeline("appeal", appeal.id)]
    assert verbs.count("appeal.missed") == 1 and verbs.count("appeal.voice-message") == 1


def test_callback_webhooks_twice_answer_the_same(app, client, region, carrier):
    card = miss_call(client)
    attempt = start_callback(client, card, region.a["primary"])
    base = f"/voice/callbacks/{attempt.id}"
    whispers = [twilio_post(client, f"{base}/whisper", CallSid="CAo") for _ in range(2)]
    assert whispers[0].text == whispers[1].text
    dials = [twilio_post(client, f"{base}/accept", CallSid="CAo", Digits="1") for _ in range(2)]
    assert dials[0].text == dials[1].text and f"<Number>{CITIZEN}</Number>" in dials[0].text
    talk = dict(CallSid="CAo", DialCallStatus="completed", DialCallDuration="30")
    results = [twilio_post(client, f"{base}/result", **talk) for _ in range(2)]
    assert results[0].text == results[1].text
    # the official's leg status callback, before or after the result, changes nothing
    assert twilio_post(client, f"{base}/status", CallStatus="completed").status_code == 204
    db.session.expire_all()
    assert db.session.get(CallbackAttempt, attempt.id).outcome == "answered"
    assert db.session.get(Card, card.id).state == "called_back"
    verbs = [e.verb for e in timeline("card", card.id)]
    assert verbs.count("callback.finished") == 1 and verbs.count("callback.accepted") == 1


# --- out of order: the caller's status before the dial result --------------------------------


@pytest.mark.parametrize("status_first", [True, False], ids=["status-first", "result-first"])
def test_caller_hanging_up_while_rung_ends_the_same_in_either_order(
    app, client, region, status_first
):
    call = ring_duty(client)
    twilio_post(client, f"/voice/chain/{call.id}/0/result", CallSid="CA1", DialCallStatus="busy")

    def status():
        return twilio_post(
            client, "/voice/status", CallSid="CA1", CallStatus="completed", SequenceNumber="4"
        )

    def result():
        return twilio_post(
            client,
            f"/voice/chain/{call.id}/1/result",
            CallSid="CA1",
            CallStatus="completed",
            DialCallStatus="no-answer",
        )

    steps = [status, result] if status_first else [result, status]
    answers = [step() for step in steps + steps]  # and each retried
    assert all("<Dial" not in answer.text for answer in answers)
    work(app)
    db.session.expire_all()
    call = db.session.get(Call, call.id)
    assert call.outcome == "missed" and call.ended_at is not None
    assert call.appeal.status == "missed"
    assert [a.outcome for a in attempts(call)] == ["busy", "caller-hung-up"]
    assert count(Card) == 1 and len(citizen_sms()) == 1
    missed = [e for e in timeline("appeal", call.appeal.id) if e.verb == "appeal.missed"]
    assert len(missed) == 1


# --- the caller hangs up during the whisper ------------------------------------------------


def test_caller_gone_during_the_whisper_is_not_bridged_and_the_official_is_told(
    app, client, region
):
    call = ring_duty(client)
    whisper = twilio_post(client, f"/voice/chain/{call.id}/0/whisper", CallSid="CAleg0")
    assert "Нажмите 1" in whisper.text
    twilio_post(client, "/voice/status", CallSid="CA1", CallStatus="completed", SequenceNumber="3")
    press = twilio_post(client, f"/voice/chain/{call.id}/0/accept", CallSid="CAleg0", Digits="1")
    assert WHISPER_GONE in press.text and "<Hangup" in press.text
    again = twilio_post(client, f"/voice/chain/{call.id}/0/accept", CallSid="CAleg0", Digits="1")
    assert again.text == press.text
    twilio_post(
        client,
        f"/voice/chain/{call.id}/0/result",
        CallSid="CA1",
        CallStatus="completed",
        DialCallStatus="completed",
        DialCallDuration="12",
    )
    work(app)
    db.session.expire_all()
    call = db.session.get(Call, call.id)
    [attempt] = attempts(call)
    assert attempt.outcome == "caller-hung-up" and not attempt.key_pressed
    assert call.outcome == "missed" and call.appeal.status == "missed"
    assert call.appeal.assignee_id is None
    assert count(Card) == 1 and len(citizen_sms()) == 1
    login(client, "head_a")
    card = db.session.scalar(db.select(Card))
    assert "звонивший положил трубку" in client.get(f"/cabinet/cards/{card.id}").text


def test_a_late_one_on_a_finished_callback_says_the_call_is_over(app, client, region, carrier):
    card = miss_call(client)
    attempt = start_callback(client, card, region.a["primary"])
    base = f"/voice/callbacks/{attempt.id}"
    twilio_post(client, f"{base}/whisper", CallSid="CAo")
    twilio_post(client, f"{base}/status", CallSid="CAo", CallStatus="completed")
    press = twilio_post(client, f"{base}/accept", CallSid="CAo", Digits="1")
    assert "уже завершён" in press.text and "<Dial" not in press.text
    db.session.expire_all()
    attempt = db.session.get(CallbackAttempt, attempt.id)
    assert attempt.outcome == "not-accepted" and attempt.key_pressed_at is None


def test_click_to_call_and_notice_calls_ask_twilio_for_machine_detection(
    app, client, region, clock, twilio_standin
):
    card = miss_call(client)
    work(app)
    start_callback(client, card, region.a["primary"])
    clock.advance(minutes=3)  # no SMS receipt came: the notice calls follow
    from callbacks import jobs

    jobs.sweep()
    work(app)
    placed = list(twilio_standin.calls.values())
    assert len(placed) > 1
    assert {call["machine_detection"] for call in placed} == {"Enable"}
    assert any("/voice/callbacks/" in call["url"] for call in placed)
    assert any("/voice/notices/" in call["url"] for call in placed)


# --- a late key press after the chain moved on ----------------------------------------------


@pytest.mark.parametrize("backup_accepts", [False, True], ids=["nobody-else", "backup-accepts"])
def test_a_late_one_from_an_official_the_chain_left_neither_bridges_nor_assigns(
    app, client, region, backup_accepts
):
    call = ring_duty(client)
    chain = f"/voice/chain/{call.id}"
    result = {"CallSid": "CA1", "CallStatus": "in-progress"}
    moved_on = twilio_post(client, f"{chain}/0/result", **result, DialCallStatus="no-answer")
    assert region.a["backup"].phone in moved_on.text  # the chain rings the backup now
    for _ in range(2):  # the primary's 1 arrives late, and is retried
        late = twilio_post(client, f"{chain}/0/accept", CallSid="CAleg0", Digits="1")
        assert "<Hangup" in late.text
    if backup_accepts:
        bridged = twilio_post(client, f"{chain}/1/accept", CallSid="CAleg1", Digits="1")
        assert "<Hangup" not in bridged.text
        twilio_post(
            client, f"{chain}/1/result", **result, DialCallStatus="completed", DialCallDuration="30"
        )
    else:
        for position in (1, 2):
            twilio_post(client, f"{chain}/{position}/result", **result, DialCallStatus="no-answer")
    work(app)
    primary, *_ = rows = attempts(call)
    assert primary.outcome == "no-answer" and not primary.key_pressed
    call = db.session.get(Call, call.id)
    if backup_accepts:
        assert [a.outcome for a in rows] == ["no-answer", "accepted"]
        assert call.outcome == "connected" and call.appeal.status == "in_work"
        assert call.appeal.assignee_id == region.a["backup"].id and count(Card) == 0
    else:
        assert [a.outcome for a in rows] == ["no-answer"] * 3
        assert call.outcome == "missed" and call.appeal.status == "missed"
        assert call.appeal.assignee_id is None and count(Card) == 1


def test_a_one_racing_the_result_that_moved_the_chain_on_neither_bridges_nor_assigns(
    app, client, region
):
    from sqlalchemy import event

    call = ring_duty(client)
    chain = f"/voice/chain/{call.id}"
    moved_on = []

    def result_lands_first(conn, cursor, statement, *_):
        # the primary's 1 has read the call; before it writes, the no-answer result commits
        if statement.startswith("UPDATE dial_attempts SET accepted_at") and not moved_on:
            moved_on.append(
                twilio_post(
                    app.test_client(),
                    f"{chain}/0/result",
                    CallSid="CA1",
                    CallStatus="in-progress",
                    DialCallStatus="no-answer",
                )
            )

    event.listen(db.engine, "before_cursor_execute", result_lands_first)
    try:
        late = twilio_post(client, f"{chain}/0/accept", CallSid="CAleg0", Digits="1")
    finally:
        event.remove(db.engine, "before_cursor_execute", result_lands_first)
    assert moved_on and region.a["backup"].phone in moved_on[0].text
    assert "<Hangup" in late.text
    primary, backup = attempts(call)
    assert primary.outcome == "no-answer" and backup.outcome is None
    call = db.session.get(Call, call.id)
    assert call.outcome is None and call.appeal.assignee_id is None
    assert call.appeal.status == "routing"
