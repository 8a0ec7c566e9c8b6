"""Reading uploaded tables (CSV or Excel) as rows that remember their line numbers, for imports."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from gridcare.core.archives import check_zip
from gridcare.core.errors import ServiceError

MAX_ROWS = 2_000_000


@dataclass
class Table:
    header: list[str]
    rows: list[tuple[int, dict[str, Any]]]  # (line number as a person sees it in the file, values)


def _decode(data: bytes) -> str:
    # Spreadsheets saved by Chinese Excel are often GB18030; try UTF-8 (with or without BOM) first.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ServiceError("文件编码无法识别：请另存为 UTF-8 或 GBK 编码的 CSV")


def _clean_header(header: list[Any]) -> list[str]:
    names = [str(h).strip() if h is not None else "" for h in header]
    if not any(names):
        raise ServiceError("第 1 行应为列名（表头），但它是空的")
    return names


def read_csv(stream: IO[bytes]) -> Table:
    text = _decode(stream.read())
    reader = csv.reader(io.StringIO(text))
    try:
        header = _clean_header(next(reader))
    except StopIteration:
        raise ServiceError("文件是空的") from None
    rows: list[tuple[int, dict[str, Any]]] = []
    for values in reader:
        line = reader.line_num
        if not any(v.strip() for v in values):
            continue
        if len(rows) >= MAX_ROWS:
            raise ServiceError(f"一次最多导入 {MAX_ROWS} 行，请拆分文件")
        rows.append((line, dict(zip(header, values, strict=False))))
    return Table(header, rows)


def read_xlsx(stream: IO[bytes]) -> Table:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    # An xlsx is a ZIP: measure what it would inflate to before openpyxl inflates anything.
    check_zip(stream)
    try:
        workbook = load_workbook(stream, read_only=True, data_only=True)
    except (InvalidFileException, OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise ServiceError(f"不是有效的 Excel (.xlsx) 文件：{exc}") from None
    sheet = workbook.worksheets[0]
    it: Iterator[tuple[Any, ...]] = sheet.iter_rows(values_only=True)
    try:
        header = _clean_header(list(next(it)))
    except StopIteration:
        raise ServiceError("工作表是空的") from None
    rows: list[tuple[int, dict[str, Any]]] = []
    for line, values in enumerate(it, start=2):
        if not any(v is not None and str(v).strip() for v in values):
            continue
        if len(rows) >= MAX_ROWS:
            raise ServiceError(f"一次最多导入 {MAX_ROWS} 行，请拆分文件")
        rows.append((line, dict(zip(header, values, strict=False))))
    workbook.close()
    return Table(header, rows)


def read_table(stream: IO[bytes], filename: str) -> Table:
    suffix = Path(filename).suffix.lower()
    if suffix == ".csv":
        return read_csv(stream)
    if suffix in {".xlsx", ".xlsm"}:
        return read_xlsx(stream)
    raise ServiceError(f"不支持的文件类型 {suffix or '(无扩展名)'}：请使用 .csv 或 .xlsx")
