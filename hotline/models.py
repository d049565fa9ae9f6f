"""Calls, dial attempts, appeals, blocked numbers and operator presence."""

import enum
from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import utcnow
from core.dbtypes import UTCDateTime
from core.extensions import db


class CallOutcome(enum.StrEnum):
    CONNECTED = "connected"
    MISSED = "missed"
    ABANDONED = "abandoned"
    REFUSED = "refused"
    #: Answered by an operator and finished without a duty chain (wrapped up or registered only).
    HANDLED = "handled"
    #: The caller joined an incident announced to them («me too»): no new appeal.
    JOINED_INCIDENT = "joined-incident"


class AttemptOutcome(enum.StrEnum):
    ACCEPTED = "accepted"
    NO_ANSWER = "no-answer"
    BUSY = "busy"
    FAILED = "failed"
    #: Picked up but no key pressed (voicemail, or a person who did not accept).
    NOT_ACCEPTED = "not-accepted"
    #: The citizen hung up while this official was being rung.
    CALLER_HUNG_UP = "caller-hung-up"
    #: Answering-machine detection found a voicemail or fax, not the official.
    MACHINE = "machine"


class AppealStatus(enum.StrEnum):
    ROUTING = "routing"
    IN_WORK = "in_work"
    MISSED = "missed"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    CLOSED = "closed"


class Channel(enum.StrEnum):
    PHONE = "phone"
    OPERATOR = "operator"
    VOICEMAIL = "voicemail"
    WEB = "web"
    OPEN311 = "open311"
    API = "api"


class Call(db.Model):
    """One phone call to the hotline (a Twilio CallSid) and how it was routed."""

    __tablename__ = "calls"
    __table_args__ = (
        Index("ix_calls_from_number_created_at", "from_number", "created_at"),
        Index("ix_calls_queued_waiting", "queued_at", "operator_id", "ended_at"),
        #: The reports select calls by when their chain started.
        Index("ix_calls_chain_started_at", "chain_started_at"),
        #: The reconciliation sweep finds calls never ended.
        Index(
            "ix_calls_not_ended",
            "created_at",
            sqlite_where=db.text("ended_at IS NULL"),
            postgresql_where=db.text("ended_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    from_number: Mapped[str] = mapped_column(String(32))
    to_number: Mapped[str] = mapped_column(String(32))
    #: `governor` (the governor's line) or `duty-number` (a municipality's own number).
    entry: Mapped[str] = mapped_column(String(16))
    municipality_id: Mapped[int | None] = mapped_column(ForeignKey("municipalities.id"), index=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    #: Last CallStatus from Twilio and the SequenceNumber it came with.
    status: Mapped[str] = mapped_column(String(16), default="in-progress")
    status_sequence: Mapped[int] = mapped_column(default=-1)
    #: Who was due in each slot when the chain started (the routing decision, kept as it was).
    routing: Mapped[dict | None] = mapped_column(JSON)
    outcome: Mapped[str | None] = mapped_column(String(16), index=True)
    #: Times the caller failed to choose in the voice menu.
    menu_retries: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    chain_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Entered the operators' queue.
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Left the operators' queue by itself (`*` for the voice menu).
    left_queue_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The operator who took the call from the queue.
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    #: The operator's phone was answered and bridged to the caller.
    operator_answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Why a call the operator handled needed no appeal: `info`, `wrong-number` or `abusive`.
    wrapup_code: Mapped[str | None] = mapped_column(String(16))
    wrapped_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Times the carrier was asked to send the caller into the duty chain from the console.
    #: The caller pressed 1 while waiting: rung back when their turn comes (their place is kept).
    callback_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    connect_tries: Mapped[int] = mapped_column(default=0, server_default="0")
    #: When the next try is due, while the connection waits for one after a passing failure.
    connect_retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: A known caller's call about their open appeal (key 2): its chain serves that appeal.
    about_appeal_id: Mapped[int | None] = mapped_column(
        ForeignKey("appeals.id", use_alter=True, name="fk_calls_about_appeal_id"), index=True
    )

    attempts: Mapped[list["DialAttempt"]] = relationship(
        back_populates="call", order_by="DialAttempt.position"
    )
    appeal: Mapped["Appeal | None"] = relationship(
        back_populates="call", uselist=False, foreign_keys="Appeal.call_id"
    )
    about_appeal: Mapped["Appeal | None"] = relationship(foreign_keys=[about_appeal_id])

    @property
    def served_appeal(self) -> "Appeal | None":
        """Return the appeal this call's chain serves: its own, or the one it is about."""
        return self.appeal or self.about_appeal

    def __repr__(self) -> str:
        return f"<Call {self.call_sid} {self.outcome or self.status}>"


class DialAttempt(db.Model):
    """One official rung for a call, with what happened."""

    __tablename__ = "dial_attempts"
    __table_args__ = (
        UniqueConstraint("call_id", "position"),
        CheckConstraint("role IN ('primary', 'backup', 'supervisor')", name="role_known"),
        #: The reports join each call to the attempt that accepted it (index-only).
        Index(
            "ix_dial_attempts_accepted",
            "call_id",
            "role",
            "accepted_at",
            sqlite_where=db.text("accepted_at IS NOT NULL"),
            postgresql_where=db.text("accepted_at IS NOT NULL"),
        ),
        #: The reconciliation sweep finds officials rung with no dial result.
        Index(
            "ix_dial_attempts_unfinished",
            "started_at",
            sqlite_where=db.text("outcome IS NULL"),
            postgresql_where=db.text("outcome IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    #: Place in the chain: 0 for the first official rung.
    position: Mapped[int]
    role: Mapped[str] = mapped_column(String(16))
    official_id: Mapped[int | None] = mapped_column(ForeignKey("officials.id"), index=True)
    phone: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: When the official pressed the key that accepts the call.
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dial_call_sid: Mapped[str | None] = mapped_column(String(64))
    dial_call_status: Mapped[str | None] = mapped_column(String(16))
    dial_call_duration: Mapped[int | None]
    key_pressed: Mapped[bool] = mapped_column(default=False)
    outcome: Mapped[str | None] = mapped_column(String(16))

    call: Mapped[Call] = relationship(back_populates="attempts")

    def __repr__(self) -> str:
        return f"<DialAttempt call={self.call_id} #{self.position} {self.role} {self.outcome}>"


class Appeal(db.Model):
    """A citizen's matter (обращение), tracked until it is closed."""

    __tablename__ = "appeals"
    __table_args__ = (
        Index("ix_appeals_open_by_municipality", "municipality_id", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The public registration number the citizen is told.
    number: Mapped[str | None] = mapped_column(String(16), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=AppealStatus.ROUTING)
    caller_number: Mapped[str | None] = mapped_column(String(32), index=True)
    caller_name: Mapped[str | None] = mapped_column(String(200))
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), index=True)
    #: `emergency`, `ordinary` or `formal`: sets the deadlines.
    urgency: Mapped[str] = mapped_column(String(16))
    address: Mapped[str | None] = mapped_column(String(300))
    text: Mapped[str | None] = mapped_column(Text)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id"), unique=True)
    #: The official who accepted the call and took the matter on.
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("officials.id"))
    recording_url: Mapped[str | None] = mapped_column(String(500))
    recording_duration: Mapped[int | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    #: First contact with the citizen is due by then (none for formal written appeals).
    callback_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    call: Mapped[Call | None] = relationship(back_populates="appeal", foreign_keys=[call_id])
    municipality = relationship("Municipality")
    category = relationship("Category")
    assignee = relationship("Official")

    @property
    def caller_hidden(self) -> bool:
        """Whether the caller's number is unknown because the call came with a hidden caller ID.

        A phone appeal takes the call's number; only a hidden caller ID leaves it empty (an
        operator always asks for a call-back number).
        """
        return self.channel == Channel.PHONE and not self.caller_number

    def __repr__(self) -> str:
        return f"<Appeal {self.number} {self.status}>"


class BlockedNumber(db.Model):
    """A caller number pattern (`*` and `?` wildcards) that gets a polite refusal."""

    __tablename__ = "blocked_numbers"

    id: Mapped[int] = mapped_column(primary_key=True)
    pattern: Mapped[str] = mapped_column(String(32), unique=True)
    reason: Mapped[str] = mapped_column(String(300), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<BlockedNumber {self.pattern}>"


class OperatorShift(db.Model):
    """An operator on shift in the console, with the endpoint their calls go to."""

    __tablename__ = "operator_shifts"
    __table_args__ = (Index("ix_operator_shifts_open", "ended_at", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: E.164 number or `client:<identity>` for a Twilio Client in the browser.
    endpoint: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<OperatorShift user={self.user_id} {self.endpoint}>"


class OperatorState(enum.StrEnum):
    READY = "ready"
    OFFERED = "offered"
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"
    BREAK = "break"
    OFFLINE = "offline"


class OperatorPresence(db.Model):
    """An operator's state now: one row per operator, changed by conditional UPDATEs."""

    __tablename__ = "operator_presence"
    __table_args__ = (Index("ix_operator_presence_state", "state", "since"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default=OperatorState.OFFLINE)
    #: Why on break (`missed-offer`, `lunch`, `training`...).
    reason: Mapped[str | None] = mapped_column(String(32))
    #: When this state began: the ready operator with the oldest `since` is offered first.
    since: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The call offered, on, or being wrapped up.
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id"))
    #: When the offer expires or the wrap-up ends.
    until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<OperatorPresence user={self.user_id} {self.state}>"


class OperatorStateChange(db.Model):
    """One stretch of an operator in one state (the history the reports add up)."""

    __tablename__ = "operator_state_changes"
    __table_args__ = (Index("ix_operator_state_changes_user", "user_id", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(32))
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<OperatorStateChange user={self.user_id} {self.state} {self.started_at}>"
