"""Idempotency-Key handling: a POST runs once per key and user, a repeat replays its answer."""

import hashlib
import json
from datetime import datetime

from flask import current_app, g, jsonify, request
from sqlalchemy.exc import IntegrityError

from core.api.errors import ApiError
from core.extensions import db
from core.models import IdempotencyKey

IDEMPOTENCY_HEADER = "Idempotency-Key"


def json_body():
    """Return the request's JSON body, or None when there is none or it cannot be read."""
    try:
        return request.get_json(silent=True)
    except RecursionError:  # nested deeper than the parser goes
        return None


def _fingerprint() -> str:
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode())
    body = json_body()
    if body is not None:
        digest.update(json.dumps(body, sort_keys=True, ensure_ascii=False).encode())
    else:
        digest.update(request.get_data())
    return digest.hexdigest()


def idempotent_call(view, args, kwargs):
    """Run a POST once per key and user; a repeat with the same body replays the answer."""
    key = request.headers[IDEMPOTENCY_HEADER]
    if not 1 <= len(key) <= 200:
        raise ApiError(400, "invalid", "Idempotency-Key has 1 to 200 characters", "Idempotency-Key")
    user, fingerprint = g.api_user, _fingerprint()
    row = db.session.scalar(
        db.select(IdempotencyKey).where(
            IdempotencyKey.user_id == user.id, IdempotencyKey.key == key
        )
    )
    if row is None:
        row = IdempotencyKey(user_id=user.id, key=key, fingerprint=fingerprint)
        try:
            with db.session.begin_nested():
                db.session.add(row)
        except IntegrityError:  # a concurrent request with the same key got there first
            db.session.rollback()
            row = db.session.scalar(
                db.select(IdempotencyKey).where(
                    IdempotencyKey.user_id == user.id, IdempotencyKey.key == key
                )
            )
        else:
            row_id = row.id
            try:
                response = current_app.make_response(view(*args, **kwargs))
            except Exception:
                _free_key(row_id)
                raise
            if 200 <= response.status_code < 300 and response.is_json:
                row.status_code, row.response = response.status_code, response.get_json()
                db.session.commit()
            else:
                _free_key(row_id)
            return response
    if row.fingerprint != fingerprint:
        raise ApiError(
            409, "idempotency_key_reused", "this Idempotency-Key came with another request"
        )
    if row.status_code is None:
        raise ApiError(409, "in_progress", "a request with this Idempotency-Key is in progress")
    replay = jsonify(row.response)
    replay.status_code = row.status_code
    replay.headers["Idempotent-Replayed"] = "true"
    return replay


def _free_key(row_id: int) -> None:
    """Forget a key whose request did nothing: only answers that did something are replayed."""
    db.session.rollback()
    db.session.execute(db.delete(IdempotencyKey).where(IdempotencyKey.id == row_id))
    db.session.commit()


def purge_idempotency_keys(cutoff: datetime) -> int:
    """Forget the keys first sent before the cutoff (a repeat then runs anew); return how many."""
    stmt = db.delete(IdempotencyKey).where(IdempotencyKey.created_at < cutoff)
    return db.session.execute(stmt).rowcount
