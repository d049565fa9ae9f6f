"""Cards ("you were called"), callbacks, per-appeal tracking and the card's photos."""

import enum
from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql import ColumnElement

from core import clock
from core.dbtypes import UTCDateTime
from core.extensions import db


class CardState(enum.StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    CALLED_BACK = "called_back"
    CLOSED = "closed"


#: States in which the card's callback duty is still open.
OPEN_STATES = (CardState.NEW, CardState.ACKNOWLEDGED)


class Card(db.Model):
    """A "you were called" card: a call whose duty chain nobody accepted, until called back."""

    __tablename__ = "cards"
    __table_args__ = (
        CheckConstraint(
            "state IN ('new', 'acknowledged', 'called_back', 'closed')", name="state_known"
        ),
        Index("ix_cards_by_municipality_state_due", "municipality_id", "state", "callback_due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: One card per call, however often the signal arrives.
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), unique=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id"), index=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"))
    state: Mapped[str] = mapped_column(String(16), default=CardState.NEW)
    #: Who is told about the card: {"primary": {...}|None, "backup": ..., "supervisor": ...}.
    duty: Mapped[dict] = mapped_column(JSON, default=dict)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)
    callback_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: When an unacknowledged card reminds the officials (15 minutes after opening).
    remind_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: When a card not yet called back goes to the supervisor (half the callback deadline).
    escalate_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Set once the opening SMS went to every official of the duty.
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When the callback deadline passed while the card was still open (the regional managers
    #: were told then); `overdue` is derived from it.
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    called_back_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    call = relationship("Call")
    appeal = relationship("Appeal")
    municipality = relationship("Municipality")
    callbacks: Mapped[list["CallbackAttempt"]] = relationship(
        back_populates="card", order_by="CallbackAttempt.id"
    )
    photos: Mapped[list["CardPhoto"]] = relationship(back_populates="card", order_by="CardPhoto.id")

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @hybrid_property
    def overdue(self) -> bool:
        """Whether the callback deadline passed while the card was still open."""
        return self.overdue_at is not None

    @overdue.inplace.expression
    @classmethod
    def _overdue_expression(cls) -> ColumnElement[bool]:
        return cls.overdue_at.is_not(None)

    def __repr__(self) -> str:
        return (
            f"<Card {self.id} call={self.call_id} {self.state}{' overdue' if self.overdue else ''}>"
        )


class CallbackAttempt(db.Model):
    """One click-to-call: the official's phone rings, on their key the citizen is dialled."""

    __tablename__ = "callback_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("cards.id"), index=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    official_id: Mapped[int | None] = mapped_column(ForeignKey("officials.id"))
    official_phone: Mapped[str] = mapped_column(String(32))
    citizen_number: Mapped[str] = mapped_column(String(32), index=True)
    #: CallSid of the outbound call to the official.
    call_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)
    #: The official pressed 1 and the citizen is being dialled.
    key_pressed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dial_call_status: Mapped[str | None] = mapped_column(String(16))
    dial_call_duration: Mapped[int | None]
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: `answered` (the citizen was bridged), `no-answer`, `busy`, `failed`, `not-accepted`.
    outcome: Mapped[str | None] = mapped_column(String(16))
    #: Times the carrier was asked to ring the official (a passing failure is tried again).
    tries: Mapped[int] = mapped_column(default=1, server_default="1")
    #: When the carrier was last asked to ring the official.
    tried_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When the next try is due, while the attempt waits for one after a passing failure.
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    #: Why the carrier did not take the last try, in words.
    last_error: Mapped[str | None] = mapped_column(String(300))

    card: Mapped[Card] = relationship(back_populates="callbacks")
    official = relationship("Official")

    @property
    def waiting_for_retry(self) -> bool:
        """The carrier did not take the last try for a passing reason; another one is due."""
        return self.outcome is None and self.call_sid is None and self.retry_at is not None

    def __repr__(self) -> str:
        return f"<CallbackAttempt {self.id} card={self.card_id} {self.outcome}>"


class AppealTracking(db.Model):
    """What the tracking jobs keep per open appeal: check-ins, resolution, the citizen's word."""

    __tablename__ = "appeal_tracking"
    __table_args__ = (
        CheckConstraint(
            "confirmation IN ('asked', 'confirmed', 'rejected', 'unconfirmed')",
            name="confirmation_known",
        ),
        Index("ix_appeal_tracking_next_checkin_at", "next_checkin_at"),
        Index("ix_appeal_tracking_confirmation_due_at", "confirmation_due_at"),
    )

    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id"), primary_key=True)
    #: The next status request to the responsible official; empty when none is due.
    next_checkin_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_checkin_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checkins: Mapped[int] = mapped_column(default=0)
    resolution_code: Mapped[str | None] = mapped_column(String(32))
    resolution_text: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: The citizen's answer to "is it solved": asked, confirmed, rejected or unconfirmed.
    confirmation: Mapped[str | None] = mapped_column(String(16))
    confirmation_asked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Without an answer by then the appeal closes as unconfirmed.
    confirmation_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Times the citizen sent the matter back ("not solved"); counts against the municipality.
    reopen_count: Mapped[int] = mapped_column(default=0)

    appeal = relationship("Appeal")

    def __repr__(self) -> str:
        return f"<AppealTracking {self.appeal_id} next={self.next_checkin_at}>"


class CardPhoto(db.Model):
    """A before/after photo proving what was done, stored on disk under the instance folder."""

    __tablename__ = "card_photos"
    __table_args__ = (CheckConstraint("kind IN ('before', 'after')", name="kind_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("cards.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    #: File name under `<instance>/card-photos/`, chosen by the server.
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    content_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int]
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)

    card: Mapped[Card] = relationship(back_populates="photos")

    def __repr__(self) -> str:
        return f"<CardPhoto {self.id} card={self.card_id} {self.kind}>"


class NoticeCall(db.Model):
    """The voice call that follows an official's "you were called" SMS not delivered in time."""

    __tablename__ = "notice_calls"
    __table_args__ = (
        CheckConstraint(
            "outcome IN ('delivered', 'not-needed', 'calling', 'placed', 'failed', 'acknowledged',"
            " 'unanswered')",
            name="outcome_known",
        ),
        #: The sweep looks every minute for checks that are due and not yet made.
        Index(
            "ix_notice_calls_due",
            "due_at",
            sqlite_where=db.text("checked_at IS NULL"),
            postgresql_where=db.text("checked_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("cards.id"), index=True)
    #: The opening SMS whose delivery is checked: one follow-up per message.
    message_id: Mapped[int] = mapped_column(ForeignKey("outbound_messages.id"), unique=True)
    official_id: Mapped[int | None] = mapped_column(ForeignKey("officials.id"))
    official_phone: Mapped[str] = mapped_column(String(32))
    #: When the SMS should have been delivered (2 minutes after it was sent).
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: When the delivery was checked; set once, so the call is placed at most once.
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: `delivered` or `not-needed` (no call), `calling`, `placed`, `failed` (not placed),
    #: `acknowledged` (1 pressed) or `unanswered` (the call ended without it).
    outcome: Mapped[str | None] = mapped_column(String(16))
    call_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: What the carrier answered when the call could not be placed, in one line.
    error: Mapped[str | None] = mapped_column(String(300))
    #: Times the carrier was asked to place the call (a passing failure is tried again).
    tries: Mapped[int] = mapped_column(default=0, server_default="0")
    #: When the next try is due, while the call waits for one after a passing failure.
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    card: Mapped[Card] = relationship()
    message = relationship("OutboundMessage")

    def __repr__(self) -> str:
        return f"<NoticeCall {self.id} card={self.card_id} {self.official_phone} {self.outcome}>"
