"""The missed-call report in the JSON API."""

from flask import g, jsonify, request

from core.api import ApiError, api, obj, operation, query, text, token_required
from reports import REPORT_ROLES, services
from roster.api import filtered_municipality

ERRORS = {
    "date": "give the date as YYYY-MM-DD",
    "order": "the period ends before it starts",
    "long": "a report covers at most 400 days",
    "channel": f"channel is one of {', '.join(services.CHANNELS)}",
}


FIGURES_SCHEMA = {"type": "object", "additionalProperties": {"type": ["number", "null"]}}
REPORT_SCHEMA = obj(
    {
        "period": obj({"from": {"type": "string"}, "to": {"type": "string"}}),
        "channel": {"type": ["string", "null"]},
        "municipalities": {
            "type": "array",
            "items": obj({"figures": FIGURES_SCHEMA}, closed=False),
        },
        "total": FIGURES_SCHEMA,
    }
)


def _figures(row: dict) -> dict:
    return {name: value for name, value in row.items() if name != "municipality"}


@api.get("/reports/missed-calls")
@token_required(*REPORT_ROLES)
@operation(
    "Missed-call report",
    tag="reports",
    params=[
        query("from", {"type": "string", "format": "date"}, "first day (default: last week)"),
        query("to", {"type": "string", "format": "date"}, "last day, inclusive"),
        query("channel", {"type": "string", "enum": list(services.CHANNELS)}),
        query("municipality", text(32), "municipality code"),
    ],
    responses={200: ("Figures per municipality and the total", REPORT_SCHEMA)},
    errors=(403, 404),
)
def missed_calls_report():
    """Return the missed-call report (per municipality and the total) for a period."""
    try:
        period, channel = services.parse_filters(request.args)
    except services.ReportError as error:
        raise ApiError(400, "invalid", ERRORS[error.code], error.field) from None
    places = services.visible_municipalities(g.api_user)
    if request.args.get("municipality"):
        places = [filtered_municipality(request.args["municipality"])]
    report = services.missed_call_report(places, services.make_scope(places, period, channel))
    return jsonify(
        period={"from": period.first.isoformat(), "to": period.last.isoformat()},
        channel=channel,
        municipalities=[
            {**row["municipality"], "figures": _figures(row)} for row in report["rows"]
        ],
        total=report["total"],
    )
