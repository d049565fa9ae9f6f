"""The access journal: who saw or downloaded citizens' personal data, when, from where and why."""

from datetime import datetime

from flask import Flask, g, has_request_context, request
from flask_login import current_user

from core.contacts import normalize_phone
from core.extensions import db
from core.models import RETENTION_PURGE, AccessEntry
from core.users import UserError

#: What the journal's `kind` names.
KINDS = ("card", "appeal", "caller", "recording", "photo", "export", "search")
#: The journal's columns in its CSV/XLSX export, in order.
EXPORT_HEADERS = (
    "at",
    "username",
    "role",
    "municipality_id",
    "address",
    "kind",
    "subject_id",
    "phone",
    "detail",
)


def _viewer():
    """Return the user the request acts for: the API token's, else the signed-in one."""
    user = g.get("api_user")
    if user is not None:
        return user
    return current_user if current_user.is_authenticated else None


def _person(phone: str | None) -> str | None:
    """Return the citizen's number in E.164 when it parses, else as given (None when empty)."""
    try:
        return (normalize_phone(phone) or phone or None) and (normalize_phone(phone) or phone)[:20]
    except UserError:
        return phone.strip()[:20] or None


def record_access(kind: str, object_id=None, person_phone: str | None = None, detail=None) -> None:
    """Journal one view or download by the current user; written with the request's transaction."""
    user = _viewer()
    entry = AccessEntry(
        user_id=user.id if user else None,
        username=user.username if user else "",
        role=user.role if user else "",
        municipality_id=user.municipality_id if user else None,
        address=(request.remote_addr or "")[:64] if has_request_context() else "",
        kind=kind,
        subject_id="" if object_id is None else str(object_id)[:64],
        phone=_person(person_phone),
        detail={"endpoint": request.endpoint if has_request_context() else None, **(detail or {})},
    )
    db.session.add(entry)
    g.journal_pending = True


def _commit_journal(response):
    """At the end of a request that journaled a view, commit what the view did not."""
    if g.pop("journal_pending", False):
        if response.status_code < 400:
            db.session.commit()
        else:
            db.session.rollback()
    return response


def journal_query(
    username: str = "", phone: str | None = None, since=None, until=None, before_id=None
):
    """Return the select of entries by user name, citizen's phone and period, newest first."""
    query = db.select(AccessEntry)
    if before_id is not None:
        query = query.where(AccessEntry.id < before_id)
    if username:
        query = query.where(AccessEntry.username == username)
    if phone:
        query = query.where(AccessEntry.phone == phone)
    if since is not None:
        query = query.where(AccessEntry.at >= since)
    if until is not None:
        query = query.where(AccessEntry.at < until)
    return query.order_by(AccessEntry.id.desc())


def parse_person(raw: str | None) -> str | None:
    """Return a phone number to filter by in E.164 (None when empty); `UserError` when invalid."""
    return normalize_phone(raw)


def entry_as_dict(entry: AccessEntry) -> dict:
    """Return an entry as the API answers it."""
    return {
        "id": entry.id,
        "at": entry.at.isoformat(),
        "user_id": entry.user_id,
        "username": entry.username,
        "role": entry.role,
        "municipality_id": entry.municipality_id,
        "address": entry.address,
        "kind": entry.kind,
        "subject_id": entry.subject_id,
        "phone": entry.phone,
        "detail": entry.detail or {},
    }


def export_rows(entries) -> list[tuple]:
    """Return the entries as rows for `core.spreadsheets` under `EXPORT_HEADERS`."""
    return [
        (
            entry.at.replace(tzinfo=None),
            entry.username,
            entry.role,
            entry.municipality_id,
            entry.address,
            entry.kind,
            entry.subject_id,
            entry.phone,
            ", ".join(f"{key}={value}" for key, value in (entry.detail or {}).items()),
        )
        for entry in entries
    ]


def purge_journal(cutoff: datetime) -> int:
    """Delete journal entries older than the cutoff, the one delete the guard lets by."""
    result = db.session.execute(
        db.delete(AccessEntry).where(AccessEntry.at < cutoff),
        execution_options={RETENTION_PURGE: True},
    )
    return result.rowcount or 0


def init_app(app: Flask) -> None:
    from core.retention import add_purger

    app.after_request(_commit_journal)
    add_purger(app, "access journal entries", purge_journal, "ACCESS_JOURNAL_RETENTION_DAYS")
