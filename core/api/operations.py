"""Declared operations: a view's parameters, body and answers, checked before it runs."""

from dataclasses import dataclass, field
from functools import wraps

from flask import g, request

from core.api.errors import ApiError
from core.api.idempotency import IDEMPOTENCY_HEADER, idempotent_call, json_body
from core.api.schemas import check_value, parse_time
from core.parsing import INT_MAX, parse_int


@dataclass(frozen=True)
class Param:
    """A query or path parameter of an operation."""

    name: str
    schema: dict
    location: str = "query"
    required: bool = False
    description: str = ""


def query(name: str, schema: dict, description: str = "", required: bool = False) -> Param:
    """Declare a query parameter."""
    return Param(name, schema, "query", required, description)


def path_param(name: str, schema: dict, description: str = "") -> Param:
    """Declare a path parameter (its schema overrides the one read from the URL rule)."""
    return Param(name, schema, "path", True, description)


@dataclass
class Operation:
    """What a view declares about itself for validation and the OpenAPI document."""

    summary: str
    tag: str
    params: tuple[Param, ...] = ()
    body: dict | None = None
    responses: dict = field(default_factory=dict)
    errors: tuple[int, ...] = ()
    idempotent: bool = False
    public: bool = False


def operation(
    summary: str,
    *,
    tag: str,
    params: tuple[Param, ...] | list[Param] = (),
    body: dict | None = None,
    responses: dict | None = None,
    errors: tuple[int, ...] = (),
    idempotent: bool = False,
    public: bool = False,
):
    """Declare a view's operation; check its parameters and body before the view runs.

    `responses` maps a status to (description, schema). The checked values are in
    `g.api_args` (query parameters, converted) and `g.api_body` (the JSON body).
    `idempotent` honours an `Idempotency-Key` header on the POST.
    """
    spec = Operation(
        summary, tag, tuple(params), body, dict(responses or {}), errors, idempotent, public
    )

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            _check_path(kwargs)
            g.api_args = _checked_args(spec.params)
            if spec.body is not None:
                g.api_body = _checked_body(spec.body)
            if spec.idempotent and request.headers.get(IDEMPOTENCY_HEADER) is not None:
                return idempotent_call(view, args, kwargs)
            return view(*args, **kwargs)

        wrapped.openapi = spec
        return wrapped

    return decorator


def _check_path(values: dict) -> None:
    for name, value in values.items():
        if isinstance(value, int) and value > INT_MAX:
            raise ApiError(404, "not_found", f"no record with {name} {value}", name)
        if isinstance(value, str) and "\x00" in value:
            raise ApiError(404, "not_found", f"no record with this {name}", name)


def _checked_args(params: tuple[Param, ...]) -> dict:
    values = {}
    for param in params:
        if param.location != "query":
            continue
        raw = request.args.get(param.name)
        if raw == "":  # empty counts as absent only where the schema allows an empty string
            if param.schema.get("type") != "string":
                raise ApiError(400, "invalid", f"{param.name} is empty", param.name)
            check_value(param.schema, raw, param.name)
        if raw is None or raw == "":
            if param.required:
                raise ApiError(400, "invalid", f"{param.name} is required", param.name)
            values[param.name] = None
            continue
        values[param.name] = _convert(param, raw)
    for name, raw in request.args.items(multi=True):
        if "\x00" in name or "\x00" in raw:
            raise ApiError(400, "invalid", "parameters may not contain NUL", name)
    return values


def _convert(param: Param, raw: str):
    kind = param.schema.get("type")
    value = raw
    if kind == "integer":
        value = parse_int(raw.removeprefix("+"), INT_MAX, -INT_MAX)
        if value is None:
            raise ApiError(
                400, "invalid", f"{param.name} must be an integer up to {INT_MAX}", param.name
            )
    elif kind == "boolean":
        if raw not in ("true", "false"):
            raise ApiError(400, "invalid", f"{param.name} must be true or false", param.name)
        value = raw == "true"
    check_value(param.schema, value, param.name)
    if param.schema.get("format") == "date-time":
        return parse_time(value, param.name)
    return value


def _checked_body(schema: dict):
    body = json_body()
    if body is None:
        raise ApiError(400, "invalid", "send a JSON body with Content-Type application/json")
    check_value(schema, body, "")
    return body
