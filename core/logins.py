"""Signing in: passwords that resist guessing and accounts that resist a guessing storm.

Failed sign-ins are counted per account, from any address: after a few, each next try waits a
growing delay; after `LOGIN_LOCK_AFTER` the account is locked for `LOGIN_LOCK_MINUTES`. A try
made while the account waits counts as a failure too, so a storm locks it quickly.
"""

import functools
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app

from config import FREE_FAILURES
from core.clock import utcnow
from core.models import User
from core.queue import redis_connection

#: The longest wait between two tries before the account is locked.
LONGEST_DELAY = timedelta(minutes=1)
#: The shortest password accepted.
PASSWORD_MIN_LENGTH = 8


@functools.cache
def common_passwords() -> frozenset[str]:
    """Return the list of common passwords that are refused, in lower case."""
    text = (Path(__file__).with_name("common_passwords.txt")).read_text(encoding="utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and line[0] != "#"
    )


def password_problem(password: str, username: str = "") -> str | None:
    """Return why a password is refused (`too_short`, `common`), or None when it is good."""
    if len(password) < PASSWORD_MIN_LENGTH:
        return "too_short"
    lowered = password.lower()
    if lowered in common_passwords() or len(set(lowered)) < 3:
        return "common"
    if username and lowered.strip() == username.strip().lower():
        return "common"
    return None


def blocked_until(user: User | None, now: datetime | None = None) -> datetime | None:
    """Return until when the account takes no sign-in, or None when it takes one now."""
    if user is None or user.login_blocked_until is None:
        return None
    return user.login_blocked_until if user.login_blocked_until > (now or utcnow()) else None


def is_locked(user: User) -> bool:
    """Return whether the account is locked (as opposed to waiting a short delay)."""
    return (user.failed_logins or 0) >= current_app.config["LOGIN_LOCK_AFTER"]


def note_failed_login(user: User, now: datetime | None = None) -> None:
    """Count a failed sign-in and make the next one wait: longer each time, then a lock."""
    now = now or utcnow()
    user.failed_logins = (user.failed_logins or 0) + 1
    if user.failed_logins >= current_app.config["LOGIN_LOCK_AFTER"]:
        user.login_blocked_until = now + timedelta(minutes=current_app.config["LOGIN_LOCK_MINUTES"])
    elif user.failed_logins >= FREE_FAILURES:
        delay = timedelta(seconds=2 ** (user.failed_logins - FREE_FAILURES))
        user.login_blocked_until = now + min(delay, LONGEST_DELAY)


def note_successful_login(user: User) -> None:
    """Forget the failed sign-ins of an account that has just signed in."""
    user.failed_logins = 0
    user.login_blocked_until = None


#: The Redis key of the failures counted against a user name that names no account.
STAND_IN_KEY = "login-stand-in:"


def _stand_in_key(username: str) -> str:
    return STAND_IN_KEY + username.strip().lower()[:64]


def account_or_stand_in(username: str, user: User | None) -> User:
    """Return the account, or an unsaved stand-in whose failures are counted in Redis.

    An unknown name is refused, delayed and locked exactly like a real account, so the
    answers of the sign-in page never tell whether an account exists.
    """
    if user is not None:
        return user
    saved = redis_connection().hgetall(_stand_in_key(username))
    stand_in = User(username=username, failed_logins=int(saved.get(b"failed", 0)))
    if saved.get(b"until"):
        stand_in.login_blocked_until = datetime.fromisoformat(saved[b"until"].decode())
    return stand_in


def save_stand_in(stand_in: User) -> None:
    """Keep a stand-in's failures for as long as a real account's lock would last."""
    key = _stand_in_key(stand_in.username)
    values = {"failed": stand_in.failed_logins or 0}
    if stand_in.login_blocked_until is not None:
        values["until"] = stand_in.login_blocked_until.isoformat()
    pipe = redis_connection().pipeline()
    pipe.hset(key, mapping=values)
    pipe.expire(key, timedelta(minutes=current_app.config["LOGIN_LOCK_MINUTES"]))
    pipe.execute()


def unlock_account(user: User) -> None:
    """Let a locked account sign in again at once (the administrator's action)."""
    note_successful_login(user)
