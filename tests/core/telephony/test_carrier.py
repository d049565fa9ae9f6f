"""The simulated carrier against a small test-only voice blueprint, in-process."""

from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from core.extensions import db
from core.models import Event
from core.telephony import get_gateway
from core.telephony.sim import (
    CallerScript,
    SimCarrier,
    Speech,
    TwiMLRejected,
    answers_and_presses,
    busy,
    fails,
    no_answer,
    voicemail,
)
from core.telephony.sim.webhooks import APP_ERROR
from tests.conftest import work
from tests.core.telephony.voice_app import OFFICIAL, build_blueprint

PUBLIC = "https://hotline.test"
LINE = "+74872000000"
CITIZEN = "+79161234567"


@pytest.fixture
def log():
    return []


@pytest.fixture
def carrier(app, log):
    """The in-process carrier; the app behind an https proxy at PUBLIC."""
    app.config.update(PUBLIC_BASE_URL=PUBLIC, TWILIO_AUTH_TOKEN="carrier-test-token")
    app.register_blueprint(build_blueprint(log))
    return SimCarrier.in_process(
        app, voice_path="/voice/test-menu", status_path="/voice/test-status"
    )


def posted(log, path: str) -> list[dict]:
    """The forms the app received at `path`."""
    return [form for seen, form in log if seen == path]


def test_say_and_gather_digits(carrier, log):
    call = carrier.incoming_call(CITIZEN, LINE, CallerScript(digits=["1"]))

    assert call.transcript.said == [
        "Здравствуйте, это горячая линия губернатора.",
        "Нажмите 1 или 9.",
        "Вы выбрали 1.",
    ]
    assert call.transcript.utterances[0].language == "ru-RU"
    assert call.transcript.utterances[0].voice == "Polly.Tatyana"
    assert call.status == "completed"
    [first] = posted(log, "/voice/test-menu")
    assert first["CallStatus"] == "ringing"
    assert (first["From"], first["To"], first["Direction"]) == (CITIZEN, LINE, "inbound")
    assert (first["Caller"], first["Called"], first["ApiVersion"]) == (CITIZEN, LINE, "2010-04-01")
    assert first["AccountSid"] == carrier.account_sid
    [choice] = posted(log, "/voice/test-menu/choice")
    assert choice["Digits"] == "1"
    assert choice["CallStatus"] == "in-progress"


def test_gather_without_input_falls_through_to_the_next_verb(carrier, log):
    call = carrier.incoming_call(CITIZEN, LINE, CallerScript())

    assert call.transcript.said[-1] == "Мы не получили ответа."
    assert posted(log, "/voice/test-menu/choice") == []
    assert call.status == "completed"


def test_gather_speech_posts_the_speech_result(carrier, log):
    carrier.app_number(LINE, voice_url="/voice/test-speech")

    call = carrier.incoming_call(CITIZEN, LINE, CallerScript([Speech("Тула", 0.87)]))

    [choice] = posted(log, "/voice/test-menu/choice")
    assert (choice["SpeechResult"], choice["Confidence"]) == ("Тула", "0.87")
    assert call.transcript.said[-1] == "Вы выбрали Тула."


def test_redirect_fetches_the_menu_again(carrier):
    call = carrier.incoming_call(CITIZEN, LINE, CallerScript(digits=["9", "1"]))

    assert call.transcript.said.count("Здравствуйте, это горячая линия губернатора.") == 2
    assert call.transcript.gathered == ["9", "1"]
    assert call.transcript.said[-1] == "Вы выбрали 1."


def test_caller_who_hangs_up_early_is_not_followed(carrier, log):
    call = carrier.incoming_call(CITIZEN, LINE, CallerScript(digits=["1"], hang_up_after_verbs=1))

    assert call.transcript.said == ["Здравствуйте, это горячая линия губернатора."]
    assert posted(log, "/voice/test-menu/choice") == []
    assert call.status == "completed"


def _dial(carrier, *numbers, script=None, record=None):
    query = urlencode({"numbers": ",".join(numbers), **({"record": record} if record else {})})
    carrier.app_number(LINE, voice_url="/voice/test-dial?" + query)
    return carrier.incoming_call(CITIZEN, LINE, script or CallerScript())


def test_official_who_presses_1_is_bridged(carrier, log):
    carrier.phone(OFFICIAL, answers_and_presses("1", after=4, talk_seconds=90))

    call = _dial(carrier, OFFICIAL, script=CallerScript(talk_seconds=45))

    [leg] = call.legs
    assert leg.transcript.said == [
        "Горячая линия губернатора, район Альфа. Нажмите 1, чтобы принять."
    ]
    assert leg.pressed == ["1"]
    [whisper] = posted(log, "/voice/test-whisper")
    assert whisper["CallSid"] == leg.sid
    assert whisper["ParentCallSid"] == call.sid
    assert whisper["Direction"] == "outbound-dial"
    assert (whisper["From"], whisper["To"]) == ("+74872000000", OFFICIAL)
    [done] = posted(log, "/voice/test-dial/done")
    assert done["DialCallStatus"] == "completed"
    assert done["DialCallSid"] == leg.sid
    assert done["DialBridged"] == "true"
    assert int(done["DialCallDuration"]) >= 45
    [dialled] = call.transcript.dialled
    assert (dialled.number, dialled.status, dialled.bridged) == (OFFICIAL, "completed", True)
    # The caller hung up after the talk: Twilio still posts the action, the TwiML is ignored.
    assert done["CallStatus"] == "completed"
    assert "Итог: completed." not in call.transcript.said
    assert call.status == "completed"
    assert call.duration >= 45


def test_voicemail_is_completed_with_a_short_duration_and_not_bridged(carrier, log):
    carrier.phone(OFFICIAL, voicemail)

    call = _dial(carrier, OFFICIAL)

    [done] = posted(log, "/voice/test-dial/done")
    assert done["DialCallStatus"] == "completed"
    assert done["DialBridged"] == "false"
    assert 0 < int(done["DialCallDuration"]) < 15
    [dialled] = call.transcript.dialled
    assert (dialled.status, dialled.bridged, dialled.pressed) == ("completed", False, [])
    assert call.transcript.said[-1] == "Итог: completed."


@pytest.mark.parametrize(
    ("behaviour", "status"),
    [(busy, "busy"), (no_answer, "no-answer"), (fails, "failed"), (None, "no-answer")],
    ids=["busy", "no-answer", "fails", "unknown-number"],
)
def test_unanswered_legs_report_their_status(carrier, log, behaviour, status):
    if behaviour is not None:
        carrier.phone(OFFICIAL, behaviour)

    call = _dial(carrier, OFFICIAL)

    [done] = posted(log, "/voice/test-dial/done")
    assert done["DialCallStatus"] == status
    assert "DialCallDuration" not in done
    assert posted(log, "/voice/test-whisper") == []
    assert call.transcript.dialled[0].status == status
    assert call.transcript.said[-1] == f"Итог: {status}."
    assert call.legs[0].status == status


def test_a_late_answer_is_no_answer(carrier, log):
    carrier.phone(OFFICIAL, answers_and_presses("1", after=25))

    _dial(carrier, OFFICIAL)

    assert posted(log, "/voice/test-dial/done")[0]["DialCallStatus"] == "no-answer"


def test_wrong_key_is_not_accepted(carrier, log):
    carrier.phone(OFFICIAL, answers_and_presses("2"))

    call = _dial(carrier, OFFICIAL)

    [done] = posted(log, "/voice/test-dial/done")
    assert (done["DialCallStatus"], done["DialBridged"]) == ("completed", "false")
    assert call.transcript.dialled[0].pressed == ["2"]


def test_several_numbers_ring_at_once_and_the_first_to_answer_wins(carrier, log):
    carrier.phone("+79000000102", voicemail(after=3))
    carrier.phone(OFFICIAL, answers_and_presses("1", after=6))

    call = _dial(carrier, OFFICIAL, "+79000000102")

    statuses = {entry.number: entry.status for entry in call.transcript.dialled}
    assert statuses == {OFFICIAL: "canceled", "+79000000102": "completed"}
    assert posted(log, "/voice/test-dial/done")[0]["DialBridged"] == "false"


def test_dial_record_reports_the_recording(carrier, log):
    carrier.phone(OFFICIAL, answers_and_presses("1", talk_seconds=30))

    call = _dial(carrier, OFFICIAL, record="record-from-answer")

    [done] = posted(log, "/voice/test-dial/done")
    assert done["RecordingUrl"].startswith("https://api.twilio.com/2010-04-01/Accounts/")
    assert done["RecordingDuration"] == "30"
    assert call.transcript.recordings[0].duration == 30


def test_leg_status_callbacks_carry_sequence_numbers_and_the_parent(carrier, log):
    carrier.phone(OFFICIAL, answers_and_presses("1"))

    call = _dial(carrier, OFFICIAL)

    leg_events = [form for form in posted(log, "/voice/test-status") if form["CallSid"] != call.sid]
    assert [form["CallStatus"] for form in leg_events] == [
        "initiated",
        "ringing",
        "in-progress",
        "completed",
    ]
    assert [form["SequenceNumber"] for form in leg_events] == ["0", "1", "2", "3"]
    assert {form["ParentCallSid"] for form in leg_events} == {call.sid}
    assert {form["CallbackSource"] for form in leg_events} == {"call-progress-events"}
    assert int(leg_events[-1]["CallDuration"]) > 0
    [parent_done] = [
        form for form in posted(log, "/voice/test-status") if form["CallSid"] == call.sid
    ]
    assert (parent_done["CallStatus"], parent_done["SequenceNumber"]) == ("completed", "0")
    assert parent_done["Timestamp"].endswith("GMT")


def test_record_posts_the_message(carrier, log):
    carrier.app_number(LINE, voice_url="/voice/test-record")

    call = carrier.incoming_call(CITIZEN, LINE, CallerScript(message_seconds=12))

    [done] = posted(log, "/voice/test-record/done")
    assert done["RecordingDuration"] == "12"
    assert done["RecordingSid"].startswith("RE")
    assert done["Digits"] == "hangup"
    assert call.transcript.recordings[0].url == done["RecordingUrl"]
    assert db.session.scalar(select(func.count()).select_from(Event)) == 1


def test_record_in_silence_moves_on(carrier, log):
    carrier.app_number(LINE, voice_url="/voice/test-record")

    call = carrier.incoming_call(CITIZEN, LINE, CallerScript())

    assert posted(log, "/voice/test-record/done") == []
    assert call.transcript.said[-1] == "Сообщение не записано."


def test_enqueue_parks_the_call_until_the_app_redirects_it(carrier, log):
    carrier.app_number(LINE, voice_url="/voice/test-queue")

    first = carrier.incoming_call(CITIZEN, LINE)
    second = carrier.incoming_call("+79161110000", LINE)

    assert carrier.queued("operators") == [first, second]
    assert first.transcript.said[-1] == "Ваша позиция в очереди: 1."
    assert second.transcript.said[-1] == "Ваша позиция в очереди: 2."
    assert first.status == "in-progress" and first.parked
    wait = posted(log, "/voice/test-queue/wait")[1]
    assert (wait["QueuePosition"], wait["CurrentQueueSize"]) == ("2", "2")
    assert wait["QueueSid"].startswith("QU")

    get_gateway().redirect_call(first.sid, PUBLIC + "/voice/test-connected")
    carrier.run_pending()

    assert first.transcript.said[-1] == "Оператор на линии."
    assert first.status == "completed"
    assert carrier.queued("operators") == [second]
    assert posted(log, "/voice/test-queue/left")[0]["QueueResult"] == "redirected"

    carrier.caller_hangs_up(second.sid)

    assert second.status == "completed"
    assert carrier.queued() == []
    assert posted(log, "/voice/test-queue/left")[1]["QueueResult"] == "hangup"


def test_dial_queue_bridges_the_first_caller(carrier, log):
    carrier.app_number(LINE, voice_url="/voice/test-queue")
    waiting = carrier.incoming_call(CITIZEN, LINE, CallerScript(talk_seconds=40))
    carrier.app_number("+74872000001", voice_url="/voice/test-operator")

    operator = carrier.incoming_call("+79990000001", "+74872000001")

    assert waiting.status == "completed"
    [done] = posted(log, "/voice/test-dial/done")
    assert (done["DialCallStatus"], done["DialCallSid"]) == ("completed", waiting.sid)
    assert posted(log, "/voice/test-queue/left")[0]["QueueResult"] == "bridged"
    assert operator.transcript.dialled[0].bridged


def test_outbound_call_from_the_gateway_runs_its_twiml(app, carrier, log):
    carrier.phone(OFFICIAL, answers_and_presses("1"))
    carrier.app_number(LINE, voice_url="/voice/test-callback")

    call = carrier.incoming_call(CITIZEN, LINE)

    assert call.transcript.said == ["Мы вам перезвоним."]
    [outbound] = carrier.calls_to(OFFICIAL)
    assert outbound.direction == "outbound-api"
    assert outbound.pressed == ["1"]
    [whisper] = posted(log, "/voice/test-whisper")
    assert (whisper["Direction"], whisper["From"], whisper["To"]) == (
        "outbound-api",
        LINE,
        OFFICIAL,
    )
    events = [form for form in posted(log, "/voice/test-status") if form["CallSid"] == outbound.sid]
    assert [form["CallStatus"] for form in events] == [
        "initiated",
        "ringing",
        "in-progress",
        "completed",
    ]
    assert [int(form["SequenceNumber"]) for form in events] == [0, 1, 2, 3]
    assert carrier.sms_to(CITIZEN) == []  # stored with the webhook's commit, sent by a job
    work(app)
    assert carrier.sms_to(CITIZEN) == ["Вам перезвонят."]


def test_outbound_call_to_a_busy_number_never_fetches_twiml(carrier, log):
    carrier.phone(OFFICIAL, busy)

    sid = get_gateway().place_call(OFFICIAL, PUBLIC + "/voice/test-whisper")
    carrier.run_pending()

    assert carrier.call(sid).status == "busy"
    assert posted(log, "/voice/test-whisper") == []


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("not-xml", "not XML"),
        ("wrong-root", "needs <Response>"),
        ("unknown-verb", "unknown TwiML verb <Dance>"),
        ("unknown-attribute", "unknown attribute"),
        ("dial-timeout", "out of range"),
        ("gather-dial", "Gather> may nest only"),
        ("record-length", "maxLength"),
        ("whisper-leg", r"<Dial> is not allowed in a <Number url> \(whisper\) leg"),
    ],
)
def test_twiml_twilio_would_refuse_is_rejected(carrier, name, message):
    carrier.phone(OFFICIAL, answers_and_presses("1"))
    carrier.app_number(LINE, voice_url=f"/voice/test-raw?name={name}")

    with pytest.raises(TwiMLRejected, match=message):
        carrier.incoming_call(CITIZEN, LINE)

    assert carrier.errors


def test_an_app_error_is_recorded_and_the_caller_hears_it(carrier):
    carrier.app_number(LINE, voice_url="/voice/test-error")

    call = carrier.incoming_call(CITIZEN, LINE)

    assert call.transcript.said == [APP_ERROR]
    assert call.status == "completed"
    assert "answered 500" in call.errors[0]


def test_the_fallback_url_takes_over_when_the_voice_url_fails(carrier, log):
    carrier.app_number(LINE, voice_url="/voice/test-error", fallback_url="/voice/test-fallback")

    call = carrier.incoming_call(CITIZEN, LINE)

    assert call.transcript.said == ["Резервный маршрут."]
    [form] = posted(log, "/voice/test-fallback")
    assert form["ErrorCode"] == "11200"


def test_a_carrier_with_the_wrong_token_is_refused(app, carrier, log):
    impostor = SimCarrier.in_process(
        app, attach=False, voice_path="/voice/test-menu", status_path=None
    )
    impostor.auth_token = "not-the-token"

    call = impostor.incoming_call(CITIZEN, LINE)

    assert call.transcript.said == [APP_ERROR]
    assert "answered 403" in call.errors[0]
    assert log == []


def test_post_webhook_replays_a_signed_status_callback(carrier, log):
    status, _ = carrier.post_webhook(
        "/voice/test-status", {"CallSid": "CA1", "CallStatus": "completed", "SequenceNumber": "3"}
    )

    assert status == 204
    assert posted(log, "/voice/test-status")[0]["SequenceNumber"] == "3"
