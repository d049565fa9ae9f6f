"""The OpenAPI 3.1 document built from the declared operations, and its two views."""

import copy
import re

from flask import Flask, Response, current_app, jsonify, render_template
from flask_babel import gettext

from core.api.blueprint import api
from core.api.idempotency import IDEMPOTENCY_HEADER
from core.api.operations import Operation, operation
from core.api.schemas import ERROR_SCHEMA
from core.parsing import INT_MAX

API_VERSION = "1.0.0"
_CONVERTER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")

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
