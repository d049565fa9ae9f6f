"""Creating users and issuing API tokens."""

import logging
from datetime import timedelta

from core.clock import utcnow
from core.events import record_event
from core.extensions import db
from core.models import MUNICIPAL_ROLES, ApiToken, Role, User

log = logging.getLogger(__name__)

#: A token's last use is written at most this often, not on every request.
TOKEN_USE_PRECISION = timedelta(minutes=1)
#: Days a newly issued API token is valid for, unless the admin asks otherwise.
TOKEN_LIFETIME_DAYS = 90


class UserError(ValueError):
    """A user cannot be created as asked; the message says why."""


def municipality_id_by_code(code: str) -> int | None:
    """Return the id of the municipality with this code (the roster owns the table)."""
    table = db.metadata.tables["municipalities"]
    return db.session.execute(db.select(table.c.id).where(table.c.code == code)).scalar()


def create_user(
    username: str,
    role: str,
    password: str,
    municipality_code: str | None = None,
    full_name: str = "",
) -> User:
    """Create a user with a hashed password, scoped to a municipality for officials and heads."""
    if role not in set(Role):
        raise UserError(f"unknown role {role!r}; choose one of {', '.join(Role)}")
    if not username.strip():
        raise UserError("the user name is empty")
    if len(password) < 8:
        raise UserError("the password must have at least 8 characters")
    if db.session.scalar(db.select(User.id).where(User.username == username)):
        raise UserError(f"user {username!r} already exists")
    municipality_id = None
    if role in MUNICIPAL_ROLES:
        if not municipality_code:
            raise UserError(f"role {role} needs --municipality CODE")
        municipality_id = municipality_id_by_code(municipality_code)
        if municipality_id is None:
            raise UserError(f"no municipality with code {municipality_code!r}")
    elif municipality_code:
        raise UserError(f"role {role} is regional and takes no municipality")
    user = User(username=username, role=role, municipality_id=municipality_id, full_name=full_name)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    record_event("user", user.id, "user.created", {"role": role}, actor_label="cli")
    log.info("created user %s (%s)", username, role)
    return user


def find_user(username: str) -> User:
    """Return the user with this name; `UserError` when there is none."""
    user = db.session.scalar(db.select(User).where(User.username == username))
    if user is None:
        raise UserError(f"no user {username!r}")
    return user


def change_password(user: User, password: str, actor_label: str = "cli") -> None:
    """Set a new password and end every session the user has."""
    if len(password) < 8:
        raise UserError("the password must have at least 8 characters")
    user.set_password(password)
    user.end_sessions()
    record_event("user", user.id, "user.password-changed", actor_label=actor_label)


def deactivate_user(user: User, actor_label: str = "cli") -> None:
    """Stop a user signing in or using tokens, and end their sessions now."""
    user.active = False
    user.end_sessions()
    record_event("user", user.id, "user.deactivated", actor_label=actor_label)
    log.info("deactivated user %s", user.username)


def reactivate_user(user: User, actor_label: str = "cli") -> None:
    """Let a deactivated user sign in again (their old sessions stay ended)."""
    user.active = True
    record_event("user", user.id, "user.reactivated", actor_label=actor_label)
    log.info("reactivated user %s", user.username)


def issue_token(user: User, days: int | None = TOKEN_LIFETIME_DAYS) -> str:
    """Create a bearer token valid for `days` (None: no expiry); return it, keeping its hash."""
    token = ApiToken.generate()
    expires_at = utcnow() + timedelta(days=days) if days else None
    db.session.add(ApiToken(user=user, token_hash=ApiToken.hash(token), expires_at=expires_at))
    record_event("user", user.id, "token.issued", {"days": days}, actor_label="cli")
    db.session.flush()
    return token


def tokens_of(user: User) -> list[ApiToken]:
    """Return the user's tokens, newest first."""
    return list(
        db.session.scalars(
            db.select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
        )
    )


def revoke_token(token_id: int, actor_label: str = "cli") -> ApiToken:
    """Refuse a token from now on; `UserError` when there is no such token."""
    row = db.session.get(ApiToken, token_id)
    if row is None:
        raise UserError(f"no token {token_id}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        record_event(
            "user", row.user_id, "token.revoked", {"token": row.id}, actor_label=actor_label
        )
    return row


def user_for_token(token: str) -> User | None:
    """Return the active user a bearer token belongs to, noting its use."""
    row = db.session.scalar(
        db.select(ApiToken).where(
            ApiToken.token_hash == ApiToken.hash(token), ApiToken.revoked_at.is_(None)
        )
    )
    now = utcnow()
    if row is None or not row.user.active or (row.expires_at and row.expires_at <= now):
        return None
    if row.last_used_at is None or now - row.last_used_at > TOKEN_USE_PRECISION:
        row.last_used_at = now
    return row.user
