"""A real SMTP server (aiosmtpd) on 127.0.0.1 that the app sends its e-mail to."""

import email
import threading
from email import policy

import pytest
from aiosmtpd.controller import Controller

#: Where the test's SMTP server listens (this worktree's ports).
SMTP_PORT = 5210
#: Mailboxes the server refuses for good (550), as a wrong address is refused.
UNKNOWN_MAILBOX = "nobody@example.org"


class Mailbox:
    """The messages the SMTP server accepted; `hold` keeps a DATA command waiting."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.hold = threading.Event()
        self.hold.set()
        self.data_started = threading.Event()
        #: DATA commands received: every attempt to hand a message over that got that far.
        self.data_commands = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() == UNKNOWN_MAILBOX:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.data_commands += 1
        self.data_started.set()
        import asyncio

        while not self.hold.is_set():
            await asyncio.sleep(0.05)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted"


class SmtpServer:
    """An aiosmtpd server the test can stop (the server is down) and start again."""

    def __init__(self):
        self.mailbox = Mailbox()
        self.controller = None

    def start(self):
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=SMTP_PORT)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self):
        return self.mailbox.messages


def running_smtp(app):
    """The app's MAIL_SERVER: a running SMTP server on 127.0.0.1."""
    server = SmtpServer()
    server.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=SMTP_PORT, MAIL_FROM="hotline@tula.test")
    yield server
    server.mailbox.hold.set()
    server.stop()


smtp = pytest.fixture(running_smtp, name="smtp")
