"""Spreadsheet downloads (.xlsx and .csv): every export goes through here, so every cell is written the same way.

Cells hold text that customers and staff typed (addresses, names, descriptions). A spreadsheet program
evaluates text that starts with = + - @ (or a tab / carriage return before one) as a formula: the cell
`=HYPERLINK("http://evil","点这里")` becomes a link, `=cmd|' /C calc'!A0` a DDE call. `cell_text` neutralises
such text with a leading apostrophe, the convention spreadsheet programs themselves use for "this is text", so
the user sees exactly what was typed and nothing is evaluated. Numbers, dates and booleans pass unchanged.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.http import HttpResponse
from openpyxl import Workbook

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# What a spreadsheet program may read as the start of a formula (OWASP "CSV injection"): = + - @, and tab /
# carriage return / line feed, which some programs strip before looking at the first character. Full-width
# forms are included because an IME types them and some spreadsheet locales normalise them to ASCII.
_FORMULA_START = frozenset("=+-@\t\r\n＝＋－＠")
# Leading blanks do not protect: LibreOffice and some CSV importers trim them before evaluating.
_LEADING_BLANKS = " \u3000\u00a0"
# Characters openpyxl refuses in a cell (it raises IllegalCharacterError, a 500): control characters.
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# Excel's rules for sheet names: at most 31 characters, none of []:*?/\ .
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")

Row = Sequence[Any]
Sheet = tuple[str, Row, Iterable[Row]]  # (sheet name, header, rows)


def cell_text(value: Any) -> Any:
    """The value as it may safely go into a spreadsheet cell: text that would start a formula is prefixed
    with an apostrophe; control characters are dropped; numbers, dates, booleans and None are unchanged."""
    if value is None or isinstance(value, bool | int | float | Decimal | dt.date | dt.datetime | dt.time):
        return value
    text = _ILLEGAL.sub("", str(value))
    if text and text.lstrip(_LEADING_BLANKS)[:1] in _FORMULA_START:
        return "'" + text
    return text


def safe_row(row: Row) -> list[Any]:
    return [cell_text(v) for v in row]


def sheet_title(name: str) -> str:
    """A sheet name Excel (and openpyxl) accepts, from a name someone typed (a segment's name, say)."""
    title = _SHEET_BAD.sub("_", _ILLEGAL.sub("", str(name))).strip("'")[:31]
    return title or "Sheet"


def sheets_response(filename: str, sheets: Iterable[Sheet]) -> HttpResponse:
    """A workbook of one or more sheets, each a header row and its rows, as a download `filename`.xlsx.

    Write-only, so a 100,000-row export is streamed into the file rather than held as cell objects; every
    value goes through `cell_text`."""
    wb = Workbook(write_only=True)
    used: set[str] = set()
    for name, header, rows in sheets:
        title = sheet_title(name)
        while title in used:  # two sheets named alike after cleaning: keep both
            title = title[:28] + f"_{len(used)}"
        used.add(title)
        ws = wb.create_sheet(title)
        ws.append(safe_row(header))
        for row in rows:
            ws.append(safe_row(row))
    buf = io.BytesIO()
    wb.save(buf)
    response = HttpResponse(buf.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
    return response


def table_response(filename: str, sheet: str, header: Row, rows: Iterable[Row]) -> HttpResponse:
    """One sheet: a header row and the rows."""
    return sheets_response(filename, [(sheet, header, rows)])


def csv_response(filename: str, header: Row, rows: Iterable[Row]) -> HttpResponse:
    """The same table as UTF-8 CSV with a byte-order mark (so Excel on a Chinese Windows reads it as UTF-8)."""
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(safe_row(header))
    for row in rows:
        writer.writerow(safe_row(row))
    response = HttpResponse("\ufeff" + text.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response
