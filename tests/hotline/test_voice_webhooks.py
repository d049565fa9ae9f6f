"""Voice webhooks driven by signed posts: idempotency, ordering, refusals and failures."""

import xml.etree.ElementTree as ET

import pytest

from core.events import timeline
from core.extensions import db
from core.models import Event
from hotline.models import Appeal, BlockedNumber, Call, DialAttempt
from hotline.signals import chain_exhausted
from tests.hotline.conftest import CITIZEN, GOVERNOR_LINE, twilio_post


def xml(response) -> ET.Element:
    assert response.status_code == 200, response.text
    assert response.mimetype == "text/xml"
    return ET.fromstring(response.text)


def count(model) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model))


@pytest.fixture
def broken(app):
    """The app again, with its database at an address where nothing answers."""
    from core import create_app

    return create_app(
        {**app.config, "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:1/x"}
    )


def test_forged_signature_is_refused_and_nothing_written(client, region):
    params = {"CallSid": "CA1", "From": CITIZEN, "To": GOVERNOR_LINE}
    forged = client.post("/voice/incoming", data=params, headers={"X-Twilio-Signature": "AAAA"})
    missing = client.post("/voice/incoming", data=params)
    assert forged.status_code == 403 and missing.status_code == 403
    assert count(Call) == 0 and count(Event) == 0


def test_governor_line_without_operators_offers_the_municipality_menu(client, region):
    root = xml(
        twilio_post(client, "/voice/incoming", CallSid="CA1", From=CITIZEN, To=GOVERNOR_LINE)
    )
    assert "горячую линию губернатора" in root.find("Say").text
    gather = root.find("Gather")
    assert gather.get("action").endswith("/voice/menu/municipality")
    assert gather.get("input") == "speech dtmf" and gather.get("language") == "ru-RU"
    assert gather.find("Say").text == "Назовите ваш город или район."
    assert "Альфинский район" in gather.get("hints")


def test_duplicate_incoming_webhook_registers_one_call(client, region):
    for _ in range(2):
        twilio_post(client, "/voice/incoming", CallSid="CA1", From=CITIZEN, To=GOVERNOR_LINE)
    assert count(Call) == 1


def test_duty_number_rings_the_primary_at_once(client, region):
    root = xml(
        twilio_post(client, "/voice/incoming", CallSid="CA1", From=CITIZEN, To="+74872700101")
    )
    number = root.find("Dial/Number")
    assert number.text == "+79000000101"
    call = db.session.scalar(db.select(Call))
    assert call.entry == "duty-number" and call.appeal.status == "routing"
    assert call.routing["primary"]["phone"] == "+79000000101"


def _through_menu(client, sid="CA1"):
    twilio_post(client, "/voice/incoming", CallSid=sid, From=CITIZEN, To=GOVERNOR_LINE)
    twilio_post(client, "/voice/menu/municipality", CallSid=sid, Digits="01")
    return twilio_post(client, "/voice/menu/category", CallSid=sid, Digits="2")


def test_menu_by_speech_and_category_starts_the_chain(client, region):
    twilio_post(client, "/voice/incoming", CallSid="CA1", From=CITIZEN, To=GOVERNOR_LINE)
    category_menu = xml(
        twilio_post(client, "/voice/menu/municipality", CallSid="CA1", SpeechResult="альфинский")
    )
    items = category_menu.find("Gather/Say").text
    assert items.index("1 — water") < items.index("2 — roads")  # emergencies first
    root = xml(twilio_post(client, "/voice/menu/category", CallSid="CA1", Digits="2"))
    assert root.find("Dial/Number").text == "+79000000101"
    call = db.session.scalar(db.select(Call))
    assert call.category_id == region.roads.id and call.appeal.category_id == region.roads.id


def test_unrecognised_choice_is_asked_again_then_goes_to_the_dispatcher(client, region):
    twilio_post(client, "/voice/incoming", CallSid="CA1", From=CITIZEN, To=GOVERNOR_LINE)
    again = xml(twilio_post(client, "/voice/menu/municipality", CallSid="CA1", Digits="77"))
    assert again.find("Say").text.startswith("Извините, не удалось")
    digits = xml(twilio_post(client, "/voice/menu/municipality", CallSid="CA1"))
    assert digits.find("Gather/Say").text == "1 — Альфинский район. 0 — оператор."
    url = "/voice/menu/municipality?stage=group&group=0"
    twilio_post(client, url, CallSid="CA1", Digits="7")
    last = xml(twilio_post(client, url, CallSid="CA1", Digits="9"))
    assert last.find("Dial").text == "+74872700000"


def test_duplicate_and_reordered_chain_webhooks_do_not_double_anything(client, region):
    fired = []
    chain_exhausted.connect(lambda call, appeal: fired.append(call.id), weak=False)
    try:
        _through_menu(client)
        call = db.session.scalar(db.select(Call))
        result = f"/voice/chain/{call.id}/0/result"
        first = twilio_post(client, result, CallSid="CA1", DialCallStatus="no-answer")
        retry = twilio_post(client, result, CallSid="CA1", DialCallStatus="no-answer")
        assert first.text == retry.text  # the same answer: ring the backup
        assert ET.fromstring(retry.text).find("Dial/Number").text == "+79000000102"
        for position in (1, 2):
            for _ in range(2):
                twilio_post(
                    client,
                    f"/voice/chain/{call.id}/{position}/result",
                    CallSid="CA1",
                    DialCallStatus="busy",
                )
        assert count(DialAttempt) == 3 and count(Appeal) == 1
        assert len(fired) == 1
        db.session.expire_all()
        assert [a.outcome for a in call.attempts] == ["no-answer", "busy", "busy"]
        assert call.outcome == "missed" and call.appeal.status == "missed"
    finally:
        chain_exhausted.receivers.clear()


def test_status_callbacks_out_of_order_keep_the_latest(client, region):
    twilio_post(client, "/voice/incoming", CallSid="CA1", From=CITIZEN, To=GOVERNOR_LINE)
    for status, sequence in (
        ("completed", "3"),
        ("ringing", "1"),
        ("in-progress", "2"),
        ("completed", "3"),
    ):
        response = twilio_post(
            client, "/voice/status", CallSid="CA1", CallStatus=status, SequenceNumber=sequence
        )
        assert response.status_code == 204
    call = db.session.scalar(db.select(Call))
    assert call.status == "completed" and call.outcome == "abandoned"
    verbs = [event.verb for event in timeline("call", call.id)]
    assert verbs.count("call.abandoned") == 1


def test_caller_hanging_up_while_ringing_finalises_the_attempt(client, region):
    _through_menu(client)
    twilio_post(client, "/voice/status", CallSid="CA1", CallStatus="completed", SequenceNumber="5")
    call = db.session.scalar(db.select(Call))
    assert call.attempts[0].outcome == "caller-hung-up"
    assert call.outcome == "missed" and call.appeal.status == "missed"


def test_blocked_number_gets_a_polite_refusal(client, region):
    db.session.add(BlockedNumber(pattern="+7916123*", reason="abuse"))
    db.session.commit()
    root = xml(
        twilio_post(client, "/voice/incoming", CallSid="CA1", From=CITIZEN, To=GOVERNOR_LINE)
    )
    assert "ограничен" in root.find("Say").text and root.find("Hangup") is not None
    call = db.session.scalar(db.select(Call))
    assert call.outcome == "refused"
    assert [e.data for e in timeline("call", call.id) if e.verb == "call.refused"] == [
        {"reason": "blocked"}
    ]


def test_caller_over_the_rate_limit_is_refused(app, client, region):
    app.config["CALLER_RATE_LIMIT"] = (2, 600)
    answers = [
        xml(
            twilio_post(client, "/voice/incoming", CallSid=f"CA{i}", From=CITIZEN, To=GOVERNOR_LINE)
        )
        for i in range(3)
    ]
    assert [root.find("Gather") is not None for root in answers] == [True, True, False]
    assert "перезвоните позже" in answers[2].find("Say").text


def test_database_down_gives_the_fallback_twiml(region, broken):
    with broken.app_context():
        response = twilio_post(
            broken.test_client(), "/voice/incoming", CallSid="CA9", From=CITIZEN, To=GOVERNOR_LINE
        )
        root = xml(response)
    assert root.find("Dial").text == "+74872700000"
    assert "ограниченном режиме" in root.find("Say").text
    assert count(Call) == 0


def test_fallback_url_needs_no_database(client):
    root = xml(twilio_post(client, "/voice/fallback", CallSid="CA1"))
    assert root.find("Dial").text == "+74872700000"


def test_operator_registered_appeal_is_connected_into_its_chain(client, region):
    from hotline.services import register_appeal

    twilio_post(client, "/voice/incoming", CallSid="CA1", From=CITIZEN, To=GOVERNOR_LINE)
    call = db.session.scalar(db.select(Call))
    appeal = register_appeal(
        channel="operator",
        municipality=region.place,
        category=region.water,
        caller_number=CITIZEN,
        call=call,
        address="ул. Ленина, 1",
    )
    db.session.commit()
    for _ in range(2):  # a retried redirect rings the same official, with one appeal
        root = xml(twilio_post(client, f"/voice/calls/{call.id}/connect", CallSid="CA1"))
        assert root.find("Dial/Number").text == "+79000000101"
    assert count(Appeal) == 1 and count(DialAttempt) == 1
    db.session.expire_all()
    assert call.routing["primary"]["phone"] == "+79000000101"
    assert call.appeal.id == appeal.id and call.appeal.channel == "operator"


def test_nobody_on_duty_still_registers_the_appeal_and_takes_a_message(client, region):
    from roster.models import DutyShift

    db.session.execute(db.delete(DutyShift))
    db.session.commit()
    root = xml(
        twilio_post(client, "/voice/incoming", CallSid="CA1", From=CITIZEN, To="+74872700101")
    )
    assert root.find("Dial") is None and root.find("Record") is not None
    call = db.session.scalar(db.select(Call))
    assert call.outcome == "missed" and call.appeal.status == "missed"
    assert call.appeal.number.replace("-", "")[:2] in root.find("Say").text.replace(" ", "")


def test_whisper_says_the_names_from_its_signed_url(client, region, broken):
    root = xml(
        twilio_post(client, "/voice/incoming", CallSid="CA1", From=CITIZEN, To="+74872700101")
    )
    whisper_url = root.find("Dial/Number").get("url")
    stored = xml(twilio_post(client, whisper_url.split("?")[0], CallSid="CA2"))  # names read
    with broken.app_context():  # the names travel in the URL: no database needed
        spoken = xml(twilio_post(broken.test_client(), whisper_url, CallSid="CA2"))

    for root in (stored, spoken):
        said = root.find("Gather/Say").text
        assert region.place.name in said and "общий вопрос" in said


def test_database_down_on_an_officials_leg_hangs_that_leg_up(region, broken):
    with broken.app_context():
        client = broken.test_client()
        for leg in ("whisper", "accept"):
            root = xml(twilio_post(client, f"/voice/chain/1/0/{leg}", CallSid="CA2", Digits="1"))
            assert [child.tag for child in root] == ["Hangup"]  # never a Dial on this leg


def test_retried_webhook_of_a_refused_call_is_refused_again(client, region):
    db.session.add(BlockedNumber(pattern="+7916123*", reason="abuse"))
    db.session.commit()
    for _ in range(2):
        root = xml(
            twilio_post(client, "/voice/incoming", CallSid="CA1", From=CITIZEN, To=GOVERNOR_LINE)
        )
        assert root.find("Gather") is None and root.find("Hangup") is not None
    assert db.session.scalar(db.select(Call)).outcome == "refused"


def test_database_down_on_the_console_legs_keeps_the_caller_and_drops_the_operator_leg(broken):
    with broken.app_context():
        client = broken.test_client()
        caller = xml(twilio_post(client, "/voice/console/calls/1/operator", CallSid="CA3"))
        operator = xml(
            twilio_post(client, "/voice/console/calls/1/operator/answered", CallSid="CA4")
        )
    assert caller.find("Dial").text == "+74872700000"
    assert [child.tag for child in operator] == ["Hangup"]


def test_database_down_on_the_callback_webhooks_ends_the_officials_call_politely(broken):
    with broken.app_context():
        client = broken.test_client()
        whisper = twilio_post(client, "/voice/callbacks/1/whisper", CallSid="CA5")
        accept = twilio_post(client, "/voice/callbacks/1/accept", CallSid="CA5", Digits="1")
        status = twilio_post(
            client, "/voice/callbacks/1/status", CallSid="CA5", CallStatus="completed"
        )
        sms = twilio_post(client, "/sms/incoming", From=CITIZEN, To=GOVERNOR_LINE, Body="1")
    for answer in (whisper, accept):
        root = xml(answer)
        assert [child.tag for child in root] == ["Say", "Hangup"]  # never a Dial to the citizen
        assert "временно недоступен" in root.find("Say").text
    assert (status.status_code, sms.status_code) == (503, 503)


@pytest.mark.parametrize("number", ["²", "٣", "-1", str(2**31), "1" * 30])
def test_carrier_numbers_not_in_ascii_digits_or_beyond_integer_are_ignored(client, region, number):
    twilio_post(client, "/voice/incoming", CallSid="CA1", From=CITIZEN, To=GOVERNOR_LINE)
    for status, sequence in (("in-progress", "4"), ("completed", number)):
        response = twilio_post(
            client, "/voice/status", CallSid="CA1", CallStatus=status, SequenceNumber=sequence
        )
        assert response.status_code == 204
    call = db.session.scalar(db.select(Call))
    assert call.status == "completed" and call.status_sequence == 4  # as if none was sent
    wait = xml(twilio_post(client, "/voice/queue/wait", CallSid="CA1", QueuePosition=number))
    assert "Вы 1-й в очереди" in wait.find("Gather/Say").text  # as when the carrier sends none
    _through_menu(client, "CA2")
    call = db.session.scalar(db.select(Call).where(Call.call_sid == "CA2"))
    result = twilio_post(
        client,
        f"/voice/chain/{call.id}/0/result",
        CallSid="CA2",
        DialCallStatus="no-answer",
        DialCallDuration=number,
    )
    assert xml(result).find("Dial/Number").text == "+79000000102"
    db.session.expire_all()
    assert call.attempts[0].outcome == "no-answer" and call.attempts[0].dial_call_duration is None


@pytest.mark.parametrize("to", [GOVERNOR_LINE, "+74872700101"], ids=["menu", "duty-number"])
def test_twelve_concurrent_copies_of_one_incoming_get_one_call_and_no_fallback(
    app, server, region, to
):
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import requests

    from core.telephony import sign

    params = {"CallSid": "CAdup", "From": CITIZEN, "To": to}
    base = app.config["PUBLIC_BASE_URL"]
    signature = sign(f"{base}/voice/incoming", params, app.config["TWILIO_AUTH_TOKEN"])
    start = threading.Barrier(12)

    def post(_):
        start.wait()
        return requests.post(
            f"{server}/voice/incoming",
            data=params,
            headers={"X-Twilio-Signature": signature},
            timeout=30,
        )

    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(post, range(12)))
    assert [answer.status_code for answer in answers] == [200] * 12
    assert not [answer for answer in answers if "ограниченном режиме" in answer.text]
    assert len({answer.text for answer in answers}) == 1  # each copy gets what the first got
    db.session.expire_all()
    assert count(Call) == 1 and count(Appeal) == (1 if to != GOVERNOR_LINE else 0)
    assert count(DialAttempt) == (1 if to != GOVERNOR_LINE else 0)
