"""Accounts, API tokens, audit events and the record of outbound messages."""

import enum
import functools
import hashlib
import secrets
from datetime import datetime, time

from flask_login import UserMixin
from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint, event
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from core.clock import utcnow
from core.dbtypes import UTCDateTime
from core.extensions import db


class Role(enum.StrEnum):
    """What a user is allowed to do."""

    OPERATOR = "operator"
    OFFICIAL = "official"
    HEAD = "head"
    MANAGER = "manager"
    ADMIN = "admin"


#: Roles that are scoped to one municipality.
MUNICIPAL_ROLES = frozenset({Role.OFFICIAL, Role.HEAD})


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "role IN ('operator', 'official', 'head', 'manager', 'admin')", name="role_known"
        ),
        CheckConstraint(
            "(role IN ('official', 'head')) = (municipality_id IS NOT NULL)",
            name="municipal_roles_scoped",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    #: The municipality an official or head is scoped to; empty for regional roles.
    municipality_id: Mapped[int | None] = mapped_column(
        ForeignKey("municipalities.id", ondelete="RESTRICT"), index=True
    )
    active: Mapped[bool] = mapped_column(default=True)
    #: Interface language chosen by the user (`ru` or `en`); empty means the default.
    locale: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Part of every session's user id: raising it ends all of the user's sessions at once.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    #: Mobile number in E.164 (`+79161234567`) for notices by SMS; empty when none.
    phone: Mapped[str | None] = mapped_column(String(20))
    #: Address notices by e-mail go to; empty when none.
    email: Mapped[str | None] = mapped_column(String(254))
    #: Notice kind -> channels chosen (`["sms", "email"]`); a kind left out gets every channel.
    notice_channels: Mapped[dict] = mapped_column(JSON, default=dict)
    #: Local time from which non-urgent notices wait, and the time they go out again.
    quiet_from: Mapped[time] = mapped_column(default=time(22, 0), server_default="22:00:00")
    quiet_until: Mapped[time] = mapped_column(default=time(7, 0), server_default="07:00:00")
    #: Failed sign-ins in a row, from any address; a success sets it back to 0.
    failed_logins: Mapped[int] = mapped_column(default=0, server_default="0")
    #: No sign-in is tried before this moment (a growing delay, then a temporary lock).
    login_blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The base32 TOTP secret of the second factor; empty until the user has set it up.
    totp_secret: Mapped[str | None] = mapped_column(String(64))

    tokens: Mapped[list["ApiToken"]] = relationship(back_populates="user")

    def get_id(self) -> str:
        """The id kept in the session cookie: the user and the current session version."""
        return f"{self.id}.{self.session_version}"

    def end_sessions(self) -> None:
        """Make every session cookie issued so far worthless (logout, password, deactivation)."""
        self.session_version = (self.session_version or 0) + 1

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:
        return self.active

    def can_see_municipality(self, municipality_id: int) -> bool:
        """Return whether this user may see the pages of the given municipality."""
        return self.role not in MUNICIPAL_ROLES or self.municipality_id == municipality_id

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"


@functools.cache
def _nobodys_password_hash() -> str:
    """A hash made once, like every user's, that no typed password matches."""
    return generate_password_hash(secrets.token_urlsafe(32))


def password_matches(user: User | None, password: str) -> bool:
    """Check the password of a user who may sign in, taking as long for anyone else."""
    if user is None or not user.active:
        check_password_hash(_nobodys_password_hash(), password)
        return False
    return user.check_password(password)


class ApiToken(db.Model):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: SHA-256 of the bearer token; the token itself is shown once and never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: What the token is for, as the administrator named it (e.g. the system that uses it).
    label: Mapped[str] = mapped_column(String(100), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: After this moment the token is refused; empty for a token issued without an expiry.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(back_populates="tokens")

    @property
    def state(self) -> str:
        """`revoked`, `expired` or `live`: whether the API accepts the token now."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= utcnow():
            return "expired"
        return "live"

    @staticmethod
    def hash(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @staticmethod
    def generate() -> str:
        return "hl_" + secrets.token_urlsafe(32)

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} user={self.user_id}>"


class Event(db.Model):
    """An append-only timeline entry: who did what to which subject, and when."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_subject", "subject_type", "subject_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: Who acted when it was not a user: `system`, `carrier`, `citizen`, a job name.
    actor_label: Mapped[str] = mapped_column(String(64), default="system")
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(64))
    verb: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict] = mapped_column(JSON, default=dict)

    #: Read with the timeline; written through actor_id, so a flush has no relationship to sort.
    actor: Mapped[User | None] = relationship(viewonly=True)

    def __repr__(self) -> str:
        return f"<Event {self.subject_type}:{self.subject_id} {self.verb}>"


@event.listens_for(Event, "before_update")
@event.listens_for(Event, "before_delete")
def _refuse_event_change(mapper, connection, target):
    raise RuntimeError("events are append-only")


class AccessEntry(db.Model):
    """One view or download of citizens' personal data: who, when, from where, what and why."""

    __tablename__ = "access_journal"
    __table_args__ = (
        Index("ix_access_journal_user_at", "user_id", "at"),
        Index("ix_access_journal_phone_at", "phone", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    #: Kept without a foreign key: the journal outlives the account it names.
    user_id: Mapped[int | None]
    username: Mapped[str] = mapped_column(String(64), default="")
    #: Why it was allowed: the role and municipality the user had at the time.
    role: Mapped[str] = mapped_column(String(16), default="")
    municipality_id: Mapped[int | None]
    address: Mapped[str] = mapped_column(String(64), default="")
    #: What was seen: `card`, `appeal`, `caller`, `recording`, `photo`, `export`, `search`.
    kind: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str] = mapped_column(String(64), default="")
    #: The citizen's phone number the data belongs to, when known (to answer "who saw me").
    phone: Mapped[str | None] = mapped_column(String(20))
    #: The page or API endpoint, and an export's filter.
    detail: Mapped[dict] = mapped_column(JSON, default=dict)

    def __repr__(self) -> str:
        return f"<AccessEntry {self.username} {self.kind}:{self.subject_id}>"


@event.listens_for(AccessEntry, "before_update")
@event.listens_for(AccessEntry, "before_delete")
def _refuse_access_entry_change(mapper, connection, target):
    raise RuntimeError("the access journal is append-only")


#: The execution option the retention purge sets on its one bulk delete of append-only rows.
RETENTION_PURGE = "retention_purge"


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_change_of_append_only_rows(state: ORMExecuteState):
    """Refuse bulk UPDATE and DELETE of events and journal entries, but the purge's delete."""
    if not (state.is_update or state.is_delete):
        return
    guarded = {mapper.class_ for mapper in state.all_mappers} & {Event, AccessEntry}
    if not guarded:
        return
    if state.is_delete and AccessEntry in guarded and state.execution_options.get(RETENTION_PURGE):
        return
    raise RuntimeError(f"{', '.join(sorted(c.__tablename__ for c in guarded))} are append-only")


#: `OutboundMessage.status` of an SMS stored with its transaction, waiting for its sending job.
SMS_PENDING = "pending"
#: `OutboundMessage.status` of an SMS a worker has claimed and is handing to the carrier.
SMS_SENDING = "claimed"
#: `OutboundMessage.status` of an SMS the carrier did not take that waits for another attempt.
SMS_RETRYING = "retrying"
#: `OutboundMessage.status` of an SMS whose worker stopped while handing it to the carrier:
#: whether it went out is unknown, and it is not sent again so that it is never sent twice.
SMS_UNKNOWN = "unknown"
#: `OutboundMessage.status` of an SMS refused for good, or not taken by its last attempt.
SMS_FAILED = "failed"
#: `OutboundMessage.status` of an SMS the carrier reports the phone never received.
SMS_UNDELIVERED = "undelivered"
#: `OutboundMessage.status` of an SMS the phone received (the carrier's delivery receipt).
SMS_DELIVERED = "delivered"


class OutboundMessage(db.Model):
    """An SMS the system sent (or, with the simulated carrier, recorded)."""

    __tablename__ = "outbound_messages"
    __table_args__ = (
        #: The retry sweep looks for due messages every minute; only waiting ones are indexed.
        Index(
            "ix_outbound_messages_next_attempt_at",
            "next_attempt_at",
            sqlite_where=db.text("next_attempt_at IS NOT NULL"),
            postgresql_where=db.text("next_attempt_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    to_number: Mapped[str] = mapped_column(String(20), index=True)
    body: Mapped[str] = mapped_column(String(1600))
    #: `sim` or `twilio`.
    carrier: Mapped[str] = mapped_column(String(16))
    #: Provider id (Twilio MessageSid) once accepted by the carrier.
    provider_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    #: What the message is about, e.g. `appeal:123`, so a job sent twice is noticed.
    purpose: Mapped[str | None] = mapped_column(String(80), unique=True)
    #: Times the message was handed to the carrier, the first one included.
    attempts: Mapped[int] = mapped_column(default=0)
    #: When the next step is due: the attempt of a `pending` or `retrying` message, or the
    #: moment a message still `sending` is given up as `unknown`; empty otherwise.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: What the carrier answered the last attempt that failed, in one line.
    last_error: Mapped[str | None] = mapped_column(String(300))
    #: The carrier's error code from its last delivery receipt (Twilio `ErrorCode`, e.g. 30003).
    error_code: Mapped[str | None] = mapped_column(String(8))

    @property
    def waiting(self) -> bool:
        """Stored and not yet handed to the carrier: a worker sends it after the commit."""
        return self.status in (SMS_PENDING, SMS_SENDING)

    @property
    def unknown(self) -> bool:
        """The worker stopped while handing it over: it may or may not have gone out."""
        return self.status == SMS_UNKNOWN

    @property
    def retrying(self) -> bool:
        """The carrier has not taken the message yet; another attempt will follow."""
        return self.status == SMS_RETRYING

    @property
    def failed(self) -> bool:
        """The message was refused for good or its last attempt failed: it will not go out."""
        return self.status == SMS_FAILED

    @property
    def delivered(self) -> bool:
        """The carrier's receipt says the phone received the message."""
        return self.status == SMS_DELIVERED

    @property
    def undelivered(self) -> bool:
        """The carrier took the message but reports the phone never received it."""
        return self.status == SMS_UNDELIVERED

    @property
    def taken(self) -> bool:
        """The carrier took the message (it may still be on its way to the phone)."""
        return not (self.waiting or self.retrying or self.failed or self.unknown)

    def __repr__(self) -> str:
        return (
            f"<OutboundMessage {self.to_number} {self.status} attempts={self.attempts}"
            f" purpose={self.purpose!r}>"
        )


class IdempotencyKey(db.Model):
    """An `Idempotency-Key` a user sent with a POST, and the answer that POST got."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    #: SHA-256 of the method, path and body the key first came with.
    fingerprint: Mapped[str] = mapped_column(String(64))
    #: The answer to replay; empty while the first request is still running.
    status_code: Mapped[int | None]
    response: Mapped[dict | list | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<IdempotencyKey user={self.user_id} {self.key!r} {self.status_code}>"
