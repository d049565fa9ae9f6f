"""Every report table as rows of plain values, and its CSV and XLSX downloads."""

from dataclasses import dataclass

from flask import Response
from flask_babel import gettext as _

from core.downloads import attachment, csv_attachment
from core.i18n import local_time
from core.privacy import phone_for_viewer
from core.spreadsheets import csv_text, xlsx_bytes

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass
class Table:
    """A titled table: column headers and rows of plain values."""

    title: str
    headers: list[str]
    rows: list[list]


def _pct(value) -> float | None:
    return None if value is None else round(value * 100, 1)


def figure_headers() -> list[str]:
    """Return the headers of the missed-call figures, in table order."""
    return [
        _("Calls routed to the chain"),
        _("Accepted by primary"),
        _("Accepted by backup"),
        _("Accepted by supervisor"),
        _("Missed (cards)"),
        _("Answer rate, %"),
        _("Median time to accept, s"),
        _("90th percentile time to accept, s"),
        _("Called back within the deadline"),
        _("Median time to callback, s"),
        _("Overdue now"),
        _("Reopened by citizens"),
    ]


def figure_values(row: dict) -> list:
    """Return one row's missed-call figures, in table order."""
    return [
        row["routed"],
        row["accepted_primary"],
        row["accepted_backup"],
        row["accepted_supervisor"],
        row["missed"],
        _pct(row["answer_rate"]),
        row["accept_median"],
        row["accept_p90"],
        row["in_time"],
        row["callback_median"],
        row["overdue_now"],
        row["reopened"],
    ]


def report_table(report: dict) -> Table:
    """Return the missed-call report as a table, the region's total last."""
    rows = [[row["municipality"]["name"], *figure_values(row)] for row in report["rows"]]
    rows.append([_("Total"), *figure_values(report["total"])])
    return Table(_("Missed calls"), [_("Municipality"), *figure_headers()], rows)


def officials_table(place_name: str, rows: list[dict], roles: dict) -> Table:
    """Return the officials of a municipality as a table."""
    headers = [
        _("Official"),
        _("Role"),
        _("Rung"),
        _("Accepted"),
        _("Not accepted"),
        _("Answer rate, %"),
        _("Median time to accept, s"),
        _("90th percentile time to accept, s"),
        _("Calls missed by the whole chain"),
        _("Callbacks that reached the citizen"),
    ]
    body = [
        [
            row["name"],
            roles.get(row["role"], row["role"]),
            row["rung"],
            row["accepted"],
            row["not_accepted"],
            _pct(row["answer_rate"]),
            row["accept_median"],
            row["accept_p90"],
            row["missed"],
            row["callbacks"],
        ]
        for row in rows
    ]
    return Table(place_name, headers, body)


def ranking_table(rows: list[dict]) -> Table:
    """Return the ranking as a table."""
    headers = [
        _("Rank"),
        _("Municipality"),
        _("Score"),
        _("Score before"),
        _("Change"),
        _("Rank before"),
        _("Missed-call rate, %"),
        _("Overdue cards"),
        _("Median time to callback, s"),
        _("Reopen rate, %"),
    ]
    body = [
        [
            row["rank"],
            row["municipality"]["name"],
            row["score"],
            row["previous_score"],
            row["score_change"],
            row["previous_rank"],
            _pct(row["missed_rate"]),
            row["late"],
            row["callback_median"],
            _pct(row["reopen_rate"]),
        ]
        for row in rows
    ]
    return Table(_("Ranking"), headers, body)


def heat_table(heat: dict, kind: str, no_category: str) -> Table:
    """Return one switch of the heat map as a municipality × category table."""
    columns = heat["columns"]
    headers = [_("Municipality"), *[c["name"] or no_category for c in columns]]
    body = [
        [
            place["name"],
            *[heat["cells"].get((place["id"], c["id"]), {}).get(kind, 0) for c in columns],
        ]
        for place in heat["rows"]
    ]
    return Table(_("Heat map"), headers, body)


def trend_table(trend: list[dict]) -> Table:
    """Return the daily trend as a table."""
    headers = [_("Day"), _("Calls routed to the chain"), _("Missed (cards)"), _("Overdue cards")]
    body = [[d["day"].isoformat(), d["calls"], d["missed"], d["overdue"]] for d in trend]
    return Table(_("Trend by day"), headers, body)


def calls_table(listing: dict, names: dict, roles: dict) -> Table:
    """Return a list of calls as a table."""
    headers = [
        _("Call"),
        _("Chain started"),
        _("Municipality"),
        _("Caller"),
        _("Category"),
        _("Address"),
        _("Outcome"),
        _("Accepted by"),
        _("Role"),
        _("Time to accept, s"),
        _("Appeal"),
        _("Card"),
    ]
    body = []
    for row in listing["rows"]:
        appeal = row["appeal"] or {}
        place = names.get(row["municipality_id"], {})
        body.append(
            [
                row["id"],
                local_time(row["chain_started_at"], place.get("timezone")),
                place.get("name"),
                phone_for_viewer(row["from_number"]),
                appeal.get("category"),
                appeal.get("address"),
                row["outcome"],
                row["accepted_by"],
                roles.get(row["accepted_role"], row["accepted_role"]),
                None if row["wait"] is None else round(row["wait"], 1),
                appeal.get("number"),
                row["card_id"],
            ]
        )
    return Table(_("Calls"), headers, body)


def cards_table(listing: dict, names: dict, states: dict) -> Table:
    """Return a list of cards as a table."""
    headers = [
        _("Card"),
        _("Opened"),
        _("Municipality"),
        _("Caller"),
        _("Category"),
        _("Address"),
        _("Deadline"),
        _("Called back"),
        _("State"),
        _("Appeal"),
    ]
    body = []
    for row in listing["rows"]:
        appeal = row["appeal"] or {}
        place = names.get(row["municipality_id"], {})
        zone = place.get("timezone")
        body.append(
            [
                row["id"],
                local_time(row["opened_at"], zone),
                place.get("name"),
                phone_for_viewer(row["caller"]),
                appeal.get("category"),
                appeal.get("address"),
                local_time(row["callback_due_at"], zone),
                local_time(row["called_back_at"], zone),
                states.get(row["state"], row["state"]),
                appeal.get("number"),
            ]
        )
    return Table(_("Cards"), headers, body)


def appeals_table(listing: dict, names: dict) -> Table:
    """Return a list of appeals as a table."""
    headers = [
        _("Appeal"),
        _("Registered"),
        _("Municipality"),
        _("Category"),
        _("Address"),
        _("Channel"),
        _("Status"),
        _("Card"),
    ]
    body = []
    for row in listing["rows"]:
        place = names.get(row["municipality_id"], {})
        body.append(
            [
                row["number"],
                local_time(row["created_at"], place.get("timezone")),
                place.get("name"),
                row["category"],
                row["address"],
                row["channel"],
                row["status"],
                row["card_id"],
            ]
        )
    return Table(_("Appeals"), headers, body)


def addresses_table(addresses: list[dict]) -> Table:
    """Return the repeated addresses as a table."""
    return Table(
        _("Addresses that repeat"),
        [_("Address"), _("Appeals")],
        [[row["address"], row["count"]] for row in addresses],
    )


def operators_table(figures: dict) -> Table:
    """Return the operators' figures as a table, the whole queue first."""
    headers = [
        _("Operator"),
        _("Calls offered"),
        _("Answered"),
        _("Abandoned in queue"),
        _("Average speed of answer, s"),
        _("Answered within 20 s, %"),
        _("Average handling time, s"),
        _("Offers missed"),
        _("Ready, s"),
        _("On call, s"),
        _("After-call work, s"),
        _("Break, s"),
        _("Occupancy, %"),
    ]
    body = [
        [
            row["name"],
            row["offered"],
            row["answered"],
            row["abandoned"],
            row["speed_of_answer"],
            _pct(row["service_level"]),
            row["handling_time"],
            row.get("missed_offers"),
            *[
                (row["state_seconds"][state] if "state_seconds" in row else None)
                for state in ("ready", "on_call", "wrap_up", "break")
            ],
            _pct(row.get("occupancy")),
        ]
        for row in [figures["total"], *figures["operators"]]
    ]
    return Table(_("Operators"), headers, body)


def staffing_table(plan: list) -> Table:
    """Return the staffing plan as a table, one row per hour."""
    headers = [
        _("Hour"),
        _("Calls expected"),
        _("Average handling time, s"),
        _("Operators needed"),
        _("Operators on shift"),
        _("Short"),
    ]
    body = [
        [
            local_time(hour.starts_at),
            hour.calls_per_hour,
            hour.handle_seconds,
            hour.needed,
            hour.on_shift,
            hour.short,
        ]
        for hour in plan
    ]
    return Table(_("Staffing"), headers, body)


def to_csv(table: Table) -> str:
    """Return a table as CSV text, an empty cell for a missing value."""
    return csv_text(table.headers, table.rows)


def to_xlsx(tables: list[Table]) -> bytes:
    """Return tables as an XLSX workbook, one sheet each."""
    return xlsx_bytes((table.title, table.headers, table.rows) for table in tables)


def download(tables: list[Table], name: str, fmt: str) -> Response:
    """Answer with the tables as an XLSX workbook, or the first one as CSV."""
    if fmt == "xlsx":
        return attachment(to_xlsx(tables), f"{name}.xlsx", XLSX)
    return csv_attachment(to_csv(tables[0]), f"{name}.csv")
