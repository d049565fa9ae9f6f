"""Municipalities, officials, categories, rosters, the regulation and duty shifts."""

import enum
from datetime import date, datetime, time

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import utcnow
from core.dbtypes import UTCDateTime
from core.extensions import db


class DutyRole(enum.StrEnum):
    """The three duty slots, in the order the chain rings them."""

    PRIMARY = "primary"
    BACKUP = "backup"
    SUPERVISOR = "supervisor"


DUTY_ROLES = (DutyRole.PRIMARY, DutyRole.BACKUP, DutyRole.SUPERVISOR)


class Urgency(enum.StrEnum):
    EMERGENCY = "emergency"
    ORDINARY = "ordinary"
    FORMAL = "formal"


class ShiftKind(enum.StrEnum):
    ROTATION = "rotation"
    OVERRIDE = "override"
    SWAP = "swap"


class AbsenceReason(enum.StrEnum):
    VACATION = "vacation"
    SICK = "sick"
    OTHER = "other"


class Municipality(db.Model):
    __tablename__ = "municipalities"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    #: `district` (муниципальный район) or `okrug` (городской округ).
    kind: Mapped[str] = mapped_column(String(16), default="district")
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Moscow")
    #: The municipality's own single duty number (E.164); calls to it go straight to its chain.
    duty_number: Mapped[str | None] = mapped_column(String(20), unique=True)
    #: Secret token in the URL of the municipality's iCal feed; empty until first asked for.
    feed_token: Mapped[str | None] = mapped_column(String(64), unique=True)

    officials: Mapped[list["Official"]] = relationship(back_populates="municipality")
    rosters: Mapped[list["Roster"]] = relationship(back_populates="municipality")

    def __repr__(self) -> str:
        return f"<Municipality {self.code}>"


class Official(db.Model):
    __tablename__ = "officials"

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"), index=True)
    full_name: Mapped[str] = mapped_column(String(200))
    position: Mapped[str] = mapped_column(String(200), default="")
    #: E.164, e.g. +79000000101.
    phone: Mapped[str] = mapped_column(String(20), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), unique=True)
    #: Secret token in the URL of the official's iCal feed; empty until first asked for.
    feed_token: Mapped[str | None] = mapped_column(String(64), unique=True)

    municipality: Mapped[Municipality] = relationship(back_populates="officials")

    def __repr__(self) -> str:
        return f"<Official {self.full_name} {self.phone}>"


class Category(db.Model):
    __tablename__ = "categories"
    __table_args__ = (
        CheckConstraint("urgency IN ('emergency', 'ordinary', 'formal')", name="urgency_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    urgency: Mapped[str] = mapped_column(String(16))
    #: Minutes allowed until the first contact with the citizen; empty for formal appeals.
    callback_minutes: Mapped[int | None]
    #: Days allowed until the matter is resolved.
    resolution_days: Mapped[int]
    #: Minutes between check-ins while the appeal is in work.
    checkin_minutes: Mapped[int]
    #: Order in the voice menu and in lists (emergencies first).
    position: Mapped[int] = mapped_column(default=0)

    def __repr__(self) -> str:
        return f"<Category {self.code} {self.urgency}>"


class Roster(db.Model):
    """A set of duty slots: each municipality has a general one and may keep special ones."""

    __tablename__ = "rosters"
    __table_args__ = (
        UniqueConstraint("municipality_id", "code"),
        Index(
            "uq_rosters_one_general",
            "municipality_id",
            unique=True,
            sqlite_where=db.text("is_general"),
            postgresql_where=db.text("is_general"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"))
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    is_general: Mapped[bool] = mapped_column(default=False)

    municipality: Mapped[Municipality] = relationship(back_populates="rosters")

    def __repr__(self) -> str:
        return f"<Roster {self.code} of {self.municipality_id}>"


class Regulation(db.Model):
    """Which roster answers a category in a municipality (absent: the general roster)."""

    __tablename__ = "regulations"
    __table_args__ = (UniqueConstraint("municipality_id", "category_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"))
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    roster_id: Mapped[int] = mapped_column(ForeignKey("rosters.id"))

    roster: Mapped[Roster] = relationship()

    def __repr__(self) -> str:
        return f"<Regulation m={self.municipality_id} c={self.category_id} r={self.roster_id}>"


class DutyShift(db.Model):
    """One official in one role of one roster from `starts_at` to `ends_at` (UTC)."""

    __tablename__ = "duty_shifts"
    __table_args__ = (
        CheckConstraint("role IN ('primary', 'backup', 'supervisor')", name="role_known"),
        CheckConstraint("kind IN ('rotation', 'override', 'swap')", name="kind_known"),
        CheckConstraint("ends_at > starts_at", name="positive_length"),
        Index("ix_duty_shifts_roster_time", "roster_id", "starts_at", "ends_at"),
        #: One generated row per rotation slot, so materialising twice adds nothing.
        Index(
            "uq_duty_shifts_rotation_slot",
            "roster_id",
            "role",
            "starts_at",
            unique=True,
            sqlite_where=db.text("kind = 'rotation'"),
            postgresql_where=db.text("kind = 'rotation'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    roster_id: Mapped[int] = mapped_column(ForeignKey("rosters.id"))
    role: Mapped[str] = mapped_column(String(16))
    official_id: Mapped[int] = mapped_column(ForeignKey("officials.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: `rotation` rows are generated; `override` and `swap` rows win over them.
    kind: Mapped[str] = mapped_column(String(16), default=ShiftKind.ROTATION)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Why an override or swap was made, as the administrator wrote it.
    note: Mapped[str] = mapped_column(String(200), default="")

    roster: Mapped[Roster] = relationship()
    official: Mapped[Official] = relationship()

    def __repr__(self) -> str:
        return f"<DutyShift {self.role} {self.official_id} {self.starts_at:%Y-%m-%d %H:%M}>"


class Rotation(db.Model):
    """How one role of a roster turns over: ordered officials, a local handoff time, a length."""

    __tablename__ = "rotations"
    __table_args__ = (
        UniqueConstraint("roster_id", "role"),
        CheckConstraint("role IN ('primary', 'backup', 'supervisor')", name="role_known"),
        CheckConstraint("length_days BETWEEN 1 AND 28", name="length_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    roster_id: Mapped[int] = mapped_column(ForeignKey("rosters.id"))
    role: Mapped[str] = mapped_column(String(16))
    #: Local wall-clock time of the handoff in the municipality's time zone.
    handoff: Mapped[time]
    #: Days each official holds the role before the next one takes over (1 daily, 7 weekly).
    length_days: Mapped[int] = mapped_column(default=1)
    #: Local date of the first handoff; slot k starts on starts_on + k * length_days.
    starts_on: Mapped[date]
    #: First slot start (UTC) this definition owns; rows before it belong to the previous one.
    effective_from: Mapped[datetime] = mapped_column(UTCDateTime)
    #: How many days ahead shift rows are kept materialised.
    horizon_days: Mapped[int] = mapped_column(default=60)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    roster: Mapped[Roster] = relationship()
    members: Mapped[list["RotationMember"]] = relationship(
        order_by="RotationMember.position", cascade="all, delete-orphan"
    )

    @property
    def official_ids(self) -> list[int]:
        return [member.official_id for member in self.members]

    def __repr__(self) -> str:
        return f"<Rotation {self.role} of roster {self.roster_id} every {self.length_days}d>"


class RotationMember(db.Model):
    """An official's place in a rotation's order."""

    __tablename__ = "rotation_members"

    rotation_id: Mapped[int] = mapped_column(
        ForeignKey("rotations.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(primary_key=True)
    official_id: Mapped[int] = mapped_column(ForeignKey("officials.id"), index=True)

    official: Mapped[Official] = relationship()

    def __repr__(self) -> str:
        return f"<RotationMember {self.rotation_id}#{self.position} {self.official_id}>"


class Unavailability(db.Model):
    """A period an official cannot be on duty (vacation, sick leave)."""

    __tablename__ = "unavailabilities"
    __table_args__ = (
        CheckConstraint("reason IN ('vacation', 'sick', 'other')", name="reason_known"),
        CheckConstraint("ends_at > starts_at", name="positive_length"),
        Index("ix_unavailabilities_official_time", "official_id", "starts_at", "ends_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    official_id: Mapped[int] = mapped_column(ForeignKey("officials.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(16), default=AbsenceReason.VACATION)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    official: Mapped[Official] = relationship()

    def __repr__(self) -> str:
        return f"<Unavailability {self.official_id} {self.reason} {self.starts_at:%Y-%m-%d}>"


class RosterGap(db.Model):
    """An uncovered interval of one role found by the last gap check of a municipality."""

    __tablename__ = "roster_gaps"
    __table_args__ = (Index("ix_roster_gaps_municipality_start", "municipality_id", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"))
    roster_id: Mapped[int] = mapped_column(ForeignKey("rosters.id"))
    role: Mapped[str] = mapped_column(String(16))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: `empty` (nobody planned) or `unavailable` (the planned official is absent).
    reason: Mapped[str] = mapped_column(String(16), default="empty")
    found_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    roster: Mapped[Roster] = relationship()

    def __repr__(self) -> str:
        return f"<RosterGap {self.municipality_id} {self.role} {self.starts_at:%Y-%m-%d %H:%M}>"
