"""Validation and normalisation: problems per row and series, gaps, spikes, registers; the wide daily rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from gridcare.dsm.intervals.conversion import _days, _numbers, _series_ids, _timestamps
from gridcare.dsm.intervals.model import (
    DAILY_SCHEMA,
    INTERVAL_SCHEMA,
    MAX_PROBLEMS,
    SLOT_COLUMNS,
    SLOT_SECONDS,
    SLOTS,
    IntervalFileError,
    Options,
    Problem,
    Report,
    Result,
)
from gridcare.dsm.intervals.reading import _columns, detect_layout, read_raw


def _runs(keys: npt.NDArray[np.int64]) -> list[tuple[int, int]]:
    """[start, end) of each run of equal keys in a sorted array."""
    if len(keys) == 0:
        return []
    cuts = np.flatnonzero(np.diff(keys)) + 1
    starts = np.concatenate(([0], cuts))
    ends = np.concatenate((cuts, [len(keys)]))
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def _slot_label(t: int, tz: dt.tzinfo) -> str:
    return dt.datetime.fromtimestamp(t, tz).strftime("%Y-%m-%d %H:%M")


def _check_values(
    values: npt.NDArray[np.float64], lines: npt.NDArray[np.int64], ids: npt.NDArray[np.int64], name: str, report: Report
) -> None:
    negative = np.flatnonzero(values < 0)
    for i in negative[:MAX_PROBLEMS]:
        report.add(
            Problem("error", "negative", int(lines[i]), f"customer_id={ids[i]}", f"{name} {values[i]:g} is negative")
        )
    report.error_count += max(0, len(negative) - MAX_PROBLEMS)


def _spikes(
    order_values: npt.NDArray[np.float64],
    runs: Iterable[tuple[int, int]],
    lines: npt.NDArray[np.int64],
    ids: npt.NDArray[np.int64],
    opts: Options,
    report: Report,
    describe: Callable[[int], str],
) -> None:
    for start, end in runs:
        chunk = order_values[start:end]
        if end - start < 8:
            continue
        limit = max(opts.spike_factor * float(np.percentile(chunk, 95)), opts.spike_min)
        for j in np.flatnonzero(chunk > limit)[:20]:
            k = start + int(j)
            report.add(
                Problem(
                    "warning",
                    "spike",
                    int(lines[k]),
                    f"customer_id={ids[k]}",
                    f"spike at {describe(k)}: {chunk[j]:g} is above {limit:.3g} "
                    f"({opts.spike_factor:g} × the series' 95th percentile)",
                )
            )


def _duplicates(
    ids: npt.NDArray[np.int64],
    keys: npt.NDArray[np.int64],
    lines: npt.NDArray[np.int64],
    label: Callable[[int], str],
    report: Report,
) -> npt.NDArray[np.intp]:
    """Report each reading whose customer and time (sorted) repeat the previous row's; returns their positions."""
    dup = np.flatnonzero((np.diff(ids) == 0) & (np.diff(keys) == 0))
    for i in dup[:MAX_PROBLEMS]:
        message = f"{label(int(keys[i]))} is also on line {lines[i]}"
        report.add(Problem("error", "duplicate", int(lines[i + 1]), f"customer_id={ids[i]}", message))
    return dup


def _start(
    table: pa.Table,
    layouts: tuple[str, ...],
    what: str,
    accounts: Mapping[str, int] | None,
    first_line: int,
    report: Report,
) -> tuple[dict[str, str], str, npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """The columns, the layout (refused unless one of `layouts`) and each row's series id."""
    cols = _columns(table)
    layout = detect_layout(table)
    if layout not in layouts:
        raise IntervalFileError(f"expected {what}, found a {layout} layout", line=1)
    ids, unknown = _series_ids(table, cols, accounts, first_line, report)
    return cols, layout, ids, unknown


def validate_intervals(
    table: pa.Table, *, first_line: int, accounts: Mapping[str, int] | None = None, opts: Options | None = None
) -> Result:
    """96-point data (long or wide) → INTERVAL_SCHEMA rows, with every problem reported."""
    opts = opts or Options()
    report = Report(kind="interval")
    cols, layout, ids, unknown = _start(table, ("long", "wide"), "96-point data", accounts, first_line, report)
    n = table.num_rows
    row_lines = np.arange(first_line, first_line + n, dtype=np.int64)
    if layout == "long":
        unit_col = "kw" if "kw" in cols else "kwh"
        values = _numbers(table[cols[unit_col]], unit_col, first_line)
        if unit_col == "kwh":
            values = values * (3600 / SLOT_SECONDS)
        seconds = _timestamps(table[cols["ts"]], opts.tz, first_line)
        lines = row_lines
    else:
        days = _days(table[cols["day"]], first_line)
        mats = [_numbers(table[cols[f"p{i}"]], f"p{i}", first_line) for i in range(1, SLOTS + 1)]
        values = np.stack(mats, axis=1).reshape(-1)
        # local midnight of each day, then 15-minute steps (a wide row is one local calendar day)
        midnights = np.asarray(
            [
                int(
                    dt.datetime.combine(dt.date(1970, 1, 1) + dt.timedelta(days=int(d)), dt.time(), opts.tz).timestamp()
                )
                for d in days
            ],
            dtype=np.int64,
        )
        seconds = (midnights[:, None] + np.arange(SLOTS, dtype=np.int64)[None, :] * SLOT_SECONDS).reshape(-1)
        ids = np.repeat(ids, SLOTS)
        unknown = np.repeat(unknown, SLOTS)
        lines = np.repeat(row_lines, SLOTS)
    off_grid = np.flatnonzero(seconds % SLOT_SECONDS != 0)
    for i in off_grid[:MAX_PROBLEMS]:
        report.add(
            Problem(
                "error",
                "grid",
                int(lines[i]),
                f"customer_id={ids[i]}",
                f"{_slot_label(int(seconds[i]), opts.tz)} is not on a quarter hour",
            )
        )
    _check_values(values, lines, ids, "kw", report)
    keep = ~unknown
    ids, seconds, values, lines = ids[keep], seconds[keep], values[keep], lines[keep]
    order = np.lexsort((seconds, ids))
    ids, seconds, values, lines = ids[order], seconds[order], values[order], lines[order]
    dup = _duplicates(ids, seconds, lines, lambda k: _slot_label(k, opts.tz), report)
    report.error_count += max(0, len(dup) - MAX_PROBLEMS)
    runs = _runs(ids)
    report.rows = len(values)
    report.series = len(runs)
    filled = np.zeros(len(values), dtype=bool)
    if report.ok:
        _spikes(values, runs, lines, ids, opts, report, lambda k: _slot_label(int(seconds[k]), opts.tz))
        ids, seconds, values, filled = _gaps(ids, seconds, values, lines, runs, SLOT_SECONDS, opts, report)
    local = _local_day_slot(seconds, opts.tz)
    if len(seconds):
        report.first_day = dt.date(1970, 1, 1) + dt.timedelta(days=int(local[0].min()))
        report.last_day = dt.date(1970, 1, 1) + dt.timedelta(days=int(local[0].max()))
    return Result(to_wide(ids, local[0], local[1], values, filled), report)


def to_wide(
    ids: npt.NDArray[np.int64],
    days: npt.NDArray[np.int64],
    slots: npt.NDArray[np.int64],
    values: npt.NDArray[np.float64],
    filled: npt.NDArray[np.bool_],
) -> pa.Table:
    """Long (customer, day, slot, kW) rows → one INTERVAL_SCHEMA row per customer-day."""
    if len(ids) == 0:
        return INTERVAL_SCHEMA.empty_table()
    keys = np.stack([ids, days], axis=1)
    uniq, row = np.unique(keys, axis=0, return_inverse=True)
    row = row.reshape(-1)
    matrix = np.full((len(uniq), SLOTS), np.nan, dtype=np.float32)
    matrix[row, slots] = values
    present = ~np.isnan(matrix)
    filled_lists: list[list[int]] = [[] for _ in range(len(uniq))]
    for r, slot in zip(row[filled].tolist(), slots[filled].tolist(), strict=True):
        filled_lists[r].append(int(slot))
    columns: dict[str, pa.Array] = {
        "customer_id": pa.array(uniq[:, 0], pa.int64()),
        "day": pa.array(uniq[:, 1].astype(np.int32), pa.int32()).cast(pa.date32()),
        "points": pa.array(present.sum(axis=1).astype(np.int16), pa.int16()),
        "filled": pa.array(filled_lists, pa.list_(pa.int16())),
    }
    for i, name in enumerate(SLOT_COLUMNS):
        columns[name] = pa.array(matrix[:, i], pa.float32(), mask=~present[:, i])
    return pa.table(columns, schema=INTERVAL_SCHEMA)


def _local_day_slot(
    seconds: npt.NDArray[np.int64], tz: dt.tzinfo
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Local calendar day (days since epoch) and 15-minute slot; China has no DST, so one offset per hour."""
    if len(seconds) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    hours = seconds // 3600
    uniq, inverse = np.unique(hours, return_inverse=True)
    offsets = np.asarray(
        [int(dt.datetime.fromtimestamp(int(h) * 3600, tz).utcoffset().total_seconds()) for h in uniq],  # type: ignore[union-attr]
        dtype=np.int64,
    )
    local = seconds + offsets[inverse]
    return local // 86400, (local % 86400) // SLOT_SECONDS


def _gaps(
    ids: npt.NDArray[np.int64],
    keys: npt.NDArray[np.int64],
    values: npt.NDArray[np.float64],
    lines: npt.NDArray[np.int64],
    runs: list[tuple[int, int]],
    step: int,
    opts: Options,
    report: Report,
    describe: Callable[[int], str] | None = None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Report each gap inside a series; fill it by linear interpolation only when asked (and flag the rows)."""
    describe = describe or (lambda t: _slot_label(t, opts.tz))
    steps = np.diff(keys)
    same = np.diff(ids) == 0
    gap_at = np.flatnonzero(same & (steps > step))
    for i in gap_at[:MAX_PROBLEMS]:
        missing = int(steps[i] // step) - 1
        report.add(
            Problem(
                "warning",
                "gap",
                int(lines[i + 1]),
                f"customer_id={ids[i]}",
                f"{missing} reading(s) missing after {describe(int(keys[i]))}"
                + (" — filled by interpolation" if opts.fill_gaps else ""),
            )
        )
    report.warning_count += max(0, len(gap_at) - MAX_PROBLEMS)
    filled = np.zeros(len(values), dtype=bool)
    if not opts.fill_gaps or len(gap_at) == 0:
        return ids, keys, values, filled
    parts_ids, parts_keys, parts_vals, parts_fill = [], [], [], []
    previous = 0
    for i in gap_at:
        parts_ids.append(ids[previous : i + 1])
        parts_keys.append(keys[previous : i + 1])
        parts_vals.append(values[previous : i + 1])
        parts_fill.append(filled[previous : i + 1])
        new_keys = np.arange(keys[i] + step, keys[i + 1], step, dtype=np.int64)
        frac = (new_keys - keys[i]) / (keys[i + 1] - keys[i])
        parts_ids.append(np.full(len(new_keys), ids[i], dtype=np.int64))
        parts_keys.append(new_keys)
        parts_vals.append(values[i] + frac * (values[i + 1] - values[i]))
        parts_fill.append(np.ones(len(new_keys), dtype=bool))
        previous = int(i) + 1
    parts_ids.append(ids[previous:])
    parts_keys.append(keys[previous:])
    parts_vals.append(values[previous:])
    parts_fill.append(filled[previous:])
    out_fill = np.concatenate(parts_fill)
    report.filled = int(out_fill.sum())
    return np.concatenate(parts_ids), np.concatenate(parts_keys), np.concatenate(parts_vals), out_fill


def validate_daily(
    table: pa.Table, *, first_line: int, accounts: Mapping[str, int] | None = None, opts: Options | None = None
) -> Result:
    """Daily kWh or register readings → DAILY_SCHEMA rows (kWh per day; registers differenced)."""
    opts = opts or Options()
    report = Report(kind="daily")
    cols, layout, ids, unknown = _start(table, ("daily", "register"), "daily readings", accounts, first_line, report)
    days = _days(table[cols["day"]], first_line)
    name = "reading" if layout == "register" else "kwh"
    values = _numbers(table[cols[name]], name, first_line)
    lines = np.arange(first_line, first_line + table.num_rows, dtype=np.int64)
    _check_values(values, lines, ids, name, report)
    keep = ~unknown
    ids, days, values, lines = ids[keep], days[keep], values[keep], lines[keep]
    order = np.lexsort((days, ids))
    ids, days, values, lines = ids[order], days[order], values[order], lines[order]

    def day_text(k: int) -> str:
        return (dt.date(1970, 1, 1) + dt.timedelta(days=int(k))).isoformat()

    _duplicates(ids, days, lines, day_text, report)
    runs = _runs(ids)
    report.rows, report.series = len(values), len(runs)
    readings = values.copy() if layout == "register" else np.full(len(values), np.nan)
    kwh = values.copy()
    if layout == "register":
        kwh = np.full(len(values), np.nan)
        for start, end in runs:
            diffs = np.diff(values[start:end])
            for j in np.flatnonzero(diffs < 0):
                k = start + int(j) + 1
                prev, cur = values[k - 1], values[k]
                modulus = opts.register_modulus
                if modulus is not None and prev > 0.5 * modulus and cur < 0.5 * modulus:
                    diffs[j] = modulus - prev + cur
                    report.add(
                        Problem(
                            "warning",
                            "rollover",
                            int(lines[k]),
                            f"customer_id={ids[k]}",
                            f"register rolled over on {day_text(int(days[k]))} ({prev:g} → {cur:g}); "
                            f"counted {diffs[j]:g} kWh",
                        )
                    )
                else:
                    report.add(
                        Problem(
                            "error",
                            "backwards",
                            int(lines[k]),
                            f"customer_id={ids[k]}",
                            f"register went down on {day_text(int(days[k]))} ({prev:g} → {cur:g})"
                            + ("" if modulus else "; give --register-digits if it rolled over"),
                        )
                    )
            # a reading is the register at the end of its day: the day's kWh is the difference to the day before
            kwh[start + 1 : end] = diffs
    filled = np.zeros(len(kwh), dtype=bool)
    if report.ok:
        _spikes(np.nan_to_num(kwh), runs, lines, ids, opts, report, lambda k: day_text(int(days[k])))
        if layout == "register":
            ids, days, kwh, readings, filled = _register_gaps(ids, days, kwh, readings, lines, opts, report, day_text)
        else:
            ids, days, kwh, filled = _gaps(ids, days, kwh, lines, runs, 1, opts, report, lambda d: day_text(d))
            readings = np.full(len(kwh), np.nan)
    if len(days):
        report.first_day = dt.date(1970, 1, 1) + dt.timedelta(days=int(days.min()))
        report.last_day = dt.date(1970, 1, 1) + dt.timedelta(days=int(days.max()))
    table_out = pa.table(
        {
            "customer_id": pa.array(ids, pa.int64()),
            "day": pa.array(days.astype(np.int32), pa.int32()).cast(pa.date32()),
            "kwh": pa.array(kwh, pa.float64(), from_pandas=True),
            "reading": pa.array(readings, pa.float64(), from_pandas=True),
            "filled": pa.array(filled, pa.bool_()),
        },
        schema=DAILY_SCHEMA,
    )
    return Result(table_out, report)


def _register_gaps(
    ids: npt.NDArray[np.int64],
    days: npt.NDArray[np.int64],
    kwh: npt.NDArray[np.float64],
    readings: npt.NDArray[np.float64],
    lines: npt.NDArray[np.int64],
    opts: Options,
    report: Report,
    day_text: Callable[[int], str],
) -> tuple[
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    npt.NDArray[np.bool_],
]:
    """Missing register days: the next reading holds their energy; when filling, it is shared evenly and flagged."""
    steps = np.diff(days)
    gap_at = np.flatnonzero((np.diff(ids) == 0) & (steps > 1))
    filled = np.zeros(len(kwh), dtype=bool)
    for i in gap_at[:MAX_PROBLEMS]:
        missing = int(steps[i]) - 1
        action = "shared evenly over the missing days (filled)" if opts.fill_gaps else "counted on the next reading"
        report.add(
            Problem(
                "warning",
                "gap",
                int(lines[i + 1]),
                f"customer_id={ids[i]}",
                f"{missing} day(s) without a reading after {day_text(int(days[i]))}; their energy is {action}",
            )
        )
    report.warning_count += max(0, len(gap_at) - MAX_PROBLEMS)
    if not opts.fill_gaps or len(gap_at) == 0:
        return ids, days, kwh, readings, filled
    out: list[tuple[int, int, float, float, bool]] = []
    gap_set = set(gap_at.tolist())
    for k in range(len(kwh)):
        if k - 1 in gap_set:
            span = int(days[k] - days[k - 1])
            share = kwh[k] / span
            for extra in range(1, span):
                out.append((int(ids[k]), int(days[k - 1]) + extra, share, np.nan, True))
            out.append((int(ids[k]), int(days[k]), share, float(readings[k]), True))
        else:
            out.append((int(ids[k]), int(days[k]), float(kwh[k]), float(readings[k]), False))
    report.filled = sum(1 for row in out if row[4])
    return (
        np.asarray([r[0] for r in out], dtype=np.int64),
        np.asarray([r[1] for r in out], dtype=np.int64),
        np.asarray([r[2] for r in out], dtype=np.float64),
        np.asarray([r[3] for r in out], dtype=np.float64),
        np.asarray([r[4] for r in out], dtype=bool),
    )


def validate_file(
    path: Path,
    *,
    accounts: Mapping[str, int] | None = None,
    opts: Options | None = None,
    progress: Callable[[int], None] | None = None,
) -> Result:
    table, first_line = read_raw(path, progress)
    if table.num_rows == 0:
        raise IntervalFileError("the file has no rows", line=first_line)
    layout = detect_layout(table)
    if layout in ("long", "wide"):
        return validate_intervals(table, first_line=first_line, accounts=accounts, opts=opts)
    return validate_daily(table, first_line=first_line, accounts=accounts, opts=opts)
