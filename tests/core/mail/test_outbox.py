"""E-mail through a real SMTP server: content, retries while it is down, wrong addresses."""

import os
import signal
import time
from datetime import UTC, datetime, timedelta

from core.events import timeline
from core.extensions import db
from core.mail.jobs import sweep_due_email
from core.mail.models import OutboundEmail
from core.mail.outbox import queue_email
from core.queue import get_queue, requeue_abandoned
from tests.conftest import login, start_worker, work
from tests.core.mail.conftest import SMTP_PORT, UNKNOWN_MAILBOX
from tests.factories import make_user

XLSX = b"PK\x03\x04 not really a workbook"


def _stored(email_id: int) -> OutboundEmail:
    db.session.expire_all()
    return db.session.get(OutboundEmail, email_id)


def _queue(to="head@tula.test", purpose="test:1", **kwargs) -> int:
    email = queue_email(
        to,
        "Карточка №7: перезвоните гражданину",
        "Здравствуйте!\nПерезвоните до 18:00.",
        "<p>Здравствуйте!</p><p>Перезвоните до <b>18:00</b>.</p>",
        purpose=purpose,
        about=("card", 7),
        **kwargs,
    )
    db.session.commit()
    return email.id


def test_an_email_arrives_with_its_text_html_and_attachment(app, smtp):
    email_id = _queue(attachment=("пропущенные.xlsx", "application/vnd.ms-excel", XLSX))
    work(app)

    assert _stored(email_id).status == "sent"
    [message] = smtp.messages
    assert smtp.mailbox.envelopes == [("hotline@tula.test", ["head@tula.test"])]
    assert message["Subject"] == "Карточка №7: перезвоните гражданину"
    assert message["To"] == "head@tula.test"
    assert "Перезвоните до 18:00." in message.get_body(("plain",)).get_content()
    assert "<b>18:00</b>" in message.get_body(("html",)).get_content()
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "пропущенные.xlsx"
    assert attachment.get_content() == XLSX
    [event] = [e for e in timeline("card", 7) if e.verb == "email.sent"]
    assert event.data["to"] == "head@tula.test"


def test_the_same_purpose_is_sent_once(app, smtp):
    first = _queue(purpose="card:7:opened:user:1")
    second = _queue(purpose="card:7:opened:user:1")
    work(app)
    assert first == second and len(smtp.messages) == 1


def test_while_the_server_is_down_the_email_waits_and_goes_out_when_it_is_back(app, smtp, clock):
    smtp.stop()
    email_id = _queue()
    work(app)
    email = _stored(email_id)
    assert (email.status, email.attempts) == ("retrying", 1)
    assert "Connection" in email.last_error or "refused" in email.last_error.lower()
    assert email.next_attempt_at == clock.now + timedelta(minutes=1)

    clock.advance(minutes=1, seconds=1)
    sweep_due_email()
    work(app)  # still down: the second attempt fails too
    assert _stored(email_id).attempts == 2 and smtp.messages == []

    smtp.start()
    clock.advance(minutes=5, seconds=1)
    sweep_due_email()
    work(app)
    email = _stored(email_id)
    assert (email.status, email.attempts) == ("sent", 3)
    assert len(smtp.messages) == 1
    clock.advance(hours=2)
    assert sweep_due_email() == 0


def test_a_wrong_address_fails_once_shown_to_the_admin_and_is_not_retried(app, smtp, client, clock):
    make_user("root", "admin")
    db.session.commit()
    email_id = _queue(to=UNKNOWN_MAILBOX)
    work(app)

    email = _stored(email_id)
    assert (email.status, email.attempts) == ("failed", 1)
    assert "550" in email.last_error
    assert get_queue().scheduled_job_registry.get_job_ids() == []
    clock.advance(hours=3)
    assert sweep_due_email() == 0
    [event] = [e for e in timeline("card", 7) if e.verb == "email.failed"]
    assert "550" in event.data["reason"]

    login(client, "root")
    page = client.get("/admin/mail/").text
    assert UNKNOWN_MAILBOX in page and "550" in page


def test_without_a_server_the_email_is_kept_and_readable_in_the_app(app, client):
    make_user("root", "admin")
    db.session.commit()
    email_id = _queue()
    work(app)
    assert _stored(email_id).status == "kept"
    login(client, "root")
    page = client.get(f"/admin/mail/{email_id}").text
    assert "Перезвоните до 18:00." in page and "head@tula.test" in page


def test_a_worker_killed_while_sending_never_sends_the_email_twice(app, smtp, clock):
    smtp.mailbox.hold.clear()  # the server takes the message and keeps the client waiting
    email_id = _queue()
    worker = start_worker(app, MAIL_SERVER="127.0.0.1", MAIL_PORT=str(SMTP_PORT))
    try:
        assert smtp.mailbox.data_started.wait(30), "the worker never reached the SMTP server"
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    smtp.mailbox.hold.set()
    assert _stored(email_id).status == "sending"

    get_queue().started_job_registry.cleanup(timestamp=time.time() + 3600)
    clock.now = datetime.now(UTC) + timedelta(minutes=11)  # the worker claimed it on its clock
    requeue_abandoned()
    sweep_due_email()
    work(app)
    email = _stored(email_id)
    assert (email.status, email.attempts) == ("unknown", 1)
    time.sleep(0.5)
    assert smtp.mailbox.data_commands == 1  # the dead worker's attempt only, never a second
    assert sweep_due_email() == 0
