"""The API blueprint itself: its URL prefix, its error handlers and the bearer-token check."""

from functools import wraps

from flask import Blueprint, g, request
from werkzeug.exceptions import HTTPException

from core.api.errors import ApiError, error_response, http_error_response
from core.extensions import csrf, db
from core.models import ApiToken
from core.users import user_for_token

api = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(api)


def is_api_request() -> bool:
    """Whether the request is for the JSON API, whose errors are answered in its format."""
    return request.path == api.url_prefix or request.path.startswith(api.url_prefix + "/")


@api.errorhandler(ApiError)
def _api_error(error: ApiError):
    return error_response(error.status, error.code, error.message, error.field)


api.register_error_handler(HTTPException, http_error_response)


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
            if db.session.dirty:
                db.session.commit()  # keeps last_used_at
            g.api_user, g.api_token_hash = user, ApiToken.hash(token.strip())
            return view(*args, **kwargs)

        wrapped.api_roles = roles or ("any",)
        return wrapped

    return decorator
