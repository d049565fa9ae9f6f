"""Opaque cursors of the API's listings."""

import base64
import binascii
import json

from core.api.errors import ApiError


def encode_cursor(position: dict) -> str:
    """Return an opaque cursor for a position in a listing."""
    raw = json.dumps(position, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, keys: tuple[str, ...]) -> dict:
    """Return the position a cursor names (ApiError 400 for a cursor this API did not make)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        position = json.loads(raw)
    except (binascii.Error, ValueError) as error:
        raise ApiError(400, "invalid", "cursor is not one this API returned", "cursor") from error
    if not isinstance(position, dict) or set(position) != set(keys):
        raise ApiError(400, "invalid", "cursor is not one this API returned", "cursor")
    return position
