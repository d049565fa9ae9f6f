"""The API's error format: the exception views raise and the answers it becomes."""

from flask import jsonify
from werkzeug.exceptions import HTTPException


class ApiError(Exception):
    """An error answered as `{"error": {"code", "message", "field"}}`."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


#: The error code of an HTTP status answered without a more specific reason; other statuses
#: take werkzeug's English name (415 → unsupported_media_type).
HTTP_ERROR_CODES = {
    400: "invalid",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    429: "too_many_requests",
    500: "internal_error",
}


def error_response(status: int, code: str, message: str, field: str | None = None):
    """Answer `{"error": {"code", "message", "field"}}` with the status."""
    body = {"error": {"code": code, "message": message, "field": field}}
    return jsonify(body), status


def http_error_response(error: HTTPException):
    """Answer an HTTP error (unknown path, wrong method, a failure) in the API's error format."""
    status = error.code or 500
    if status >= 500:
        return error_response(status, "internal_error", "the server failed; try again later")
    code = HTTP_ERROR_CODES.get(status) or (error.name or "error").lower().replace(" ", "_")
    body, status = error_response(status, code, error.description or code.replace("_", " "))
    # the error's own headers stay: `Allow` of a 405, `Retry-After` of a 429
    kept = [(name, value) for name, value in error.get_headers() if name.lower() != "content-type"]
    return body, status, kept
