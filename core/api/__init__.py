"""The JSON API: bearer tokens, the error format, declared operations and OpenAPI.

Every view of the blueprint declares its operation with `@operation(...)` right above the
function (below `token_required`): summary, parameters, request and response schemas as
JSON Schema dicts kept beside the view. The declaration checks the request against them
(400 with the failing field) and the OpenAPI 3.1 document is assembled from these
declarations and the app's URL map, so the document cannot miss a route.

What lives where: `errors` the `ApiError` and the `{"error": ...}` answers; `blueprint` the
`api` blueprint, its error handlers and `token_required`; `schemas` the JSON Schema builders
and the check of a value; `operations` `@operation` and the request parsing it does;
`idempotency` the Idempotency-Key replay and its purge; `cursors` the listings' cursors;
`openapi` the document and its two views; `users` the token's user and the admin's user and
token routes.
"""

from core.api import audit, openapi, users  # noqa: F401  (register their routes on the blueprint)
from core.api.blueprint import api, is_api_request, token_required
from core.api.cursors import decode_cursor, encode_cursor
from core.api.errors import HTTP_ERROR_CODES, ApiError, error_response, http_error_response
from core.api.idempotency import IDEMPOTENCY_HEADER, purge_idempotency_keys
from core.api.openapi import API_VERSION, build_document
from core.api.operations import Operation, Param, operation, path_param, query
from core.api.schemas import (
    DATETIME,
    ERROR_SCHEMA,
    NULLABLE_DATETIME,
    TEXT_PATTERN,
    check_value,
    nullable,
    obj,
    parse_time,
    text,
)
from core.parsing import INT_MAX

__all__ = [
    "API_VERSION",
    "DATETIME",
    "ERROR_SCHEMA",
    "HTTP_ERROR_CODES",
    "IDEMPOTENCY_HEADER",
    "INT_MAX",
    "NULLABLE_DATETIME",
    "TEXT_PATTERN",
    "ApiError",
    "Operation",
    "Param",
    "api",
    "build_document",
    "check_value",
    "decode_cursor",
    "encode_cursor",
    "error_response",
    "http_error_response",
    "is_api_request",
    "nullable",
    "obj",
    "operation",
    "parse_time",
    "path_param",
    "purge_idempotency_keys",
    "query",
    "text",
    "token_required",
]
