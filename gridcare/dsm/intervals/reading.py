"""Reading interval files: CSV (UTF-8 or GBK) or Parquet, all columns as text, and which layout they are in."""

from __future__ import annotations

import codecs
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from gridcare.dsm.intervals.model import SERIES_COLUMNS, SLOTS, IntervalFileError


def read_raw(path: Path, progress: Callable[[int], None] | None = None) -> tuple[pa.Table, int]:
    """The file as a table of strings (CSV) or typed columns (Parquet file or directory), and its first data line."""
    suffix = path.suffix.lower()
    if path.is_dir() or suffix == ".parquet":
        try:
            dataset = pq.ParquetDataset(path)
            table = dataset.read()
        except (pa.ArrowInvalid, OSError) as exc:
            raise IntervalFileError(f"not a readable Parquet file or folder: {exc}") from None
        if progress:
            progress(table.num_rows)
        return table, 1
    if suffix not in (".csv", ".txt"):
        raise IntervalFileError(f"unknown file type {suffix!r}: use .csv or .parquet")
    encoding = _encoding(path)
    try:
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=8 << 20, encoding=encoding),
            convert_options=pacsv.ConvertOptions(column_types=_all_strings(path, encoding)),
        )
        batches = []
        for batch in reader:
            batches.append(batch)
            if progress:
                progress(batch.num_rows)
    except pa.ArrowInvalid as exc:
        raise IntervalFileError(f"not a readable CSV file: {exc}") from None
    except UnicodeDecodeError:
        raise IntervalFileError("neither UTF-8 nor GBK text (save the CSV as UTF-8)") from None
    table = pa.Table.from_batches(batches) if batches else pa.table({})
    return table, 2


def _encoding(path: Path) -> str:
    """UTF-8 unless the start of the file is not, then GB18030 (a superset of GBK: what Chinese Excel saves)."""
    with path.open("rb") as stream:
        head = stream.read(1 << 16)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf8"


def _all_strings(path: Path, encoding: str = "utf8") -> dict[str, pa.DataType]:
    with path.open("rb") as stream:
        header = stream.readline().decode("utf-8-sig" if encoding == "utf8" else encoding, errors="replace").strip()
    return {name.strip().strip('"'): pa.string() for name in header.split(",")}


def _columns(table: pa.Table) -> dict[str, str]:
    """Lower-case name → the file's name, stripped of a UTF-8 BOM."""
    return {name.lstrip("\ufeff").strip().lower(): name for name in table.column_names}


def detect_layout(table: pa.Table) -> str:
    cols = _columns(table)
    if not any(c in cols for c in SERIES_COLUMNS):
        raise IntervalFileError("needs a customer_id or account_no column", line=1)
    if "ts" in cols and ("kw" in cols or "kwh" in cols):
        return "long"
    if "day" in cols and all(f"p{i}" in cols for i in range(1, SLOTS + 1)):
        return "wide"
    if "day" in cols and "reading" in cols:
        return "register"
    if "day" in cols and "kwh" in cols:
        return "daily"
    raise IntervalFileError(
        "unknown layout: expected columns (customer_id, ts, kw|kwh), (customer_id, day, p1…p96), "
        "(customer_id, day, kwh) or (customer_id, day, reading)",
        line=1,
    )
