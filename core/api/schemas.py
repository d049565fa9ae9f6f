"""JSON Schema builders for the declared operations and the check of a value against them."""

import math
import re
from datetime import datetime

from core.api.errors import ApiError

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
