"""Text columns to numbers, instants, days and series ids, naming the file line of the first bad value."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from gridcare.dsm.intervals.model import MAX_PROBLEMS, IntervalFileError, Problem, Report


def _first_bad(values: pa.ChunkedArray | pa.Array, convert: Callable[[str], object]) -> tuple[int, str]:
    """Only on the error path: find the first value that does not convert, one by one."""
    for i, value in enumerate(values.to_pylist()):
        if value is None or value == "":
            return i, "is empty"
        try:
            convert(value if isinstance(value, str) else str(value))
        except (ValueError, TypeError):
            return i, f"{value!r} is not valid"
    return 0, "is not valid"


def _numbers(column: pa.ChunkedArray, name: str, first_line: int) -> npt.NDArray[np.float64]:
    try:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            column = pc.utf8_trim_whitespace(column)
        arr = column.cast(pa.float64())
        if arr.null_count:
            raise pa.ArrowInvalid("null")
        values = arr.to_numpy()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        i, why = _first_bad(column, float)
        raise IntervalFileError(f"{name} {why} (expected a number)", line=first_line + i) from None
    if not np.all(np.isfinite(values)):
        i = int(np.argmin(np.isfinite(values)))
        raise IntervalFileError(f"{name} is not a finite number", line=first_line + i)
    return values


def _parse_local(text: str, tz: dt.tzinfo) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.strip().replace("/", "-"))
    return value if value.tzinfo else value.replace(tzinfo=tz)


def _timestamps(column: pa.ChunkedArray, tz: dt.tzinfo, first_line: int) -> npt.NDArray[np.int64]:
    """Epoch seconds (UTC). Text without an offset is local time in `tz`."""
    if pa.types.is_timestamp(column.type):
        unit_type = column.type
        if unit_type.tz is None:
            # Naive Parquet timestamps are wall-clock times in the utility's zone.
            column = pc.assume_timezone(column, timezone=str(tz))
        return column.cast(pa.timestamp("s", tz="UTC")).cast(pa.int64()).to_numpy()
    texts = column.to_pylist()
    out = np.empty(len(texts), dtype=np.int64)
    cache: dict[str, int] = {}
    for i, text in enumerate(texts):
        if text is None:
            raise IntervalFileError("ts is empty", line=first_line + i)
        hit = cache.get(text)
        if hit is None:
            try:
                hit = int(_parse_local(text, tz).timestamp())
            except ValueError:
                raise IntervalFileError(
                    f"ts {text!r} is not a time like 2024-07-01 08:15", line=first_line + i
                ) from None
            cache[text] = hit
        out[i] = hit
    return out


def _days(column: pa.ChunkedArray, first_line: int) -> npt.NDArray[np.int64]:
    """Days since 1970-01-01."""
    if pa.types.is_date(column.type):
        return column.cast(pa.date32()).cast(pa.int32()).to_numpy().astype(np.int64)
    if pa.types.is_timestamp(column.type):
        return column.cast(pa.date32()).cast(pa.int32()).to_numpy().astype(np.int64)
    texts = column.to_pylist()
    out = np.empty(len(texts), dtype=np.int64)
    epoch = dt.date(1970, 1, 1)
    cache: dict[str, int] = {}
    for i, text in enumerate(texts):
        hit = cache.get(text) if text is not None else None
        if hit is None:
            try:
                hit = (dt.date.fromisoformat(str(text).strip().replace("/", "-")) - epoch).days
            except ValueError:
                raise IntervalFileError(f"day {text!r} is not a date like 2024-07-01", line=first_line + i) from None
            cache[str(text)] = hit
        out[i] = hit
    return out


def _series_ids(
    table: pa.Table, cols: dict[str, str], accounts: Mapping[str, int] | None, first_line: int, report: Report
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """customer ids per row, and a mask of rows whose customer is unknown (reported as errors)."""
    if "customer_id" in cols:
        column = table[cols["customer_id"]]
        try:
            if pa.types.is_string(column.type):
                column = pc.utf8_trim_whitespace(column)
            ids = column.cast(pa.int64()).to_numpy()
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            i, why = _first_bad(column, int)
            raise IntervalFileError(f"customer_id {why} (expected a whole number)", line=first_line + i) from None
        unknown = np.zeros(len(ids), dtype=bool)
        if accounts is not None:
            known = np.fromiter(accounts.values(), dtype=np.int64)
            unknown = ~np.isin(ids, known)
    else:
        raw = [str(v).strip() if v is not None else "" for v in table[cols["account_no"]].to_pylist()]
        lookup = accounts or {}
        ids = np.fromiter((lookup.get(a, -1) for a in raw), dtype=np.int64, count=len(raw))
        unknown = ids < 0
    if accounts is not None and unknown.any():
        for i in np.flatnonzero(unknown)[:MAX_PROBLEMS]:
            report.add(
                Problem(
                    "error", "unknown_customer", first_line + int(i), _label(table, cols, int(i)), "unknown customer"
                )
            )
        report.error_count += max(0, int(unknown.sum()) - min(int(unknown.sum()), MAX_PROBLEMS))
    return ids, unknown


def _label(table: pa.Table, cols: dict[str, str], i: int) -> str:
    key = "account_no" if "account_no" in cols else "customer_id"
    return f"{key}={table[cols[key]][i].as_py()}"
