"""Creating, listing and deactivating users; issuing, listing and revoking API tokens."""

import logging
from datetime import timedelta

from core.clock import utcnow
from core.events import record_event
from core.extensions import db
from core.logins import PASSWORD_MIN_LENGTH, password_problem
from core.models import MUNICIPAL_ROLES, ApiToken, Role, User

log = logging.getLogger(__name__)

#: A token's last use is written at most this often, not on every request.
TOKEN_USE_PRECISION = timedelta(minutes=1)
#: Days a newly issued API token is valid for, unless the admin asks otherwise.
TOKEN_LIFETIME_DAYS = 90
#: The longest validity an admin may give a token, in days (ten years).
TOKEN_MAX_DAYS = 3650
#: The longest label a token may carry.
TOKEN_LABEL_LENGTH = 100


class UserError(ValueError):
    """A user change is refused; `message` says why, `code` and `field` name the rule and input."""

    def __init__(self, message: str, code: str = "invalid", field: str | None = None):
        super().__init__(message)
        self.message, self.code, self.field = message, code, field


def _actor(actor: User | None) -> dict:
    """Return the event's author: the admin who acted, else the command line."""
    return {"actor": actor, "actor_label": None if actor else "cli"}


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
    _check_password(password, username)
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


def _check_password(password: str, username: str = "") -> None:
    problem = password_problem(password, username)
    if problem == "too_short":
        raise UserError(
            f"the password must have at least {PASSWORD_MIN_LENGTH} characters",
            "password_too_short",
            "password",
        )
    if problem:
        raise UserError(
            "the password is one of the most common ones (or the user name): choose another",
            "password_common",
            "password",
        )


def list_users() -> list[User]:
    """Return every user, by user name."""
    return list(db.session.scalars(db.select(User).order_by(User.username)))


def live_token_counts() -> dict[int, int]:
    """Return, per user id, how many of their tokens are neither revoked nor expired."""
    now = utcnow()
    rows = db.session.execute(
        db.select(ApiToken.user_id, db.func.count(ApiToken.id))
        .where(
            ApiToken.revoked_at.is_(None),
            db.or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now),
        )
        .group_by(ApiToken.user_id)
    )
    return {user_id: count for user_id, count in rows}


def municipality_names() -> dict[int, str]:
    """Return the name of every municipality by id (the roster owns the table)."""
    table = db.metadata.tables["municipalities"]
    return dict(db.session.execute(db.select(table.c.id, table.c.name)).all())


def change_password(user: User, password: str, actor: User | None = None) -> None:
    """Set a new password and end every session the user has."""
    _check_password(password, user.username)
    user.set_password(password)
    user.end_sessions()
    record_event("user", user.id, "user.password-changed", **_actor(actor))
    log.info("changed the password of user %s", user.username)


def deactivate_user(user: User, actor: User | None = None) -> None:
    """Stop a user signing in or using tokens, and end their sessions now."""
    if actor is not None and actor.id == user.id:
        raise UserError("an administrator cannot deactivate their own account", "own_account")
    user.active = False
    user.end_sessions()
    record_event("user", user.id, "user.deactivated", **_actor(actor))
    log.info("deactivated user %s", user.username)


def reactivate_user(user: User, actor: User | None = None) -> None:
    """Let a deactivated user sign in again (their old sessions stay ended)."""
    user.active = True
    record_event("user", user.id, "user.reactivated", **_actor(actor))
    log.info("reactivated user %s", user.username)


def create_token(
    user: User,
    days: int | None = TOKEN_LIFETIME_DAYS,
    label: str = "",
    actor: User | None = None,
) -> tuple[ApiToken, str]:
    """Create a bearer token valid for `days` (None: no expiry); return its row and the secret."""
    if days is not None and not 1 <= days <= TOKEN_MAX_DAYS:
        raise UserError(f"days must be from 1 to {TOKEN_MAX_DAYS}", "invalid", "days")
    if len(label) > TOKEN_LABEL_LENGTH:
        raise UserError(f"the name is longer than {TOKEN_LABEL_LENGTH}", "invalid", "name")
    token = ApiToken.generate()
    expires_at = utcnow() + timedelta(days=days) if days else None
    row = ApiToken(
        user=user, token_hash=ApiToken.hash(token), expires_at=expires_at, label=label.strip()
    )
    db.session.add(row)
    db.session.flush()
    record_event("user", user.id, "token.issued", {"days": days, "token": row.id}, **_actor(actor))
    log.info("issued token %s to user %s", row.id, user.username)
    return row, token


def issue_token(user: User, days: int | None = TOKEN_LIFETIME_DAYS) -> str:
    """Create a bearer token valid for `days` (None: no expiry); return it, keeping its hash."""
    return create_token(user, days)[1]


def tokens_of(user: User) -> list[ApiToken]:
    """Return the user's tokens, newest first."""
    return list(
        db.session.scalars(
            db.select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
        )
    )


def revoke_token(token_id: int, actor: User | None = None) -> ApiToken:
    """Refuse a token from now on; `UserError` when there is no such token."""
    row = db.session.get(ApiToken, token_id)
    if row is None:
        raise UserError(f"no token {token_id}", "not_found")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        record_event("user", row.user_id, "token.revoked", {"token": row.id}, **_actor(actor))
        log.info("revoked token %s of user %s", row.id, row.user.username)
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
