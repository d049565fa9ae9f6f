"""The JSON API blueprint: bearer tokens, the error format, declared operations and OpenAPI.

Every view of the blueprint declares its operation with `@operation(...)` right above the
function (below `token_required`): summary, parameters, request and response schemas as
JSON Schema dicts kept beside the view. The declaration checks the request against them
(400 with the failing field) and the OpenAPI 3.1 document is assembled from these
declarations and the app's URL map, so the document cannot miss a route.
"""

import base64
import binascii
import copy
import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import wraps

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    g,
    jsonify,
    render_template,
    request,
)
from flask_babel import gettext
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from core.extensions import csrf, db
from core.models import ApiToken, IdempotencyKey
from core.parsing import INT_MAX, parse_int
from core.users import user_for_token

api = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(api)

API_VERSION = "1.0.0"
IDEMPOTENCY_HEADER = "Idempotency-Key"
_CONVERTER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


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
    return error_response(status, code, error.description or code.replace("_", " "))


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


# --- schemas --------------------------------------------------------------------------------

#: Free text the API accepts: no NUL characters (no database stores them).
TEXT_PATTERN = "^[^\\u0000]*$"
#: Half of a UTF-16 pair: JSON can escape one alone, but it is no character and UTF-8 refuses it.
_SURROGATE = re.compile("[\ud800-\udfff]")


def text(max_length: int, min_length: int = 0, **extra) -> dict:
    """Return the schema of a free-text string."""
    schema = {"type": "string", "maxLength": max_length, "pattern": TEXT_PATTERN, **extra}
    if min_length:
        schema["minLength"] = min_length
    return schema


def nullable(schema: dict) -> dict:
    """Return the schema allowing null as well."""
    kind = schema.get("type")
    if isinstance(kind, str):
        return {**schema, "type": [kind, "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


def obj(properties: dict, required: list[str] | None = None, closed: bool = True) -> dict:
    """Return the schema of an object; `closed` refuses unknown properties."""
    schema = {"type": "object", "properties": properties}
    if required is None:
        required = list(properties)
    if required:
        schema["required"] = required
    if closed:
        schema["additionalProperties"] = False
    return schema


DATETIME = {"type": "string", "format": "date-time"}
NULLABLE_DATETIME = {"type": ["string", "null"], "format": "date-time"}
ERROR_SCHEMA = obj(
    {
        "error": obj(
            {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "field": {"type": ["string", "null"]},
            }
        )
    }
)


def check_value(schema: dict, value, path: str) -> None:
    """Raise ApiError(400) naming the field when the value breaks the schema (the subset used)."""
    kinds = schema.get("type")
    if kinds is not None:
        kinds = [kinds] if isinstance(kinds, str) else kinds
        if not any(_is_kind(value, kind) for kind in kinds):
            raise ApiError(400, "invalid", f"{path or 'body'} must be {' or '.join(kinds)}", path)
    if "anyOf" in schema:
        for option in schema["anyOf"]:
            try:
                check_value(option, value, path)
                break
            except ApiError:
                continue
        else:
            raise ApiError(400, "invalid", f"{path} has a wrong type", path)
    if value is None:
        return
    if "enum" in schema and value not in schema["enum"]:
        allowed = ", ".join(str(item) for item in schema["enum"] if item is not None)
        raise ApiError(400, "invalid", f"{path} must be one of: {allowed}", path)
    if isinstance(value, str):
        _check_string(schema, value, path)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if isinstance(value, float) and not math.isfinite(value):  # JSON's NaN and 1e999
            raise ApiError(400, "invalid", f"{path} must be a finite number", path)
        if "minimum" in schema and value < schema["minimum"]:
            raise ApiError(400, "invalid", f"{path} must be at least {schema['minimum']}", path)
        if "maximum" in schema and value > schema["maximum"]:
            raise ApiError(400, "invalid", f"{path} must be at most {schema['maximum']}", path)
    elif isinstance(value, dict):
        _check_object(schema, value, path)
    elif isinstance(value, list):
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            raise ApiError(400, "invalid", f"{path} has too many items", path)
        for index, item in enumerate(value):
            check_value(schema.get("items", {}), item, f"{path}[{index}]")


def _is_kind(value, kind: str) -> bool:
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    types = {"string": str, "boolean": bool, "object": dict, "array": list}
    return value is None if kind == "null" else isinstance(value, types[kind])


def _check_string(schema: dict, value: str, path: str) -> None:
    if _SURROGATE.search(value):
        raise ApiError(400, "invalid", f"{path or 'body'} holds a lone surrogate, not text", path)
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        raise ApiError(400, "invalid", f"{path} is longer than {schema['maxLength']}", path)
    if "minLength" in schema and len(value) < schema["minLength"]:
        raise ApiError(400, "invalid", f"{path} is too short", path)
    if "pattern" in schema and not re.search(schema["pattern"], value):
        raise ApiError(400, "invalid", f"{path} has a wrong form", path)
    if schema.get("format") == "date-time":
        parse_time(value, path)
    if schema.get("format") == "date" and not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise ApiError(400, "invalid", f"{path} must be a date YYYY-MM-DD", path)


def _check_object(schema: dict, value: dict, path: str) -> None:
    properties = schema.get("properties", {})
    for name in schema.get("required", []):
        if name not in value:
            raise ApiError(400, "invalid", f"{name} is required", _join(path, name))
    for name, item in value.items():
        if name in properties:
            check_value(properties[name], item, _join(path, name))
        elif schema.get("additionalProperties") is False:
            raise ApiError(400, "invalid", f"unknown field {name}", _join(path, name))


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def parse_time(raw: str, name: str) -> datetime:
    """Parse an RFC 3339 time with its offset (ApiError 400 otherwise)."""
    if not re.fullmatch(
        r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d(:\d\d(\.\d+)?)?([Zz]|[+-]\d\d:\d\d)", raw, re.ASCII
    ):
        raise ApiError(400, "invalid", f"{name} must be an RFC 3339 time with offset", name)
    try:
        moment = datetime.fromisoformat(raw.upper().replace("Z", "+00:00"))
    except ValueError as error:
        raise ApiError(400, "invalid", f"{name} is not a real time", name) from error
    if not 1900 <= moment.year <= 2200:
        raise ApiError(400, "invalid", f"{name} must fall in the years 1900–2200", name)
    return moment


# --- declared operations --------------------------------------------------------------------


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
                return _idempotent_call(view, args, kwargs)
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


def _json_body():
    """Return the request's JSON body, or None when there is none or it cannot be read."""
    try:
        return request.get_json(silent=True)
    except RecursionError:  # nested deeper than the parser goes
        return None


def _checked_body(schema: dict):
    body = _json_body()
    if body is None:
        raise ApiError(400, "invalid", "send a JSON body with Content-Type application/json")
    check_value(schema, body, "")
    return body


def _fingerprint() -> str:
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode())
    body = _json_body()
    if body is not None:
        digest.update(json.dumps(body, sort_keys=True, ensure_ascii=False).encode())
    else:
        digest.update(request.get_data())
    return digest.hexdigest()


def _idempotent_call(view, args, kwargs):
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


# --- cursors --------------------------------------------------------------------------------


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


# --- the document ---------------------------------------------------------------------------

_ERROR_TEXT = {
    400: "The request is malformed or breaks the schema",
    401: "No valid bearer token",
    403: "The token's role or municipality may not do this",
    404: "No such record (or not visible to this token)",
    409: "Conflict with the current state or a reused Idempotency-Key",
    422: "Understood but refused by the rules",
}


def build_document(app: Flask) -> dict:
    """Assemble the OpenAPI 3.1 document from the declared operations and the URL map."""
    paths: dict[str, dict] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith(api.url_prefix + "/"):
            continue
        view = app.view_functions[rule.endpoint]
        spec: Operation | None = getattr(view, "openapi", None)
        if spec is None:  # listed all the same, marked, so the document never misses a route
            spec = Operation((view.__doc__ or rule.endpoint).strip().split("\n")[0], "undeclared")
        path = _CONVERTER.sub(lambda m: "{" + m.group(2) + "}", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation_document(
                rule, view, spec, method
            )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Hotline API",
            "version": API_VERSION,
            "description": (
                "The governor's hotline: appeals from every channel, 'you were called' cards, "
                "municipalities, categories and duty rosters. Authenticate with "
                "`Authorization: Bearer <token>` (`flask --app wsgi users token NAME`). "
                "Officials' and heads' tokens see only their own municipality."
            ),
        },
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": {"Error": ERROR_SCHEMA},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _operation_document(rule, view, spec: Operation, method: str) -> dict:
    roles = getattr(view, "api_roles", None)
    description = (view.__doc__ or "").strip()
    if roles and roles != ("any",):
        description += f"\n\nRoles: {', '.join(roles)}."
    document = {
        "operationId": f"{method.lower()}_{rule.endpoint.split('.', 1)[-1]}",
        **({"x-undeclared": True} if spec.tag == "undeclared" else {}),
        "summary": spec.summary,
        "description": description,
        "tags": [spec.tag],
        "parameters": _parameters(rule, spec),
        "responses": {},
    }
    if spec.body is not None:
        document["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": spec.body}},
        }
    statuses = set(spec.errors)
    if spec.params or spec.body is not None or spec.idempotent:
        statuses.add(400)
    if rule.arguments:
        statuses.add(404)
    if roles:
        statuses |= {401} | ({403} if roles != ("any",) else set())
        document["security"] = [{"bearer": []}]
    elif spec.public:
        document["security"] = []
    if spec.idempotent:
        statuses.add(409)
        document["parameters"].append(
            {
                "name": IDEMPOTENCY_HEADER,
                "in": "header",
                "required": False,
                "description": "Repeat the POST safely: the same key and body replay the first "
                "answer; the same key with another body is a 409.",
                "schema": {"type": "string", "minLength": 1, "maxLength": 200},
            }
        )
    for status, (text_, schema, *mimetype) in spec.responses.items():
        document["responses"][str(status)] = {
            "description": text_,
            "content": {(mimetype or ["application/json"])[0]: {"schema": schema}},
        }
    for status in sorted(statuses):
        document["responses"][str(status)] = {
            "description": _ERROR_TEXT[status],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    return document


def _parameters(rule, spec: Operation) -> list[dict]:
    declared = {p.name: p for p in spec.params if p.location == "path"}
    parameters = []
    for converter, name in _CONVERTER.findall(rule.rule):
        if name in declared:
            schema = declared[name].schema
        elif converter == "int":
            schema = {"type": "integer", "minimum": 0, "maximum": INT_MAX}
        else:
            schema = {"type": "string", "minLength": 1, "pattern": "^[^/\\u0000]+$"}
        parameters.append(
            {
                "name": name,
                "in": "path",
                "required": True,
                "description": declared[name].description if name in declared else "",
                "schema": schema,
            }
        )
    for param in spec.params:
        if param.location == "query":
            parameters.append(
                {
                    "name": param.name,
                    "in": "query",
                    "required": param.required,
                    "description": param.description,
                    "schema": param.schema,
                }
            )
    return parameters


ME_SCHEMA = obj(
    {
        "username": {"type": "string"},
        "role": {"type": "string", "enum": ["operator", "official", "head", "manager", "admin"]},
        "municipality_id": {"type": ["integer", "null"]},
    }
)


@api.get("/me")
@token_required()
@operation("The token's user", tag="accounts", responses={200: ("The user", ME_SCHEMA)})
def me():
    """Return the user the token belongs to."""
    user = g.api_user
    return jsonify(username=user.username, role=user.role, municipality_id=user.municipality_id)


@api.get("/openapi.json")
@operation(
    "This OpenAPI document",
    tag="documentation",
    public=True,
    responses={200: ("OpenAPI 3.1 document", {"type": "object"})},
)
def openapi_document():
    """Return the OpenAPI 3.1 document of the API, built from the code."""
    return jsonify(build_document(current_app))


@api.get("/docs")
@operation(
    "Readable documentation",
    tag="documentation",
    public=True,
    responses={200: ("HTML page", {"type": "string"}, "text/html")},
)
def docs():
    """Show the operations of the API as a readable page."""
    document = _readable(build_document(current_app))
    places = {
        "query": gettext("query string"),
        "path": gettext("path"),
        "header": gettext("header"),
    }
    html = render_template("core/api_docs.html", document=document, parameter_places=places)
    return Response(html, mimetype="text/html")


def _readable(document: dict) -> dict:
    """Return a copy of the document with the texts the docs page shows in the page's language."""
    document = copy.deepcopy(document)
    info = document["info"]
    info["title"], info["description"] = _say(info["title"]), _say(info["description"])
    for methods in document["paths"].values():
        for op in methods.values():
            op["summary"] = _say(op["summary"])
            op["description"] = [_paragraph(text) for text in op["description"].split("\n\n")]
            for param in op["parameters"]:
                param["description"] = _say(param["description"])
            for answer in op["responses"].values():
                answer["description"] = _say(answer["description"])
    return document


def _say(text: str) -> str:
    """Return a text of the document translated (its English words when the catalog lacks it)."""
    return gettext(text) if text else ""


def _paragraph(text: str) -> str:
    if text.startswith("Roles: "):
        return gettext("Roles: %(roles)s.", roles=text.removeprefix("Roles: ").rstrip("."))
    return _say(text)
