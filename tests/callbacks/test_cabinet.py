"""The cabinet: list, card page, actions, callbacks through the simulated carrier, scoping."""

import re
import struct
import zlib
from datetime import timedelta
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
from PIL import ExifTags, Image

from callbacks.jobs import sweep
from callbacks.models import AppealTracking, CallbackAttempt, Card, CardPhoto
from core.events import timeline
from core.extensions import db
from core.models import OutboundMessage
from core.telephony.jobs import sweep_due_sms
from core.telephony.sim import SimCarrier, answers_and_presses, no_answer
from hotline.jobs import send_registration_sms
from tests import factories
from tests.callbacks.conftest import CITIZEN, miss_call
from tests.conftest import (
    TwilioByNumber,
    carrier_down,
    counted_statements,
    csrf_token,
    login,
    statements_naming_actors,
    use_twilio,
    work,
)
from tests.hotline.conftest import twilio_post

ROLES = ("primary", "backup", "supervisor")
PNG = factories.make_photo()


def post(client, url: str, page_url: str, **data):
    token = csrf_token(client.get(page_url).text)
    return client.post(url, data={"csrf_token": token, **data})


def test_cabinet_lists_own_cards_by_deadline_with_a_countdown(client, region, clock):
    first = miss_call(client, "CA1")
    second = miss_call(client, "CA2", from_="+79160000002")
    db.session.get(Card, second.id).callback_due_at = first.callback_due_at - timedelta(hours=1)
    miss_call(client, "CA3", from_="+79160000003", line="+74872700202")  # Beta's
    db.session.commit()
    login(client, "head_a")
    page = client.get("/cabinet/")
    assert page.status_code == 200
    rows = re.findall(r'data-card="(\d+)"', page.text)
    assert rows == [str(second.id), str(first.id)]
    assert 'class="countdown" data-due=' in page.text and "/static/countdown.js" in page.text
    assert "Карточки «Вам звонили»" in page.text
    assert re.findall(r'data-card="(\d+)"', client.get("/cabinet/?state=closed").text) == []
    overdue_only = client.get("/cabinet/?overdue=1&period=day").text
    assert re.findall(r'data-card="(\d+)"', overdue_only) == []


def test_card_page_shows_caller_duty_attempts_and_timeline(client, region, clock):
    card = miss_call(client)
    login(client, "official_a")
    page = client.get(f"/cabinet/cards/{card.id}").text
    assert CITIZEN in page and "Первов Пётр" in page and "Главный Глеб" in page
    attempts, timeline_part = page.split('class="grid timeline"')
    assert attempts.count("не ответил") == 3 and timeline_part.count("не ответил") == 3
    assert "карточка открыта" in page and "никто не принял звонок" in page


def sms_states(page: str) -> list[str]:
    return re.findall(r'data-sms="([a-z]+)"', page)


def sms_rows(page: str, status: str) -> list[str]:
    return re.findall(rf'data-sms="{status}">(.*?)</tr>', page, re.S)


def test_card_page_shows_which_sms_went_out_wait_for_a_retry_or_failed(app, client, region, clock):
    card = miss_call(client)
    miss_call(client, "CA2", from_="+79160000002")  # another card of the same duty
    backup = region.a["backup"].phone
    use_twilio(
        app,
        TwilioByNumber(
            refused=CITIZEN,
            failing=backup,
            refusal=(400, {"code": 21610, "message": "Unsubscribed recipient"}),
            failure=(500, {"code": 20500, "message": "Internal Server Error"}),
        ),
    )
    work(app)
    login(client, "head_a")
    page = client.get(f"/cabinet/cards/{card.id}").text

    assert sorted(sms_states(page)) == ["failed", "queued", "queued", "retrying"]
    assert "ещё не отправлено: оператор связи не принял, повтор в" in page
    assert "(попытка 2 из 5)" in page and "HTTP 500 20500" in page
    assert "не отправлено: оператор связи отказал" in page and "HTTP 400 21610" in page
    assert all(
        "отправлено" in row and "не отправлено" not in row for row in sms_rows(page, "queued")
    )
    assert "+79160000002" not in page

    for _attempt in range(4):
        clock.advance(hours=1, seconds=1)
        sweep_due_sms()
        work(app)
    page = client.get(f"/cabinet/cards/{card.id}").text
    assert sorted(sms_states(page)) == ["failed", "failed", "queued", "queued"]
    assert "не отправлено: все попытки не удались" in page
    assert "ещё не отправлено" not in page


def timeline_entry(page: str, verb: str, tag: str = "tr") -> str:
    """Return the text a reader sees in the one timeline entry of `verb` on a page."""
    [entry] = re.findall(rf'<{tag} data-verb="{re.escape(verb)}">(.*?)</{tag}>', page, re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", entry).split())


def moscow(moment) -> str:
    return moment.astimezone(ZoneInfo("Europe/Moscow")).strftime("%d.%m.%Y, %H:%M")


def test_card_timeline_says_sent_only_for_the_sms_the_carrier_took(app, client, region, clock):
    card = miss_call(client)
    primary, backup, supervisor = (region.a[role].phone for role in ROLES)
    twilio = use_twilio(app, TwilioByNumber(refused=supervisor, failing=backup))
    work(app)
    login(client, "head_a")
    page = client.get(f"/cabinet/cards/{card.id}").text
    entry = timeline_entry(page, "card.notified")

    assert "SMS дежурным о карточке" in entry
    assert f"SMS на {primary} — отправлено" in entry
    assert (
        f"SMS на {backup} — ещё не отправлено: оператор связи не принял, "
        f"повтор в {moscow(clock.now + timedelta(minutes=1))} (попытка 2 из 5)"
    ) in entry
    assert f"SMS на {supervisor} — не отправлено: оператор связи отказал" in entry
    assert "SMS отправлены" not in page

    del twilio.client.http_client.answers[backup]  # the carrier takes the second attempt
    clock.advance(minutes=1, seconds=1)
    sweep_due_sms()
    work(app)
    entry = timeline_entry(client.get(f"/cabinet/cards/{card.id}").text, "card.notified")
    assert f"SMS на {primary} — отправлено" in entry and f"SMS на {backup} — отправлено" in entry
    assert f"SMS на {supervisor} — не отправлено: оператор связи отказал" in entry
    assert "ещё не отправлено" not in entry


def latin_words(text: str) -> set[str]:
    return set(re.findall(r"[A-Za-z][A-Za-z-]{2,}", text)) - {"SMS"}


def test_timelines_name_who_acted_and_what_happened_in_russian(app, client, region, clock):
    region.head_a.full_name = "Главова Галина"
    db.session.commit()
    card = miss_call(client)
    work(app)
    login(client, "head_a")
    page = f"/cabinet/cards/{card.id}"
    post(client, f"{page}/outcome", page, code="fixed", text="Яма заделана 12 марта")
    work(app)
    twilio_post(client, "/sms/incoming", From=CITIZEN, Body="2")
    operator = app.test_client()
    login(operator, "operator")

    def entries(page: str, tag: str) -> list[str]:
        found = re.findall(rf'<{tag} data-verb="[^"]+">(.*?)</{tag}>', page, re.S)
        return [" ".join(re.sub(r"<[^>]+>", " ", entry).split()) for entry in found]

    card_timeline = entries(client.get(page).text, "tr")
    console_timeline = entries(operator.get(f"/console/appeals/{card.appeal_id}").text, "li")
    assert len(card_timeline) > 10 and len(console_timeline) > 8
    for entry in card_timeline + console_timeline:
        assert not latin_words(entry), entry
    assert any(
        "гражданин статус обращения изменён гражданин ответил по SMS, что вопрос не решён" in entry
        for entry in card_timeline
    )
    assert any("телефонная сеть звонок дежурному не ответил" in e for e in card_timeline)
    assert any("Главова Галина результат записан Яма заделана" in e for e in card_timeline)


def test_console_timeline_says_whether_the_citizen_got_the_confirmation_sms(
    app, client, region, clock
):
    card = miss_call(client)
    work(app)
    use_twilio(app, TwilioByNumber(refused="+79990000000", failing=CITIZEN))
    login(client, "head_a")
    page = f"/cabinet/cards/{card.id}"
    post(client, f"{page}/outcome", page, code="fixed", text="Яма заделана 12 марта")
    work(app)
    operator = app.test_client()
    login(operator, "operator")

    def entry() -> str:
        page = operator.get(f"/console/appeals/{card.appeal_id}").text
        return timeline_entry(page, "appeal.confirmation-asked", tag="li")

    assert "запрос подтверждения гражданину" in entry()
    assert (
        f"SMS на {CITIZEN} — ещё не отправлено: оператор связи не принял, "
        f"повтор в {moscow(clock.now + timedelta(minutes=1))} (попытка 2 из 5)"
    ) in entry()
    assert "попросили" not in entry()

    for _attempt in range(4):
        clock.advance(hours=1, seconds=1)
        sweep_due_sms()
        work(app)
    assert f"SMS на {CITIZEN} — не отправлено: все попытки не удались" in entry()


def test_console_timeline_shows_the_sms_that_gave_the_caller_the_number_once(
    app, client, region, clock
):
    card = miss_call(client)
    work(app)
    send_registration_sms(card.appeal_id)  # the job run again sends and notes nothing more
    operator = app.test_client()
    login(operator, "operator")

    page = operator.get(f"/console/appeals/{card.appeal_id}").text

    entry = timeline_entry(page, "appeal.registration-sms", tag="li")  # exactly one
    assert "SMS гражданину с номером обращения" in entry
    assert f"SMS на {CITIZEN} — отправлено" in entry
    to_caller = db.session.scalars(
        db.select(OutboundMessage).where(OutboundMessage.to_number == CITIZEN)
    ).all()
    assert [message.purpose for message in to_caller] == [f"appeal-registered:{card.appeal_id}"]


def test_acknowledge_note_and_forward(app, client, region, clock):
    card = miss_call(client)
    login(client, "head_a")
    page = f"/cabinet/cards/{card.id}"
    post(client, f"{page}/acknowledge", page)
    post(client, f"{page}/note", page, text="Позвоню после обеда")
    db.session.expire_all()
    card = db.session.get(Card, card.id)
    assert card.state == "acknowledged" and card.acknowledged_by_id == region.head_a.id
    refused = post(client, f"{page}/forward", page, municipality="beta", reason="")
    assert refused.status_code == 400
    clock.advance(hours=1)
    post(client, f"{page}/forward", page, municipality="beta", reason="Улица в Бетинском районе")
    db.session.expire_all()
    card = db.session.get(Card, card.id)
    assert card.municipality_id == region.beta.id and card.state == "new"
    assert card.appeal.municipality_id == region.beta.id
    assert card.duty["primary"]["phone"] == region.b["primary"].phone
    assert (card.remind_at - clock.now).total_seconds() == 15 * 60
    assert abs((card.callback_due_at - card.appeal.callback_due_at).total_seconds()) < 1
    events = {e.verb: e for e in timeline("card", card.id)}
    assert events["card.note"].actor_id == region.head_a.id
    assert events["card.forwarded"].data["reason"] == "Улица в Бетинском районе"
    assert client.get(page).status_code == 404  # no longer Alpha's
    other = app.test_client()
    login(other, "head_b")
    assert other.get(page).status_code == 200


def test_callback_counts_only_when_the_citizen_answered(app, client, region, clock, carrier):
    card = miss_call(client)
    official = region.a["supervisor"]  # linked to head_a
    carrier.phone(official.phone, answers_and_presses("1", talk_seconds=40))
    carrier.phone(CITIZEN, no_answer())
    login(client, "head_a")
    page = f"/cabinet/cards/{card.id}"
    assert f'<option selected value="{official.id}">' in client.get(page).text
    post(client, f"{page}/callback", page, official=str(official.id))
    carrier.run_pending()
    db.session.expire_all()
    [attempt] = db.session.scalars(db.select(CallbackAttempt)).all()
    assert attempt.key_pressed_at is not None and attempt.outcome == "no-answer"
    assert db.session.get(Card, card.id).state == "new"
    [leg] = carrier.calls_to(official.phone)
    assert any("Нажмите 1" in text for text in leg.transcript.said)

    carrier.phone(CITIZEN, answers_and_presses(None, talk_seconds=30))
    post(client, f"{page}/callback", page, official=str(official.id))
    carrier.run_pending()
    db.session.expire_all()
    attempts = db.session.scalars(db.select(CallbackAttempt).order_by(CallbackAttempt.id)).all()
    assert [a.outcome for a in attempts] == ["no-answer", "answered"]
    card = db.session.get(Card, card.id)
    assert card.state == "called_back" and card.called_back_at is not None
    assert card.appeal.status == "in_work"


@pytest.mark.parametrize("kind", ["twilio", "sim"])
def test_a_carrier_error_on_click_to_call_is_a_message_and_a_retry(
    app, client, region, clock, kind
):
    card = miss_call(client)
    official = region.a["primary"]
    login(client, "head_a")
    page = f"/cabinet/cards/{card.id}"
    with carrier_down(app, kind) as twilio:
        response = post(client, f"{page}/callback", page, official=str(official.id))
    assert response.status_code == 302 and response.location == page
    if twilio is not None:
        assert twilio.requests[0]["data"]["To"] == official.phone
    reason = (
        "сбой на стороне оператора связи" if kind == "twilio" else "нет связи с оператором связи"
    )
    text = client.get(page).text
    assert f"Оператор связи не принял вызов: {reason}. Повторим в " in text
    assert "(попытка 2 из 3)" in text
    db.session.expire_all()
    [attempt] = db.session.scalars(db.select(CallbackAttempt)).all()
    assert attempt.outcome is None and attempt.waiting_for_retry
    assert (attempt.tries, attempt.last_error, attempt.call_sid) == (1, reason, None)
    [retrying] = [e for e in timeline("card", card.id) if e.verb == "callback.retrying"]
    assert retrying.data["reason"] == reason and retrying.data["try"] == 1
    assert db.session.get(Card, card.id).state == "new"

    SimCarrier.in_process(app)  # the carrier is back (it takes the call; nobody answers yet)
    clock.advance(seconds=16)
    sweep()
    work(app)
    attempt = db.session.get(CallbackAttempt, attempt.id)
    assert attempt.outcome is None and attempt.call_sid is not None
    assert attempt.tries == 2 and not attempt.waiting_for_retry
    assert "Повторим в" not in client.get(page).text


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("21211", "номер не является правильным телефонным номером"),
        ("13227", "у аккаунта нет разрешения на международные звонки"),
        ("21610", "получатель отписался от сообщений линии (STOP)"),
    ],
)
def test_twilio_refusing_a_click_to_call_says_why_on_the_card(
    app, client, region, clock, twilio_standin, fault, reason
):
    card = miss_call(client)
    official = region.a["primary"]
    login(client, "head_a")
    page = f"/cabinet/cards/{card.id}"
    twilio_standin.fail(fault, match=official.phone)
    response = post(client, f"{page}/callback", page, official=str(official.id))
    assert response.status_code == 302 and response.location == page
    assert f"Оператор связи не принял вызов: {reason}." in client.get(page).text
    [sent] = [r for r in twilio_standin.requests if r.path.endswith("/Calls.json")]
    assert sent.form["To"] == [official.phone] or sent.form["To"] == official.phone
    db.session.expire_all()
    [attempt] = db.session.scalars(db.select(CallbackAttempt)).all()
    assert attempt.outcome == "failed" and attempt.call_sid is None
    [finished] = [e for e in timeline("card", card.id) if e.verb == "callback.finished"]
    assert finished.data["error"] == reason
    assert twilio_standin.calls == {}


def test_completed_without_talk_time_is_not_a_callback(app, client, region, clock):
    SimCarrier.in_process(app)  # takes the call; the test posts Twilio's webhooks itself
    card = miss_call(client)
    login(client, "head_a")
    page = f"/cabinet/cards/{card.id}"
    post(client, f"{page}/callback", page, official=str(region.a["primary"].id))
    [attempt] = db.session.scalars(db.select(CallbackAttempt)).all()
    base = f"/voice/callbacks/{attempt.id}"
    dial = twilio_post(client, f"{base}/accept", CallSid="CAx", Digits="1")
    assert f"<Number>{CITIZEN}</Number>" in dial.text and 'language="ru-RU"' in dial.text
    twilio_post(client, f"{base}/result", DialCallStatus="completed", DialCallDuration="0")
    db.session.expire_all()
    assert db.session.get(CallbackAttempt, attempt.id).outcome == "no-answer"
    assert db.session.get(Card, card.id).state == "new"
    assert client.post(f"{base}/result", data={"DialCallStatus": "completed"}).status_code == 403


def test_an_answered_callback_closes_every_open_card_of_that_citizen(app, client, region, clock):
    SimCarrier.in_process(app)  # takes the call; the test posts Twilio's webhooks itself
    first = miss_call(client, "CA1")
    second = miss_call(client, "CA2")
    login(client, "head_a")
    page = f"/cabinet/cards/{second.id}"
    post(client, f"{page}/callback", page, official=str(region.a["primary"].id))
    [attempt] = db.session.scalars(db.select(CallbackAttempt)).all()
    twilio_post(client, f"/voice/callbacks/{attempt.id}/accept", CallSid="CAy", Digits="1")
    twilio_post(
        client,
        f"/voice/callbacks/{attempt.id}/result",
        DialCallStatus="completed",
        DialCallDuration="55",
    )
    db.session.expire_all()
    assert {db.session.get(Card, c.id).state for c in (first, second)} == {"called_back"}
    [auto] = [e for e in timeline("card", first.id) if e.verb == "card.called-back"]
    assert auto.data["automatic"] is True


def test_outcome_asks_the_citizen_and_two_reopens_one_closes(app, client, region, clock):
    card = miss_call(client)
    login(client, "head_a")
    page = f"/cabinet/cards/{card.id}"
    formal = post(
        client,
        f"{page}/outcome",
        page,
        code="",
        text="Обращение рассмотрено в установленном порядке",
    )
    assert formal.status_code == 400 and "отписка" in formal.text
    post(client, f"{page}/outcome", page, code="fixed", text="Яма заделана 12 марта")
    work(app)
    assert (
        "Ответьте 1"
        in db.session.scalars(
            db.select(OutboundMessage.body).where(OutboundMessage.to_number == CITIZEN)
        ).all()[-1]
    )
    twilio_post(client, "/sms/incoming", From=CITIZEN, Body="2")
    db.session.expire_all()
    tracking = db.session.get(AppealTracking, card.appeal_id)
    assert tracking.reopen_count == 1 and card.appeal.status == "reopened"
    [reopened] = [e for e in timeline("appeal", card.appeal_id) if e.verb == "appeal.reopened"]
    assert reopened.data["municipality_id"] == region.alpha.id
    post(client, f"{page}/outcome", page, code="fixed", text="Яма заделана повторно")
    work(app)
    twilio_post(client, "/sms/incoming", From=CITIZEN, Body="1")
    db.session.expire_all()
    assert card.appeal.status == "closed" and db.session.get(Card, card.id).state == "closed"


def test_no_answer_in_three_days_closes_as_unconfirmed(app, client, region, clock):
    card = miss_call(client)
    login(client, "head_a")
    page = f"/cabinet/cards/{card.id}"
    post(client, f"{page}/outcome", page, code="explained", text="Разъяснён порядок замены")
    work(app)
    clock.advance(days=2, hours=23)
    sweep()
    work(app)
    assert db.session.get(AppealTracking, card.appeal_id).confirmation == "asked"
    clock.advance(hours=1, seconds=1)
    sweep()
    work(app)
    tracking = db.session.get(AppealTracking, card.appeal_id)
    assert tracking.confirmation == "unconfirmed" and tracking.appeal.status == "closed"


def test_official_sms_reply_lands_on_the_card(client, region, clock):
    card = miss_call(client)
    twilio_post(
        client, "/sms/incoming", From=region.a["backup"].phone, Body=f"{card.id} бригада выехала"
    )
    [note] = [e for e in timeline("card", card.id) if e.verb == "card.note"]
    assert note.data["text"] == "бригада выехала"


def test_photos_are_checked_and_served_only_to_authorised_users(app, client, region, clock):
    card = miss_call(client)
    login(client, "head_a")
    page = f"/cabinet/cards/{card.id}"
    token = csrf_token(client.get(page).text)

    def upload(data: bytes, name: str):
        return client.post(
            f"{page}/photos",
            data={"csrf_token": token, "kind": "before", "photo": (BytesIO(data), name)},
            content_type="multipart/form-data",
        )

    assert upload(b"GIF89a....", "x.gif").status_code == 400
    app.config["MAX_PHOTO_BYTES"] = 32
    assert upload(PNG, "big.png").status_code == 400
    app.config["MAX_PHOTO_BYTES"] = 1024
    assert upload(PNG, "pit.png").status_code == 302
    photo = db.session.get(Card, card.id).photos[0]
    served = client.get(f"/cabinet/photos/{photo.id}")
    assert served.status_code == 200 and served.mimetype == "image/png"
    assert Image.open(BytesIO(served.data)).size == Image.open(BytesIO(PNG)).size
    other = app.test_client()
    assert other.get(f"/cabinet/photos/{photo.id}").status_code == 302  # to the login page
    login(other, "head_b")
    assert other.get(f"/cabinet/photos/{photo.id}").status_code == 404


def _png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims the given size, with no pixels behind it."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def test_a_photo_must_decode_and_is_stored_without_its_metadata(app, client, region, clock):
    card = miss_call(client)
    login(client, "head_a")
    page = f"/cabinet/cards/{card.id}"
    token = csrf_token(client.get(page).text)

    def upload(data: bytes, name: str = "photo.jpg"):
        return client.post(
            f"{page}/photos",
            data={"csrf_token": token, "kind": "after", "photo": (BytesIO(data), name)},
            content_type="multipart/form-data",
        )

    html = b"<html><script>alert(document.cookie)</script></html>"
    for header in (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01", b"\x89PNG\r\n\x1a\n"):
        refused = upload(header + html)
        assert refused.status_code == 400
        assert "Фото не открывается как изображение" in refused.text
    for too_many in (_png_claiming(8000, 7000), _png_claiming(20000, 20000)):
        refused = upload(too_many, "bomb.png")
        assert refused.status_code == 400
        assert "слишком много пикселей: не больше 50 мегапикселей" in refused.text
    photos = db.select(CardPhoto).where(CardPhoto.card_id == card.id)
    assert db.session.scalars(photos).all() == []

    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "SpyCam"
    exif[ExifTags.Base.Orientation] = 6  # the camera was turned: shown rotated 90°
    exif.get_ifd(ExifTags.IFD.GPSInfo).update(
        {ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (54.0, 11.0, 30.0)}
    )
    taken = factories.make_photo("JPEG", (12, 8), exif)
    assert b"SpyCam" in taken and Image.open(BytesIO(taken)).getexif()
    assert upload(taken + html).status_code == 302
    [photo] = db.session.scalars(photos).all()
    stored = client.get(f"/cabinet/photos/{photo.id}").data
    assert b"SpyCam" not in stored and b"Exif" not in stored and html not in stored
    with Image.open(BytesIO(stored)) as image:
        assert image.format == "JPEG" and photo.content_type == "image/jpeg"
        assert image.size == (8, 12)  # turned upright before the orientation was dropped
        assert not image.getexif() and "exif" not in image.info
    assert photo.size == len(stored)


@pytest.mark.parametrize(
    "method, suffix, data",
    [
        ("get", "", {}),
        ("post", "/acknowledge", {}),
        ("post", "/note", {"text": "x"}),
        ("post", "/forward", {"municipality": "beta", "reason": "x"}),
        ("post", "/callback", {"official": "1"}),
        ("post", "/outcome", {"code": "fixed", "text": "x"}),
        ("post", "/photos", {"kind": "before"}),
    ],
)
def test_a_head_of_another_municipality_cannot_see_or_act(
    client, region, clock, method, suffix, data
):
    card = miss_call(client)
    login(client, "head_b")
    token = csrf_token(client.get("/cabinet/").text)
    url = f"/cabinet/cards/{card.id}{suffix}"
    response = getattr(client, method)(url, data={"csrf_token": token, **data})
    assert response.status_code == 404
    assert client.get("/cabinet/?municipality=alpha").status_code == 403
    assert str(card.id) not in re.findall(r'data-card="(\d+)"', client.get("/cabinet/").text)
    db.session.expire_all()
    card = db.session.get(Card, card.id)
    assert card.state == "new" and card.municipality_id == region.alpha.id
    assert [e.verb for e in timeline("card", card.id)] == ["card.opened"]


def test_restricted_note_is_hidden_from_operators_in_the_cabinet_and_the_api(
    app, client, region, clock
):
    from core.users import issue_token
    from tests.factories import make_user

    card = miss_call(client)
    login(client, "head_a")
    url = f"/cabinet/cards/{card.id}"
    post(client, url + "/note", url, text="Бригада не выехала: нет машины", restricted="y")
    post(client, url + "/note", url, text="Позвонили жителю, ждём бригаду")
    assert "Бригада не выехала" in client.get(url).text
    operator = make_user("olga", "operator")
    token = issue_token(operator)
    db.session.commit()
    operator_client = app.test_client()
    login(operator_client, "olga")
    page = operator_client.get(url).text
    assert "Позвонили жителю" in page and "Бригада не выехала" not in page
    body = operator_client.get(
        f"/api/v1/cards/{card.id}", headers={"Authorization": f"Bearer {token}"}
    ).get_json()
    notes = [e["data"]["text"] for e in body["timeline"] if e["verb"] == "card.note"]
    assert notes == ["Позвонили жителю, ждём бригаду"]


def _cards_of_alpha(region, count: int) -> list[Card]:
    """Alpha's missed calls up to `count` cards, every second one about water."""
    trio = list(region.a.values())
    for index in range(db.session.scalar(db.select(db.func.count(Card.id))), count):
        category = region.water if index % 2 else region.roads
        caller = f"+7916000{index:04d}"
        factories.make_card(region.alpha, category, caller, f"CA{index:04d}", trio)
    return db.session.scalars(db.select(Card).order_by(Card.id)).all()


def test_the_cabinet_lists_fifty_cards_in_as_many_queries_as_five(client, region, clock):
    login(client, "head_a")

    def statements_for(count: int) -> int:
        _cards_of_alpha(region, count)
        client.get("/cabinet/")
        with counted_statements() as statements:
            page = client.get("/cabinet/").text
        assert len(re.findall(r'data-card="(\d+)"', page)) == count
        assert "+79160000001" in page and "water" in page and "Альфинский район" in page
        return len(statements)

    assert statements_for(5) == statements_for(50)


def test_a_callback_closes_fifty_cards_of_its_citizen_in_as_many_selects_as_five(
    app, region, clock
):
    from callbacks.services import close_callback_duty

    trio = list(region.a.values())

    def selects_for(count: int) -> int:
        citizen = f"+791620000{count:02d}"
        cards = [
            factories.make_card(region.alpha, region.roads, citizen, f"CD{count}-{n}", trio)
            for n in range(count)
        ]
        attempt = CallbackAttempt(
            card_id=cards[0].id,
            official_id=trio[0].id,
            official_phone=trio[0].phone,
            citizen_number=citizen,
            started_at=clock.now,
        )
        db.session.add(attempt)
        db.session.commit()
        attempt = db.session.get(CallbackAttempt, attempt.id)
        with counted_statements() as statements:
            closed = close_callback_duty(attempt)
        assert len(closed) == count and {card.state for card in closed} == {"called_back"}
        db.session.commit()
        return len([s for s in statements if s.lstrip().upper().startswith("SELECT")])

    assert selects_for(5) == selects_for(50)


def test_the_card_page_names_who_acted_without_loading_every_user(client, region, clock):
    from callbacks.services import add_card_note

    [card] = _cards_of_alpha(region, 1)
    for index in range(30):  # users who never touched the card
        factories.make_user(f"bystander{index}", "operator")
    login(client, "head_a")
    page = f"/cabinet/cards/{card.id}"

    def note_by(index: int) -> str:
        clerk = factories.make_user(f"clerk{index}", "official", region.alpha)
        clerk.full_name = f"Писарев {index}"
        add_card_note(db.session.get(Card, card.id), f"Заметка {index}", clerk)
        return clerk.full_name

    three, ten = statements_naming_actors(client, page, note_by)
    assert len(three) == len(ten)
    assert not [s for s in ten if "FROM users" in s and "WHERE" not in s]


def test_the_cabinet_and_the_card_use_their_own_words(client, region, clock):
    """Words the reports and the roster use in another sense read right in the cabinet."""
    card = miss_call(client)
    db.session.get(Card, card.id).overdue_at = clock.now
    db.session.commit()
    login(client, "head_a")
    cabinet = client.get("/cabinet/").text
    assert ">За сутки</option>" in cabinet and "<label>Просрочка" in cabinet
    assert '<strong class="gap">просрочена</strong>' in cabinet
    page = f"/cabinet/cards/{card.id}"
    text = client.get(page).text
    assert '<label for="text">Заметка</label>' in text
    assert "· пропущено</td>" in text and "пропущенные" not in text
    post(client, f"{page}/outcome", page, code="fixed", text="Яма заделана 12 марта")
    assert "<h2>Результат</h2>" in client.get(page).text


def test_a_recorded_outcome_shows_on_the_card_and_in_the_cabinet_and_stops_the_countdown(
    app, client, region, clock
):
    card = miss_call(client)
    login(client, "head_a")
    page = f"/cabinet/cards/{card.id}"
    post(client, f"{page}/acknowledge", page)
    assert 'class="countdown"' in client.get(page).text
    post(client, f"{page}/outcome", page, code="fixed", text="Яма заделана 12 марта")
    shown = client.get(page).text
    heading = re.search(r"<h1>(.*?)</h1>", shown, re.S).group(1)
    assert "закрыта" in heading and "результат записан" in heading
    assert "принята в работу" not in heading
    assert '<strong id="outcome-code">Проблема устранена</strong>' in shown
    assert '<span id="outcome-text">Яма заделана 12 марта</span>' in shown
    by = re.search(r'<p class="muted" id="outcome-by">(.*?)</p>', shown, re.S).group(1)
    assert "head_a" in by or region.head_a.full_name in by
    assert "решено" in by
    assert 'class="countdown"' not in shown
    cabinet = client.get("/cabinet/").text
    row = re.search(rf'data-card="{card.id}">(.*?)</tr>', cabinet, re.S).group(1)
    assert 'class="countdown"' not in row and "закрыта · решено" in row
    clock.advance(days=1)
    sweep()
    work(app)
    assert not db.session.get(Card, card.id).overdue  # nobody is told of a lapsed deadline


def test_a_citizen_saying_not_solved_reopens_the_card_with_its_countdown(
    app, client, region, clock
):
    card = miss_call(client)
    login(client, "head_a")
    page = f"/cabinet/cards/{card.id}"
    post(client, f"{page}/acknowledge", page)
    post(client, f"{page}/outcome", page, code="fixed", text="Яма заделана 12 марта")
    work(app)
    twilio_post(client, "/sms/incoming", From=CITIZEN, Body="2")
    db.session.expire_all()
    assert db.session.get(Card, card.id).state == "acknowledged"
    shown = client.get(page).text
    heading = re.search(r"<h1>(.*?)</h1>", shown, re.S).group(1)
    assert 'class="countdown"' in shown and "принята в работу" in heading
    assert "результат записан" not in heading and 'id="outcome"' not in shown
