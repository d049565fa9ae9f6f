"""The JSON API blueprint: bearer-token authentication and the error format."""

from functools import wraps

from flask import Blueprint, g, jsonify, request
from werkzeug.exceptions import HTTPException

from core.extensions import csrf, db
from core.users import user_for_token

api = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(api)


class ApiError(Exception):
    """An error answered as `{"error": {"code", "message", "field"}}`."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


@api.errorhandler(ApiError)
def _api_error(error: ApiError):
    body = {"error": {"code": error.code, "message": error.message, "field": error.field}}
    return jsonify(body), error.status


@api.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    code = (error.name or "error").lower().replace(" ", "_")
    body = {"error": {"code": code, "message": error.description, "field": None}}
    return jsonify(body), error.code


def token_required(*roles: str):
    """Authenticate the bearer token; with roles given, allow only those roles."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            header = request.headers.get("Authorization", "")
            scheme, _, token = header.partition(" ")
            user = user_for_token(token.strip()) if scheme.lower() == "bearer" else None
            if user is None:
                raise ApiError(401, "unauthorized", "a valid bearer token is required")
            if roles and user.role not in roles:
                raise ApiError(403, "forbidden", f"role {user.role} may not use this endpoint")
            db.session.commit()  # keeps last_used_at
            g.api_user = user
            return view(*args, **kwargs)

        return wrapped

    return decorator


@api.get("/me")
@token_required()
def me():
    """Return the user the token belongs to."""
    user = g.api_user
    return jsonify(username=user.username, role=user.role, municipality_id=user.municipality_id)
