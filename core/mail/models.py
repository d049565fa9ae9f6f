"""The e-mail outbox: every message the system sends by e-mail, kept with its attempts."""

from datetime import datetime

from sqlalchemy import Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.dbtypes import UTCDateTime
from core.extensions import db

#: Stored, its first attempt not yet made.
EMAIL_PENDING = "pending"
#: A worker is handing it to the SMTP server.
EMAIL_SENDING = "sending"
#: The server did not take it for a passing reason; another attempt follows.
EMAIL_RETRYING = "retrying"
#: The SMTP server accepted it.
EMAIL_SENT = "sent"
#: Kept in the app instead of sent (no `MAIL_SERVER`, as in development).
EMAIL_KEPT = "kept"
#: Refused for good (a wrong address) or given up after the last attempt.
EMAIL_FAILED = "failed"
#: A worker stopped while handing it over: it may have gone out, so it is not sent again.
EMAIL_UNKNOWN = "unknown"


class OutboundEmail(db.Model):
    """An e-mail the system sends, with the attempts made to hand it to the SMTP server."""

    __tablename__ = "outbound_emails"
    __table_args__ = (
        Index(
            "ix_outbound_emails_next_attempt_at",
            "next_attempt_at",
            sqlite_where=db.text("next_attempt_at IS NOT NULL"),
            postgresql_where=db.text("next_attempt_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text, default="")
    #: What the message is about, e.g. `card:12:opened:user:3`, so a second send is noticed.
    purpose: Mapped[str] = mapped_column(String(120), unique=True)
    #: The timeline the message shows on: `card`, `user`... and its id.
    subject_type: Mapped[str | None] = mapped_column(String(32))
    subject_id: Mapped[int | None] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(16), default=EMAIL_PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    #: When the next attempt is due, or when a `sending` one is given up; empty otherwise.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(300))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The attached file's name, MIME type and bytes (the weekly report's XLSX); empty if none.
    attachment_name: Mapped[str | None] = mapped_column(String(200))
    attachment_type: Mapped[str | None] = mapped_column(String(100))
    attachment_data: Mapped[bytes | None] = mapped_column(LargeBinary)

    def __repr__(self) -> str:
        return f"<OutboundEmail {self.id} {self.purpose} to {self.to_address} {self.status}>"
