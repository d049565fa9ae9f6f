"""Incidents: something wrong in a municipality that many callers phone about at once."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import utcnow
from core.dbtypes import UTCDateTime
from core.extensions import db
from roster.models import Category, Municipality


class Incident(db.Model):
    """An incident declared by an operator or a manager; callers from there may join it."""

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_open", "municipality_id", "closed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    #: The street, village or area hit, when not the whole municipality.
    area: Mapped[str | None] = mapped_column(String(300))
    #: What callers hear, e.g. «Нет электричества в посёлке Партизан, бригада на месте.»
    text: Mapped[str] = mapped_column(Text)
    expected_end_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    declared_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    municipality: Mapped[Municipality] = relationship()
    category: Mapped[Category | None] = relationship()
    callers: Mapped[list["IncidentCaller"]] = relationship(
        back_populates="incident", order_by="IncidentCaller.id"
    )

    def __repr__(self) -> str:
        return f"<Incident {self.id} {self.municipality_id}{' closed' if self.closed_at else ''}>"


class IncidentCaller(db.Model):
    """One caller who said «me too»: counted once per number, texted when it is closed."""

    __tablename__ = "incident_callers"
    __table_args__ = (UniqueConstraint("incident_id", "caller_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    #: The caller's number, or `call:<CallSid>` for a hidden one (counted, never texted).
    caller_key: Mapped[str] = mapped_column(String(80))
    caller_number: Mapped[str | None] = mapped_column(String(32))
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id"))
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The closing SMS, once stored in the outbox.
    sms_id: Mapped[int | None] = mapped_column(ForeignKey("outbound_messages.id"))

    incident: Mapped[Incident] = relationship(back_populates="callers")

    def __repr__(self) -> str:
        return f"<IncidentCaller {self.incident_id} {self.caller_key}>"
