"""CSV and XLSX files a spreadsheet cannot run: every file the project writes goes through here.

A cell of text that begins (after any spaces) with `=`, `+`, `-`, `@`, a tab or a carriage
return would be read by Excel or LibreOffice as a formula (CSV injection, see OWASP "CSV
Injection"); such a cell gets a leading apostrophe, as OWASP recommends. Numbers, dates and
booleans are written as themselves; in XLSX every text cell is typed as a string.
"""

import csv
import io
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, TYPE_STRING

#: Characters that make a spreadsheet read a cell as a formula (also their full-width forms).
FORMULA_STARTS = "=+-@\t\r\n\uff1d\uff0b\uff0d\uff20"
_FORMULA_LEADING = re.compile(r"^[ \u00a0]*[" + re.escape(FORMULA_STARTS) + "]")

#: Values written as they are: a spreadsheet reads them as numbers, dates or booleans.
PLAIN_TYPES = (bool, int, float, Decimal, date, datetime, time)


def safe_text(text: str) -> str:
    """Return the text with a leading apostrophe when a spreadsheet would run it as a formula."""
    return "'" + text if _FORMULA_LEADING.match(text) else text


def safe_cell(value):
    """Return a cell's value as it may be written: numbers as numbers, text made harmless."""
    if value is None or isinstance(value, PLAIN_TYPES):
        return value
    return safe_text(str(value))


def unguard_text(text: str) -> str:
    """Undo `safe_text` on a value read back from an exported file (the roster's re-import)."""
    if text.startswith("'") and _FORMULA_LEADING.match(text[1:]):
        return text[1:]
    return text


def csv_text(headers: Sequence, rows: Iterable[Sequence]) -> str:
    """Return rows as CSV text, each cell made harmless and an empty cell for a missing value."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([safe_cell(value) for value in headers])
    for row in rows:
        writer.writerow(["" if value is None else safe_cell(value) for value in row])
    return out.getvalue()


def _sheet_title(title: str, number: int, used: set[str]) -> str:
    name = "".join(ch for ch in title if ch not in "[]:*?/\\")[:28] or "Sheet"
    if name in used:
        name = f"{name[:25]} {number}"
    used.add(name)
    return name


def _write_row(sheet, row_number: int, values: Sequence) -> None:
    for column, value in enumerate(values, 1):
        value = safe_cell(value)
        if isinstance(value, str):
            cell = sheet.cell(row_number, column, ILLEGAL_CHARACTERS_RE.sub("", value))
            cell.data_type = TYPE_STRING  # never a formula, whatever openpyxl guessed
        else:
            sheet.cell(row_number, column, value)


def xlsx_bytes(sheets: Iterable[tuple[str, Sequence, Iterable[Sequence]]]) -> bytes:
    """Return (title, headers, rows) sheets as an XLSX workbook with no formula in any cell."""
    book = Workbook()
    book.remove(book.active)
    used: set[str] = set()
    for number, (title, headers, rows) in enumerate(sheets, 1):
        sheet = book.create_sheet(_sheet_title(title, number, used))
        _write_row(sheet, 1, headers)
        for row_number, row in enumerate(rows, 2):
            _write_row(sheet, row_number, row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
