"""SMS delivery receipts: stored from signed webhooks, shown on cards; an undelivered notice
is followed by a voice call the official acknowledges the card on."""

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

from callbacks import jobs
from callbacks.models import Card, NoticeCall
from core.events import timeline
from core.extensions import db
from core.models import OutboundMessage
from core.telephony.sim import answers_and_presses
from tests.callbacks.conftest import CITIZEN, miss_call
from tests.conftest import RecordingHttpClient, login, use_twilio, work
from tests.hotline.conftest import twilio_post

ROLES = ("primary", "backup", "supervisor")


def receipt(client, message: OutboundMessage, status: str, **extra):
    return twilio_post(
        client,
        "/sms/status",
        MessageSid=message.provider_sid,
        SmsSid=message.provider_sid,
        MessageStatus=status,
        SmsStatus=status,
        To=message.to_number,
        **extra,
    )


def stored(message: OutboundMessage) -> OutboundMessage:
    db.session.expire_all()
    return db.session.get(OutboundMessage, message.id)


def card_sms(client, card: Card) -> dict[str, str]:
    """Return the state shown for each phone in the card's SMS table."""
    page = client.get(f"/cabinet/cards/{card.id}").text
    table = page.split('id="sms"')[1].split("</table>")[0]
    rows = re.findall(r"<tr data-sms=.*?</tr>", table, re.S)
    return {
        re.findall(r"<td>(\+\d+)</td>", row)[0]: " ".join(re.sub(r"<[^>]+>", " ", row).split())
        for row in rows
    }


def test_every_sms_names_the_signed_status_webhook_and_each_receipt_is_stored(app, client, region):
    card = miss_call(client)
    twilio = RecordingHttpClient()
    use_twilio(app, twilio)
    work(app)
    sent = [r for r in twilio.requests if r["url"].endswith("/Messages.json")]
    assert len(sent) == 4  # the three officials and the citizen
    assert {r["data"]["StatusCallback"] for r in sent} == {
        app.config["PUBLIC_BASE_URL"] + f"/sms/status?sms={message_id}"
        for (message_id,) in db.session.execute(db.select(OutboundMessage.id))
    }
    primary, backup, supervisor = (
        db.session.scalar(db.select(OutboundMessage).where(OutboundMessage.to_number == phone))
        for phone in (region.a[role].phone for role in ROLES)
    )

    for status in ("queued", "sent", "delivered"):
        assert receipt(client, primary, status).status_code == 204
        assert stored(primary).status == status
    assert receipt(client, backup, "undelivered", ErrorCode="30003").status_code == 204
    assert receipt(client, supervisor, "failed", ErrorCode="30007").status_code == 204
    assert stored(backup).error_code == "30003" and stored(supervisor).status == "failed"

    login(client, "head_a")
    shown = card_sms(client, card)
    assert "доставлено" in shown[primary.to_number]
    assert "не доставлено" not in shown[primary.to_number]
    assert "не доставлено: телефон выключен или вне сети (код 30003)" in shown[backup.to_number]
    assert (
        "не доставлено: оператор связи не смог его отправить (код 30007)"
        in (shown[supervisor.to_number])
    )


def test_a_late_receipt_never_moves_a_message_back(app, client, region):
    miss_call(client)
    use_twilio(app, RecordingHttpClient())
    work(app)
    message = db.session.scalar(db.select(OutboundMessage).limit(1))
    receipt(client, message, "delivered")
    receipt(client, message, "sent")
    receipt(client, message, "queued")
    assert stored(message).status == "delivered"
    receipt(client, message, "undelivered", ErrorCode="30003")
    assert stored(message).status == "delivered" and stored(message).error_code is None

    other = db.session.scalars(db.select(OutboundMessage).offset(1)).first()
    receipt(client, other, "undelivered", ErrorCode="30003")
    receipt(client, other, "sent")
    assert stored(other).status == "undelivered"
    receipt(client, other, "delivered")  # the handset's word wins over the network's guess
    assert stored(other).status == "delivered" and stored(other).error_code is None


def test_a_receipt_without_a_valid_signature_is_refused_and_changes_nothing(app, client, region):
    miss_call(client)
    use_twilio(app, RecordingHttpClient())
    work(app)
    message = db.session.scalar(db.select(OutboundMessage).limit(1))
    before = message.status
    form = {"MessageSid": message.provider_sid, "MessageStatus": "delivered"}
    assert client.post("/sms/status", data=form).status_code == 403
    forged = client.post("/sms/status", data=form, headers={"X-Twilio-Signature": "bm90IGl0"})
    assert forged.status_code == 403
    assert stored(message).status == before


def test_the_simulated_carrier_posts_receipts_and_an_unreachable_phone_is_rung_instead(
    app, client, region, carrier, clock
):
    card = miss_call(client)
    backup = region.a["backup"]
    carrier.sms_undelivered(backup.phone)
    carrier.phone(backup.phone, answers_and_presses("1"))
    work(app)
    states = {
        message.to_number: (message.status, message.error_code)
        for message in db.session.scalars(db.select(OutboundMessage))
    }
    assert states == {
        region.a["primary"].phone: ("delivered", None),
        backup.phone: ("undelivered", "30003"),
        region.a["supervisor"].phone: ("delivered", None),
        CITIZEN: ("delivered", None),
    }
    assert not carrier.errors

    jobs.sweep()
    work(app)
    assert carrier.calls_to(backup.phone) == []  # two minutes have not passed yet

    clock.advance(minutes=2, seconds=1)
    jobs.sweep()
    work(app)
    carrier.run_pending()
    [call] = carrier.calls_to(backup.phone)
    said = " ".join(call.transcript.said)
    assert f"карточка номер {card.id}" in said and "Альфинский район" in said
    due = card.callback_due_at.astimezone(ZoneInfo(region.alpha.timezone))
    assert "Тема: общий вопрос" in said and "Нажмите 1" in said
    assert f"Перезвонить гражданину до {due.day} " in said and f", {due:%H:%M}." in said
    assert "Карточка подтверждена" in said
    for phone in (region.a["primary"].phone, region.a["supervisor"].phone):
        assert carrier.calls_to(phone) == []

    db.session.expire_all()
    card = db.session.get(Card, card.id)
    assert card.state == "acknowledged"
    [acknowledged] = [e for e in timeline("card", card.id) if e.verb == "card.acknowledged"]
    assert acknowledged.actor_label == backup.full_name
    assert acknowledged.data["to"] == backup.phone

    login(client, "head_a")
    page = client.get(f"/cabinet/cards/{card.id}").text
    assert "SMS не дошло до дежурного: ему звонят" in page
    assert f"{backup.full_name}" in page and "нажав 1" in page


def test_the_notice_call_is_placed_once_however_often_the_job_runs(
    app, client, region, carrier, clock
):
    card = miss_call(client)
    primary = region.a["primary"]
    carrier.sms_undelivered(primary.phone, "30005")
    work(app)
    clock.advance(minutes=3)
    [notice] = db.session.scalars(
        db.select(NoticeCall).where(NoticeCall.official_phone == primary.phone)
    ).all()
    jobs.follow_up_notice(notice.id)
    jobs.follow_up_notice(notice.id)
    jobs.sweep()
    work(app)
    carrier.run_pending()
    assert len(carrier.calls_to(primary.phone)) == 1  # nobody answers: the card stays new
    db.session.expire_all()
    assert db.session.get(Card, card.id).state == "new"
    assert db.session.get(NoticeCall, notice.id).outcome == "unanswered"
    verbs = [e.verb for e in timeline("card", card.id)]
    assert verbs.count("card.notice-call") == 1
    assert verbs.count("card.notice-call-unanswered") == 1
    login(client, "head_a")
    page = client.get(f"/cabinet/cards/{card.id}").text
    assert "дежурный не подтвердил карточку на звонке" in page and "не ответил" in page


def test_no_call_when_the_sms_arrived_or_the_card_is_already_in_work(
    app, client, region, carrier, clock
):
    card = miss_call(client)
    for role in ("primary", "backup"):
        carrier.sms_undelivered(region.a[role].phone)
    work(app)
    login(client, "head_a")
    from tests.conftest import csrf_token

    page = client.get(f"/cabinet/cards/{card.id}").text
    client.post(f"/cabinet/cards/{card.id}/acknowledge", data={"csrf_token": csrf_token(page)})
    clock.advance(minutes=3)
    jobs.sweep()
    work(app)
    carrier.run_pending()
    assert [c for c in carrier.calls if c.direction == "outbound-api"] == []
    outcomes = {n.official_phone: n.outcome for n in db.session.scalars(db.select(NoticeCall))}
    assert outcomes == {
        region.a["primary"].phone: "not-needed",
        region.a["backup"].phone: "not-needed",
        region.a["supervisor"].phone: "delivered",
    }


def test_a_registration_sms_that_never_arrived_is_on_the_operators_control_list(
    app, client, region, carrier
):
    from hotline.services import register_appeal

    citizen = "+79165550000"
    carrier.sms_undelivered(citizen, "30006")
    appeal = register_appeal(
        caller_number=citizen,
        municipality=region.alpha,
        category=region.roads,
        text="Яма на дороге",
        channel="operator",
        created_by_id=region.operator.id,
    )
    quiet = register_appeal(
        caller_number=CITIZEN,
        municipality=region.alpha,
        category=region.roads,
        text="Не горит фонарь",
        channel="operator",
        created_by_id=region.operator.id,
    )
    db.session.commit()
    from hotline.jobs import send_registration_sms

    send_registration_sms(appeal.id)
    send_registration_sms(quiet.id)
    work(app)

    login(client, "operator")
    page = client.get("/console/control?scope=centre").text
    rows = dict(re.findall(r'data-appeal="(\d+)">(.*?)</tr>', page, re.S))
    lost = " ".join(re.sub(r"<[^>]+>", " ", rows[str(appeal.id)]).split())
    assert f"Гражданин не получил SMS с номером обращения ({citizen}): позвоните ему" in lost
    assert "стационарный номер или сеть без SMS (код 30006)" in lost
    assert "не получил SMS" not in rows[str(quiet.id)]
    assert page.index(f'data-appeal="{appeal.id}"') < page.index(f'data-appeal="{quiet.id}"')


def test_a_receipt_that_beats_the_worker_is_kept_when_the_worker_stores_twilios_answer(
    app, client, twilio_standin
):
    from core.telephony import get_gateway

    message = get_gateway().send_sms(CITIZEN, "Обращение 25-0001", purpose="appeal:1")
    db.session.commit()
    gateway = get_gateway()
    deliver = gateway._deliver

    def deliver_then_receipt(message):  # Twilio posts the receipt before its answer is stored
        deliver(message)
        response = twilio_post(
            client,
            f"/sms/status?sms={message.id}",
            MessageSid=message.provider_sid,
            MessageStatus="delivered",
        )
        assert response.status_code == 204

    gateway._deliver = deliver_then_receipt
    try:
        assert gateway.deliver_due_sms(message) is True
    finally:
        del gateway._deliver
    kept = stored(message)
    assert kept.status == "delivered" and kept.provider_sid in twilio_standin.messages
    assert kept.attempts == 1 and kept.next_attempt_at is None


def test_an_sms_whose_worker_died_while_sending_is_shown_as_unknown_and_not_resent(
    app, client, region, clock, twilio_standin
):
    from core.telephony.jobs import sweep_due_sms

    card = miss_call(client)
    jobs.notify_card_opened(card.id)  # stores the officials' SMS; their sending jobs wait
    [primary] = db.session.scalars(
        db.select(OutboundMessage).order_by(OutboundMessage.id).limit(1)
    ).all()
    db.session.execute(  # a worker claimed it and died before Twilio answered
        db.update(OutboundMessage)
        .where(OutboundMessage.id == primary.id)
        .values(status="claimed", attempts=1, next_attempt_at=clock.now + timedelta(minutes=10))
    )
    db.session.commit()
    login(client, "head_a")
    shown = card_sms(client, card)
    waiting = [text for phone, text in shown.items() if phone != primary.to_number]
    assert len(waiting) == 2 and all("ждёт отправки" in text for text in waiting)  # not sent yet
    work(app)
    assert stored(primary).status == "claimed"

    clock.advance(minutes=11)
    sweep_due_sms()
    work(app)
    assert stored(primary).status == "unknown"
    assert primary.to_number not in {sms["to"] for sms in twilio_standin.messages.values()}
    assert "неизвестно, ушло ли" in card_sms(client, card)[primary.to_number]


def test_a_receipt_naming_an_impossible_message_id_is_ignored(app, client):
    for bad in ("abc", "²", str(10**30), "-1"):
        response = twilio_post(
            client, f"/sms/status?sms={bad}", MessageSid="SM" + "0" * 32, MessageStatus="sent"
        )
        assert response.status_code == 204
    assert db.session.scalar(db.select(db.func.count(OutboundMessage.id))) == 0
