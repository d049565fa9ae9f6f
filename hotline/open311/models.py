"""Open311 API keys and what an Open311 client sent with each request beyond the appeal."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import utcnow
from core.dbtypes import UTCDateTime
from core.extensions import db


class Open311Key(db.Model):
    """An `api_key` of an Open311 client (only its SHA-256 is kept)."""

    __tablename__ = "open311_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Who the key was given to, e.g. `portal` or `social-monitoring`.
    name: Mapped[str] = mapped_column(String(100), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<Open311Key {self.name}{' revoked' if self.revoked_at else ''}>"


class Open311Request(db.Model):
    """An appeal that came in through Open311: the client, the point and the extra fields."""

    __tablename__ = "open311_requests"

    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id"), primary_key=True)
    key_id: Mapped[int] = mapped_column(ForeignKey("open311_keys.id"), index=True)
    lat: Mapped[float | None]
    long: Mapped[float | None]
    address_id: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(200))
    device_id: Mapped[str | None] = mapped_column(String(100))
    account_id: Mapped[str | None] = mapped_column(String(100))
    media_url: Mapped[str | None] = mapped_column(String(500))
    #: The service definition's answers: {attribute code: value or list of values}.
    attributes: Mapped[dict] = mapped_column(JSON, default=dict)

    appeal = relationship("Appeal")
    key = relationship(Open311Key)

    def __repr__(self) -> str:
        return f"<Open311Request appeal={self.appeal_id} key={self.key_id}>"
