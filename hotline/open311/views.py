"""Open311 GeoReport v2 endpoints at /open311/v2, in JSON and XML."""

import re
from xml.etree.ElementTree import Element, SubElement, tostring

from flask import Blueprint, Response, json, request, url_for

from core.extensions import csrf, db
from core.urls import public_url
from hotline.open311 import documents, services
from hotline.open311.services import Open311Error, RequestForm

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")
csrf.exempt(bp)

FORMAT = "<any(json, xml):fmt>"
#: The element of each item in a list, by the list's element (the spec's XML).
_ITEM_TAGS = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "errors": "error",
}
_ATTRIBUTE = re.compile(r"^attribute\[([^\]]+)\](\[\])?$")
#: Characters XML 1.0 cannot carry at all; text stored before Open311 refused them (or typed in
#: another channel) is written with U+FFFD in their place, so the document always parses.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_value(parent: Element, tag: str, value) -> None:
    node = SubElement(parent, tag)
    if isinstance(value, dict):
        for key, item in value.items():
            _xml_value(node, key, item)
    elif isinstance(value, list):
        for item in value:
            _xml_value(node, _ITEM_TAGS.get(tag, "item"), item)
    elif isinstance(value, bool):
        node.text = "true" if value else "false"
    elif value is not None:
        node.text = NOT_XML.sub("\ufffd", str(value))


def render(data, fmt: str, root: str, status: int = 200) -> Response:
    """Answer a list or object as JSON, or as the spec's XML under `root`."""
    if fmt == "json":
        body = json.dumps(data, ensure_ascii=False)
        return Response(body, status=status, mimetype="application/json")
    document = Element(root)
    if isinstance(data, list):
        for item in data:
            _xml_value(document, _ITEM_TAGS[root], item)
    else:
        for key, value in data.items():
            _xml_value(document, key, value)
    # a carriage return is kept as a reference: a parser would read a literal one as a line feed
    body = tostring(document, encoding="unicode").replace("\r", "&#13;")
    xml = b'<?xml version="1.0" encoding="utf-8"?>' + body.encode()
    return Response(xml, status=status, mimetype="text/xml")


@bp.errorhandler(Open311Error)
def _open311_error(error: Open311Error):
    fmt = request.view_args.get("fmt", "json") if request.view_args else "json"
    return render(
        [{"code": error.status, "description": error.description}], fmt, "errors", error.status
    )


@bp.get(f"/discovery.{FORMAT}")
def discovery(fmt: str):
    """Describe this Open311 endpoint: specification, URL, formats."""
    base = public_url(url_for("open311.discovery", fmt="json"))
    data = {
        "changeset": "2026-11-22T00:00:00Z",
        "contact": "Горячая линия губернатора Тульской области",
        "key_service": "API keys are issued by the hotline's administrators",
        "endpoints": [
            {
                "specification": "http://wiki.open311.org/GeoReport_v2",
                "url": base.rsplit("/", 1)[0],
                "changeset": "2026-11-22T00:00:00Z",
                "type": "production",
                "formats": ["application/json", "text/xml"],
            }
        ],
    }
    return render(data, fmt, "discovery")


@bp.get(f"/services.{FORMAT}")
def list_services(fmt: str):
    """List the services: the hotline's categories."""
    return render(
        [documents.service_as_dict(c) for c in services.list_categories()], fmt, "services"
    )


@bp.get(f"/services/<code>.{FORMAT}")
def service_definition(code: str, fmt: str):
    """Return a service definition: the extra attributes its category asks."""
    category = services.find_category(code)
    if category is None:
        raise Open311Error(404, f"service_code {code!r} is not a service here")
    return render(documents.service_definition(category), fmt, "service_definition")


def _form() -> RequestForm:
    values = request.form
    attributes = {}
    for name in values:
        match = _ATTRIBUTE.match(name)
        if match:
            items = values.getlist(name)
            attributes[match.group(1)] = items if match.group(2) else items[-1]
    names = [f for f in RequestForm.__dataclass_fields__ if f != "attributes"]
    return RequestForm(**{name: values.get(name) for name in names}, attributes=attributes)


@bp.post(f"/requests.{FORMAT}")
def create_request(fmt: str):
    """Register a service request as an appeal in the responsible municipality."""
    key = services.key_for(request.form.get("api_key"))
    db.session.commit()  # keeps last_used_at even when the request is refused
    try:
        appeal = services.create_request(key, _form())
    except Open311Error:
        db.session.rollback()
        raise
    db.session.commit()
    answer = [
        {
            "service_request_id": appeal.number,
            "service_notice": documents.service_notice(appeal),
            "account_id": request.form.get("account_id") or None,
        }
    ]
    return render(answer, fmt, "service_requests", 201)


@bp.get(f"/requests.{FORMAT}")
def list_requests(fmt: str):
    """List service requests by the spec's filters (the last 90 days by default)."""
    args = request.args
    if any("\x00" in value for value in args.values()):
        raise Open311Error(400, "parameters may not contain NUL")
    appeals = services.find_requests(
        service_request_id=args.get("service_request_id"),
        service_code=args.get("service_code"),
        start_date=args.get("start_date"),
        end_date=args.get("end_date"),
        status=args.get("status"),
    )
    return render(documents.requests_as_dicts(appeals), fmt, "service_requests")


@bp.get(f"/requests/<request_id>.{FORMAT}")
def get_request(request_id: str, fmt: str):
    """Return one service request (a list of one, as the spec has it)."""
    appeal = services.find_request(request_id)
    if appeal is None:
        raise Open311Error(404, f"service_request_id {request_id!r} is not found")
    return render(documents.requests_as_dicts([appeal]), fmt, "service_requests")
