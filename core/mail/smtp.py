"""The one place that speaks SMTP: build a MIME message and hand it to the configured server."""

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app

from core.mail.models import OutboundEmail

#: Seconds to wait for the SMTP server before the attempt counts as failed.
SMTP_TIMEOUT = 20


class MailNotTaken(Exception):
    """The SMTP server did not accept a message; `permanent` when retrying cannot help."""

    def __init__(self, message: str, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


def build_message(email: OutboundEmail) -> EmailMessage:
    """Return the MIME message of an outbox row: plain text, HTML alternative, attachment."""
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = email.to_address
    message["Subject"] = email.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(idstring=f"hotline-{email.id}")
    message.set_content(email.body_text)
    if email.body_html:
        message.add_alternative(email.body_html, subtype="html")
    if email.attachment_data is not None:
        maintype, _, subtype = (email.attachment_type or "application/octet-stream").partition("/")
        message.add_attachment(
            email.attachment_data,
            maintype=maintype,
            subtype=subtype,
            filename=email.attachment_name,
        )
    return message


def send_over_smtp(email: OutboundEmail) -> None:
    """Hand one message to the SMTP server; `MailNotTaken` says why it was not accepted."""
    config = current_app.config
    try:
        with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=SMTP_TIMEOUT) as smtp:
            if config["MAIL_USE_TLS"]:
                smtp.starttls(context=ssl.create_default_context())
            if config["MAIL_USERNAME"]:
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
            smtp.send_message(build_message(email))
    except smtplib.SMTPRecipientsRefused as error:
        raise MailNotTaken(
            _refusal(error.recipients), permanent=_permanent(error.recipients)
        ) from error
    except smtplib.SMTPResponseException as error:
        text = f"{error.smtp_code} {_decoded(error.smtp_error)}"
        raise MailNotTaken(text, permanent=500 <= error.smtp_code < 600) from error
    except (OSError, smtplib.SMTPException) as error:
        raise MailNotTaken(f"{type(error).__name__}: {error}") from error


def _refusal(recipients: dict) -> str:
    return "; ".join(f"{to}: {code} {_decoded(text)}" for to, (code, text) in recipients.items())


def _permanent(recipients: dict) -> bool:
    return all(500 <= code < 600 for code, _text in recipients.values())


def _decoded(text) -> str:
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
