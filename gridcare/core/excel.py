"""Excel downloads: every list page exports what it shows, as one .xlsx, the same way."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

from django.http import HttpResponse
from openpyxl import Workbook

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def workbook_response(wb: Workbook, filename: str) -> HttpResponse:
    """The workbook as a download named `filename` (without .xlsx)."""
    buf = io.BytesIO()
    wb.save(buf)
    response = HttpResponse(buf.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
    return response


def table_response(filename: str, sheet: str, header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> HttpResponse:
    """One sheet: a header row and the rows, streamed into a write-only workbook."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet[:31])  # Excel's limit on sheet names
    ws.append(list(header))
    for row in rows:
        ws.append(list(row))
    return workbook_response(wb, filename)
