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


def issue_token(user: User) -> str:
    """Create a new bearer token for the user and return it (only its hash is kept)."""
    token = ApiToken.generate()
    db.session.add(ApiToken(user=user, token_hash=ApiToken.hash(token)))
    record_event("user", user.id, "token.issued", actor_label="cli")
    db.session.flush()
    return token


def user_for_token(token: str) -> User | None:
    """Return the active user a bearer token belongs to, noting its use."""
    row = db.session.scalar(
        db.select(ApiToken).where(
            ApiToken.token_hash == ApiToken.hash(token), ApiToken.revoked_at.is_(None)
        )
    )
    if row is None or not row.user.active:
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > TOKEN_USE_PRECISION:
        row.last_used_at = now
    return row.user
