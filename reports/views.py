"""Report pages: the missed-call report, officials, lists behind figures, ranking, heat map."""

from dataclasses import dataclass
from datetime import date, timedelta

from flask import Blueprint, Response, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import pgettext
from flask_login import current_user

from callbacks.views import card_state_labels, duty_role_labels
from core.auth import require_municipality_access, roles_required
from core.journal import record_access
from core.parsing import parse_day, parse_id
from hotline.intake import centres
from reports import REPORT_ROLES, exports, services
from reports.charts import (
    daily_chart,
    histogram,
    ranking_bars,
    tile_map,
    tile_positions,
    weekly_chart,
)
from reports.queries import Period, Scope
from roster.models import Municipality
from roster.services import get_municipality, list_municipalities

bp = Blueprint("reports", __name__, url_prefix="/reports")


@dataclass
class Filters:
    """The period, channel and municipalities a page reports on, and any input error."""

    period: Period
    channel: str | None
    places: list[Municipality]
    scope: Scope
    error: str | None
    field: str | None

    @property
    def args(self) -> dict:
        """Return the query arguments that keep this period and channel in links."""
        args = {"from": self.period.first.isoformat(), "to": self.period.last.isoformat()}
        return args | ({"channel": self.channel} if self.channel else {})


def _error_message(error: services.ReportError) -> str:
    messages = {
        "date": _("Give the date as YYYY-MM-DD."),
        "order": _("The period ends before it starts."),
        "long": _("A report covers at most 400 days."),
        "channel": _("Unknown channel."),
        "metric": _("Unknown figure."),
        "kind": _("Unknown switch of the heat map."),
    }
    return messages.get(error.code, error.code)


def report_filters(places: list[Municipality] | None = None) -> Filters:
    """Read the request's period and channel filters over the user's municipalities."""
    error = field = None
    try:
        period, channel = services.parse_filters(request.args)
    except services.ReportError as problem:
        period, channel = services.default_period(), None
        error, field = _error_message(problem), problem.field
    if places is None:
        places = services.visible_municipalities(current_user)
    scope = services.make_scope(places, period, channel)
    return Filters(period, channel, places, scope, error, field)


def _place(code: str | None) -> Municipality | None:
    if not code:
        return None
    place = get_municipality(code)
    if place is None:
        abort(404)
    require_municipality_access(place)
    return place


def _narrow(filters: Filters, place: Municipality | None) -> Filters:
    if place is None:
        return filters
    scope = services.make_scope([place], filters.period, filters.channel)
    return Filters(filters.period, filters.channel, [place], scope, filters.error, filters.field)


def export_format() -> str | None:
    """Return the export asked for (`csv`, `xlsx`), or None for the page."""
    fmt = request.args.get("format")
    return fmt if fmt in ("csv", "xlsx") else None


def send_export(tables, name: str, fmt: str):
    """Journal the export with its filter, then answer with the file."""
    fields = {key: value for key, value in request.args.items() if key != "format"}
    record_access("export", name, None, {"format": fmt, "filter": fields})
    return exports.download(tables, name, fmt)


def _names(places: list[Municipality]) -> dict:
    return {place.id: {"name": place.name, "timezone": place.timezone} for place in places}


def export_name(stem: str, filters: Filters) -> str:
    """Return an export's file name: the report's stem and its period."""
    return f"{stem}-{filters.period.first:%Y%m%d}-{filters.period.last:%Y%m%d}"


def definitions() -> list[tuple[str, str]]:
    """Return every metric of the reports with its definition, as printed under them."""
    return [(str(term), str(text)) for term, text in DEFINITIONS]


DEFINITIONS = (
    (
        _l("Period"),
        _l(
            "Whole days from local midnight to local midnight in each municipality's own time "
            "zone; by default the last full week, Monday to Sunday, in the region's zone."
        ),
    ),
    (
        _l("Calls routed to the chain"),
        _l(
            "Calls whose duty chain (primary, backup, supervisor) started in the period, counted "
            "for the municipality the chain belonged to."
        ),
    ),
    (
        _l("Accepted by primary / backup / supervisor"),
        _l(
            "Routed calls accepted with a key press, by the role of the official who pressed it "
            "(voicemail never counts)."
        ),
    ),
    (
        _l("Missed (cards)"),
        _l('Routed calls nobody of the chain accepted: each opened a "you were called" card.'),
    ),
    (_l("Answer rate"), _l("Accepted calls divided by routed calls.")),
    (
        _l("Time to accept"),
        _l(
            "From the start of the chain to the accepting key press: the caller's wait. Median "
            "and 90th percentile (linear interpolation)."
        ),
    ),
    (
        _l("Called back within the deadline"),
        _l(
            "Cards of the period's missed calls whose callback reached the citizen no later than "
            "the card's callback deadline."
        ),
    ),
    (
        _l("Median time to callback"),
        _l(
            "From the card's opening to the callback that reached the citizen, over the cards "
            "called back."
        ),
    ),
    (
        _l("Overdue cards"),
        _l(
            "Cards of the period's missed calls not called back by their deadline, the deadline "
            "having passed (called back late or still waiting)."
        ),
    ),
    (
        _l("Overdue now"),
        _l(
            "Cards open at this moment whose callback deadline has passed, counted for the "
            "municipality that holds them (not limited to the period)."
        ),
    ),
    (
        _l("Reopened by citizens"),
        _l(
            "Appeals the citizen sent back as not solved during the period; the reopen rate "
            "divides them by the appeals whose citizen was asked to confirm in the period."
        ),
    ),
    (
        _l("Score"),
        _l(
            "40 × missed-call rate + 30 × share of missed calls whose card went overdue + 20 × "
            "callback time (median time to callback ÷ 8 hours, at most 1; 1 when cards exist "
            "but none was called back) + 10 × reopen rate. 0 is best, 100 worst; the ranking "
            "puts the highest score first, then the most missed calls. The change compares with "
            "the period of the same length right before."
        ),
    ),
    (
        _l("Officials with most missed calls"),
        _l(
            "The five officials who were rung for most of the period's calls and did not accept "
            "them (any role), beside how many of those calls nobody of the chain accepted."
        ),
    ),
    (
        _l("Trend by week"),
        _l(
            "Calls routed to the chain, missed calls (cards) and overdue cards per week, Monday "
            "to Sunday, for at least the eight weeks up to the period's end."
        ),
    ),
    (
        _l("Heat map"),
        _l(
            "Appeals registered in the period per municipality and category: all of them, the "
            "missed ones (with a card) or the overdue ones (card not called back in time)."
        ),
    ),
)


def render_report(template: str, filters: Filters, **context):
    """Render a report page with its filters and definitions; 400 when a filter was refused."""
    status = 400 if filters.error else 200
    return render_template(template, f=filters, definitions=definitions(), **context), status


@bp.get("/")
@roles_required(*REPORT_ROLES)
def index():
    """Show the missed-call report per municipality and the daily trend."""
    filters = report_filters()
    report = services.missed_call_report(filters.places, filters.scope)
    trend = services.daily_trend(filters.scope)
    if fmt := export_format():
        tables = [exports.report_table(report), exports.trend_table(trend)]
        return send_export(tables, export_name("missed-calls", filters), fmt)
    labels = {
        "title": _("Trend by day"),
        "calls": _("Calls routed to the chain"),
        "missed": _("Missed (cards)"),
        "overdue": _("Overdue cards"),
    }
    return render_report(
        "reports/index.html",
        filters,
        report=report,
        trend=trend,
        chart=daily_chart(trend, labels, _trend_link(filters)),
        weekly=_weekly_chart(filters),
        answers=_answer_histogram(filters),
    )


#: The list behind each series of a trend: endpoint and metric.
TREND_TARGETS = {
    "calls": ("reports.calls", "routed"),
    "missed": ("reports.cards", "missed"),
    "overdue": ("reports.cards", "late"),
}


def _trend_link(filters: Filters, place: Municipality | None = None):
    """Return link(first day, series[, last day]): the list behind a point of a trend."""

    def link(first: date, name: str, last: date | None = None) -> str:
        endpoint, metric = TREND_TARGETS[name]
        args = {"from": first.isoformat(), "to": (last or first).isoformat()}
        if filters.channel:
            args["channel"] = filters.channel
        return url_for(endpoint, metric=metric, **args, **_place_args(filters, place))

    return link


def _place_args(filters: Filters, place: Municipality | None) -> dict:
    return {"municipality": place.code} if place else {}


def _weekly_chart(filters: Filters, place: Municipality | None = None):
    """Return the weekly trend chart of the filters' places, each point linked to its rows."""
    weeks = services.weekly_trend(filters.scope)
    to_list = _trend_link(filters, place)

    def link(period: Period, name: str) -> str:
        return to_list(period.first, name, period.last)

    labels = {
        "title": _("Trend by week"),
        "calls": _("Calls routed to the chain"),
        "missed": _("Missed (cards)"),
        "overdue": _("Overdue cards"),
    }
    return weekly_chart(weeks, labels, link)


def _answer_histogram(filters: Filters, place: Municipality | None = None):
    """Return the histogram of times to accept, each band linked to its calls."""
    bands = services.answer_time_histogram(filters.scope)

    def link(band: dict) -> str:
        wait = {"wait_from": band["low"]}
        if band["high"] is not None:
            wait["wait_to"] = band["high"]
        args = {**filters.args, **wait, **_place_args(filters, place)}
        return url_for("reports.calls", metric="accepted", **args)

    labels = {
        "title": _("Time to accept: accepted calls per band"),
        "unit": _("s"),
        "axis": _("Seconds from the start of the chain to the accepting key press"),
    }
    return histogram(bands, labels, link)


@bp.get("/municipalities/<code>")
@roles_required(*REPORT_ROLES)
def municipality(code: str):
    """Show one municipality's figures per official and role."""
    place = _place(code)
    filters = _narrow(report_filters(), place)
    report = services.missed_call_report([place], filters.scope)
    officials = services.official_report(place, filters.scope)
    if fmt := export_format():
        tables = [
            exports.report_table(report),
            exports.officials_table(place.name, officials, duty_role_labels()),
        ]
        return send_export(tables, export_name(f"officials-{place.code}", filters), fmt)
    return render_report(
        "reports/municipality.html",
        filters,
        place=place,
        row=report["rows"][0],
        officials=officials,
        weekly=_weekly_chart(filters, place),
        answers=_answer_histogram(filters, place),
    )


@bp.get("/calls")
@roles_required(*REPORT_ROLES)
def calls():
    """List the calls behind a figure (of a municipality, of an official and role)."""
    filters = _narrow(report_filters(), _place(request.args.get("municipality")))
    official = parse_id(request.args.get("official"))
    role = request.args.get("role") if request.args.get("role") in services.ROLES else None
    metric = request.args.get("metric", "routed")
    wait = _wait_band()
    try:
        listing = services.list_calls(filters.scope, metric, official, role, wait)
    except services.ReportError:
        abort(404)
    names = _names(filters.places)
    if fmt := export_format():
        table = exports.calls_table(listing, names, duty_role_labels())
        return send_export([table], export_name("calls", filters), fmt)
    return render_report(
        "reports/calls.html",
        filters,
        listing=listing,
        names=names,
        metric=metric,
        official=official,
        role=role,
        wait=wait,
    )


def _wait_band() -> tuple[int | None, int | None] | None:
    """Read `wait_from` and `wait_to` (whole seconds) of a band of the answer-time histogram."""
    edges = []
    for name in ("wait_from", "wait_to"):
        text = request.args.get(name, "").strip()
        if text and not (text.isdigit() and len(text) <= 6):
            abort(404)
        edges.append(int(text) if text else None)
    return None if edges == [None, None] else (edges[0], edges[1])


@bp.get("/cards")
@roles_required(*REPORT_ROLES)
def cards():
    """List the cards behind a figure."""
    filters = _narrow(report_filters(), _place(request.args.get("municipality")))
    metric = request.args.get("metric", "missed")
    try:
        listing = services.list_cards(filters.scope, metric)
    except services.ReportError:
        abort(404)
    names = _names(filters.places)
    if fmt := export_format():
        table = exports.cards_table(listing, names, card_state_labels())
        return send_export([table], export_name("cards", filters), fmt)
    return render_report("reports/cards.html", filters, listing=listing, names=names, metric=metric)


@bp.get("/appeals")
@roles_required(*REPORT_ROLES)
def appeals():
    """List the appeals behind a heat-map cell or the reopened figure, with repeated addresses."""
    filters = _narrow(report_filters(), _place(request.args.get("municipality")))
    kind = request.args.get("kind", "all")
    category = request.args.get("category") or None
    if category not in (None, "none") and parse_id(category) is None:
        abort(404)
    try:
        listing = services.list_appeals(filters.scope, kind, category)
    except services.ReportError:
        abort(404)
    names = _names(filters.places)
    if fmt := export_format():
        tables = [
            exports.appeals_table(listing, names),
            exports.addresses_table(listing["addresses"]),
        ]
        return send_export(tables, export_name("appeals", filters), fmt)
    return render_report(
        "reports/appeals.html", filters, listing=listing, names=names, kind=kind, category=category
    )


@bp.get("/ranking")
@roles_required(*REPORT_ROLES)
def ranking():
    """Rank the municipalities by score, with the change since the previous period."""
    everyone = list_municipalities()
    filters = report_filters(everyone)
    shown = {place.id for place in services.visible_municipalities(current_user)}
    rows = services.ranking(everyone, filters.scope, shown)
    if fmt := export_format():
        return send_export([exports.ranking_table(rows)], export_name("ranking", filters), fmt)
    bars = ranking_bars(
        rows,
        lambda row: url_for(
            "reports.municipality", code=row["municipality"]["code"], **filters.args
        ),
        _("Ranking of municipalities"),
    )
    figure = request.args.get("figure", "missed")
    if figure not in MAP_FIGURES:
        figure = "missed"
    return render_report(
        "reports/ranking.html",
        filters,
        rows=rows,
        previous=filters.period.previous(),
        bars=bars,
        region_map=_region_map(rows, filters, figure),
        figure=figure,
        map_figures=MAP_FIGURES,
    )


#: The figures the map can be coloured by.
MAP_FIGURES = {"missed": _l("Missed (cards)"), "overdue_now": _l("Overdue cards")}


def _region_map(rows: list[dict], filters: Filters, figure: str):
    """Return the tile-grid map of the ranked municipalities, shaded by one figure."""
    values = {row["municipality"]["code"]: row[figure] for row in rows}
    names = {row["municipality"]["code"]: row["municipality"]["name"] for row in rows}
    return _tile_map(
        values,
        names,
        lambda code: url_for("reports.municipality", code=code, **filters.args),
        str(MAP_FIGURES[figure]),
    )


def _tile_map(values: dict, names: dict, link, figure: str):
    """Return the tile-grid map of municipalities (code → value), each tile linked."""
    known = centres()
    positions = tile_positions(
        {code: (known[code].lat, known[code].long) for code in values if code in known}
    )
    tiles = [
        {
            "code": code,
            "name": names[code],
            "short": known[code].name[:4],
            "value": value,
            "cell": positions[code],
            "link": link(code),
        }
        for code, value in values.items()
        if code in positions
    ]
    return tile_map(tiles, {"title": _("Map of the region"), "figure": figure})


def _heat_tiles(heat: dict, kind: str, filters: Filters, label: str):
    """Return the map of the heat map's municipalities shaded by their appeals of one switch."""
    values = {
        place["code"]: sum(
            cell[kind] for (where, _), cell in heat["cells"].items() if where == place["id"]
        )
        for place in heat["rows"]
    }
    names = {place["code"]: place["name"] for place in heat["rows"]}
    return _tile_map(
        values,
        names,
        lambda code: url_for("reports.appeals", municipality=code, kind=kind, **filters.args),
        label,
    )


@bp.get("/heatmap")
@roles_required(*REPORT_ROLES)
def heatmap():
    """Show appeals per municipality and category: all, missed or overdue."""
    filters = report_filters()
    kind = request.args.get("kind", "all")
    if kind not in services.HEAT_KINDS:
        kind = "all"
    heat = services.heat_map(filters.places, filters.scope)
    if fmt := export_format():
        tables = [
            exports.heat_table(heat, name, _("general question")) for name in services.HEAT_KINDS
        ]
        for table, name in zip(tables, _heat_labels().values(), strict=True):
            table.title = f"{_('Heat map')} · {name}"
        return send_export(tables, export_name("heatmap", filters), fmt)
    kinds = _heat_labels()
    return render_report(
        "reports/heatmap.html",
        filters,
        heat=heat,
        kind=kind,
        kinds=kinds,
        region_map=_heat_tiles(heat, kind, filters, kinds[kind]),
    )


def _heat_labels() -> dict:
    return {
        "all": _("All appeals"),
        "missed": _("Missed"),
        "overdue": pgettext("report list", "Overdue"),
    }


@bp.app_template_filter("report_pct")
def report_pct(value) -> str:
    """Format a share as a percentage with one decimal."""
    return "—" if value is None else f"{value * 100:.1f} %"


@bp.app_template_filter("report_duration")
def report_duration(seconds) -> str:
    """Format seconds as M:SS or H:MM:SS."""
    if seconds is None:
        return "—"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@bp.get("/operators")
@roles_required("manager", "admin")
def operators():
    """Show the operators' queue figures: offered, answered, abandoned, speed, handling time."""
    filters = report_filters()
    figures = services.operator_figures(filters.period)
    figures["total"]["name"] = _("Whole queue")
    if fmt := export_format():
        table = exports.operators_table(figures)
        return send_export([table], export_name("operators", filters), fmt)
    return render_report("reports/operators.html", filters, figures=figures)


@bp.get("/staffing")
@roles_required("manager", "admin")
def staffing():
    """Show the operators needed per hour of the coming week (Erlang C) beside those on shift."""
    week = services.next_week_start()
    if request.args.get("week"):
        try:
            week = date.fromisoformat(request.args["week"])
        except ValueError:
            abort(400)
        week -= timedelta(days=week.weekday())
    plan = services.staffing_plan(week)
    if fmt := export_format():
        return send_export([exports.staffing_table(plan)], f"staffing-{week}", fmt)
    days = [plan[day * 24 : day * 24 + 24] for day in range(7)]
    return render_template("reports/staffing.html", week=week, days=days, plan=plan)


def export_url(fmt: str) -> str:
    """Return the current page's address asking for a download in a format."""
    args = {**request.args.to_dict(), "format": fmt}
    return url_for(request.endpoint, **(request.view_args or {}), **args)


@bp.app_template_filter("rmerge")
def rmerge(args: dict, extra: dict) -> dict:
    """Return query arguments with others added (later ones win)."""
    return {**args, **extra}


@bp.context_processor
def report_labels() -> dict:
    """Give the report templates the translated names of channels, figures and outcomes."""
    return {
        "export_url": export_url,
        "channel_labels": {
            "phone": _("phone"),
            "operator": _("operator"),
            "voicemail": _("voicemail"),
            "web": _("web"),
            "open311": _("Open311"),
            "api": _("API"),
        },
        "metric_labels": {
            "routed": _("routed to the chain"),
            "accepted": pgettext("report list", "accepted"),
            "accepted_primary": _("accepted by primary"),
            "accepted_backup": _("accepted by backup"),
            "accepted_supervisor": _("accepted by supervisor"),
            "rung": pgettext("report list", "official rung"),
            "not_accepted": _("not accepted by the official"),
            "missed": pgettext("report list", "missed"),
            "called_back": _("called back"),
            "in_time": _("called back within the deadline"),
            "late": pgettext("report list", "overdue"),
            "overdue_now": _("overdue now"),
        },
        "outcome_labels": {
            "connected": _("connected"),
            "missed": pgettext("call outcome", "missed"),
            "abandoned": _("abandoned"),
            "refused": _("refused"),
        },
        "appeal_kind_labels": {
            "all": _("all appeals"),
            "missed": pgettext("report list", "missed"),
            "overdue": pgettext("report list", "overdue"),
            "reopened": _("reopened by citizens"),
        },
    }


@bp.get("/brief")
@roles_required(*REPORT_ROLES)
def brief():
    """Show the weekly brief for the meeting: HTML, or PDF with `format=pdf`."""
    try:
        day = parse_day(request.args.get("week", "").strip()) if request.args.get("week") else None
    except ValueError:
        abort(400)
    first = day - timedelta(days=day.weekday()) if day else services.default_period().first
    period = Period(first, first + timedelta(days=6))
    everyone = list_municipalities()
    places = services.visible_municipalities(current_user)
    scope = services.make_scope(places, period)
    report = services.missed_call_report(places, scope)
    before = services.missed_call_report(places, scope.with_period(period.previous()))
    region = services.make_scope(everyone, period)  # a head sees the whole region's ranking
    rows = services.ranking(everyone, region, {place.id for place in places})
    filters = Filters(period, None, places, scope, None, None)
    html = render_template(
        "reports/brief.html",
        f=filters,
        report=report,
        before=before,
        rows=rows,
        top_missed=sorted(report["rows"], key=lambda r: -r["missed"])[:5],
        top_overdue=sorted(report["rows"], key=lambda r: -r["overdue_now"])[:5],
        addresses=services.list_appeals(scope, "all")["addresses"][:5],
        officials=services.top_missing_officials(scope),
        region_map=_region_map(rows, filters, "missed"),
        definitions=definitions(),
    )
    if request.args.get("format") != "pdf":
        return html
    from weasyprint import HTML

    pdf = HTML(string=html, base_url=request.url_root).write_pdf()
    name = f"brief-{period.first.isoformat()}.pdf"
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
