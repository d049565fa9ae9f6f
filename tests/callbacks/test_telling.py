"""Who is told what by SMS and e-mail: duty, heads, managers; once, as chosen, not at night."""

import io
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook

from callbacks.jobs import send_morning_digests, sweep
from callbacks.models import Card
from core.contacts import set_contacts
from core.extensions import db
from core.mail.jobs import sweep_due_email
from core.mail.models import OutboundEmail
from core.models import OutboundMessage
from core.telephony.jobs import sweep_due_sms
from reports.weekly import send_weekly_reports
from tests.callbacks.conftest import BETA_LINE, miss_call
from tests.conftest import login, work
from tests.core.mail.conftest import running_smtp

smtp = pytest.fixture(running_smtp, name="smtp")

#: Moscow is three hours ahead of UTC all year.
MSK = timedelta(hours=3)


def _evening() -> datetime:
    """Return the next 21:00 in Moscow (18:00 UTC) within the duty's ten days."""
    now = datetime.now(UTC)
    evening = now.replace(hour=18, minute=0, second=0, microsecond=0)
    return evening if evening > now else evening + timedelta(days=1)


def _day(moment: datetime) -> str:
    return (moment + MSK).strftime("%d.%m.%Y")


@pytest.fixture
def contacts(app, region):
    """Phones and e-mails on the accounts; the primary official of Alpha has an account."""
    region.a["primary"].user_id = region.official_a.id
    set_contacts(region.official_a, email="official@alpha.test")
    set_contacts(region.head_a, email="head@alpha.test", phone="+79160000901",
                 channels={"reminder": []})  # fmt: skip
    set_contacts(region.head_b, email="head@beta.test", phone="+79160000902")
    set_contacts(region.manager, email="manager@region.test", phone="+79160000903",
                 channels={"overdue": ["email"]})  # fmt: skip
    db.session.commit()
    return region


def _mails(smtp) -> list[tuple[str, str]]:
    return [(message["To"], message["Subject"]) for message in smtp.messages]


def _sms_to(number: str) -> list[OutboundMessage]:
    db.session.expire_all()
    return db.session.scalars(
        db.select(OutboundMessage).where(OutboundMessage.to_number == number)
    ).all()


def _step(app, clock, moment) -> None:
    clock.now = moment
    sweep()
    sweep_due_email()
    sweep_due_sms()
    work(app)


def test_each_notice_reaches_the_right_people_once_and_waits_out_the_night(
    app, client, contacts, smtp, clock
):
    evening = clock.now = _evening()
    card = miss_call(client)
    work(app)
    assert sorted(_mails(smtp)) == [
        ("head@alpha.test", f"Карточка №{card.id}: вам звонили — перезвоните гражданину"),
        ("official@alpha.test", f"Карточка №{card.id}: вам звонили — перезвоните гражданину"),
    ]
    new_card = smtp.messages[0]
    due = f"Перезвонить до: {_day(evening + timedelta(days=1))} 05:00"
    assert due in new_card.get_body(("plain",)).get_content()
    assert f"/cabinet/cards/{card.id}" in new_card.get_body(("html",)).get_content()

    _step(app, clock, evening + timedelta(minutes=15, seconds=1))
    reminders = [to for to, subject in _mails(smtp) if subject.startswith("Напоминание")]
    assert reminders == ["official@alpha.test"]  # the head muted reminders

    # half the deadline is 01:00 in Moscow: the head's escalation waits for the morning
    card = db.session.get(Card, card.id)
    _step(app, clock, card.escalate_at + timedelta(seconds=1))
    [escalation] = db.session.scalars(
        db.select(OutboundEmail).where(OutboundEmail.subject.startswith("Эскалация"))
    ).all()
    assert escalation.to_address == "head@alpha.test" and escalation.status == "pending"
    morning = evening + timedelta(hours=10)  # 07:00 in Moscow
    assert escalation.next_attempt_at == morning

    # overdue at 05:00 in Moscow: heads and managers are told, when the quiet hours end
    _step(app, clock, card.callback_due_at + timedelta(seconds=1))
    assert db.session.get(Card, card.id).overdue
    [head_sms] = _sms_to("+79160000901")
    assert head_sms.status == "pending" and head_sms.next_attempt_at == morning
    assert not [s for s in _mails(smtp) if "Просрочена" in s[1] or "Эскалация" in s[1]]

    _step(app, clock, morning + timedelta(seconds=1))
    overdue = sorted(to for to, subject in _mails(smtp) if subject.startswith("Просрочена"))
    assert overdue == ["head@alpha.test", "manager@region.test"]
    assert [to for to, s in _mails(smtp) if s.startswith("Эскалация")] == ["head@alpha.test"]
    [head_sms] = _sms_to("+79160000901")
    assert head_sms.status not in ("pending", "retrying") and "Просрочено" in head_sms.body
    assert _sms_to("+79160000903") == []  # the manager chose e-mail only for overdue cards
    # Beta's head hears nothing of Alpha's card
    assert _sms_to("+79160000902") == []
    assert not [to for to, _s in _mails(smtp) if to == "head@beta.test"]

    count = len(smtp.messages)
    _step(app, clock, morning + timedelta(hours=1))
    assert len(smtp.messages) == count

    # every e-mail is on the card's timeline, as the head sees it
    contacts.head_a.locale = "ru"
    db.session.commit()
    login(client, "head_a")
    page = client.get(f"/cabinet/cards/{card.id}").text
    assert page.count("письмо отправлено") == len(smtp.messages)
    assert "manager@region.test · «Просрочена карточка" in page


def test_heads_get_their_own_morning_digest_once(app, client, contacts, smtp, clock):
    evening = clock.now = _evening()
    alpha_card = miss_call(client, "CA1")
    miss_call(client, "CA2", from_="+79160000077", line=BETA_LINE)
    work(app)
    smtp.messages.clear()

    clock.now = evening + timedelta(hours=10, minutes=30)  # 07:30 in Moscow
    assert send_morning_digests() == 0
    clock.now = evening + timedelta(hours=11, seconds=5)  # 08:00 in Moscow
    assert send_morning_digests() == 2
    assert send_morning_digests() == 0  # a second run the same morning sends nothing
    work(app)
    digests = {message["To"]: message for message in smtp.messages}
    assert set(digests) == {"head@alpha.test", "head@beta.test"}
    alpha = digests["head@alpha.test"]
    today, yesterday = _day(clock.now), _day(evening)
    assert alpha["Subject"] == f"Сводка на {today}: Альфинский район"
    text = alpha.get_body(("plain",)).get_content()
    assert f"№{alpha_card.id}," in text and f"Пропущенные звонки за {yesterday}: 1." in text
    assert "Первов Пётр: 1" in text
    beta = digests["head@beta.test"].get_body(("plain",)).get_content()
    assert f"/cabinet/cards/{alpha_card.id}" not in beta


def test_managers_get_the_weekly_report_with_its_workbook_on_monday_morning(
    app, client, contacts, smtp, clock
):
    evening = _evening()
    monday = (evening - timedelta(days=evening.weekday() - 7)).replace(hour=5, minute=10)
    week = monday.date() - timedelta(days=7), monday.date() - timedelta(days=1)
    clock.now = monday - timedelta(days=5)  # the Wednesday before, at 11:10 in Moscow
    miss_call(client, "CA1")
    work(app)
    smtp.messages.clear()
    clock.now = monday + timedelta(days=1)  # Tuesday 08:10
    assert send_weekly_reports() == 0
    clock.now = monday  # Monday 08:10 in Moscow
    assert send_weekly_reports() == 1
    assert send_weekly_reports() == 0
    work(app)
    [message] = smtp.messages
    assert message["To"] == "manager@region.test"
    first, last = (day.strftime("%d.%m.%Y") for day in week)
    assert message["Subject"] == f"Пропущенные звонки за неделю {first} – {last}"
    assert "Альфинский район: пропущено 1" in message.get_body(("plain",)).get_content()
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == f"missed-calls-{week[0]}-{week[1]}.xlsx"
    book = load_workbook(io.BytesIO(attachment.get_content()))
    sheet = book.worksheets[0]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows[0][0] == "Муниципалитет"
    alpha = next(row for row in rows if row[0] == "Альфинский район")
    assert 1 in alpha[1:]


def test_an_emergency_is_never_held_by_quiet_hours(app, client, contacts, smtp, clock):
    evening = clock.now = _evening()
    card = miss_call(client)
    card.appeal.category_id = contacts.water.id  # a burst main: an emergency
    db.session.commit()
    work(app)
    due = db.session.get(Card, card.id).callback_due_at
    _step(app, clock, due + timedelta(seconds=1))  # 05:00 in Moscow, inside quiet hours
    assert (due + MSK).hour == 5 and due < evening + timedelta(hours=10)
    [head_sms] = _sms_to("+79160000901")
    assert head_sms.status not in ("pending", "retrying")
    overdue = sorted(to for to, subject in _mails(smtp) if subject.startswith("Просрочена"))
    assert overdue == ["head@alpha.test", "manager@region.test"]
