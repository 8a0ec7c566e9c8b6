"""Interval data (负荷曲线) and daily register readings: read CSV/Parquet, validate, normalise. Pure; no database.

Accepted layouts (column names, case-insensitive; the series is `customer_id` or `account_no`):

* long 96-point: `customer_id, ts, kw` (or `kwh` per 15 minutes) — `ts` is the start of the interval;
* wide 96-point: `customer_id, day, p1 … p96` (kW, p1 = 00:00–00:15);
* daily energy: `customer_id, day, kwh`;
* daily register: `customer_id, day, reading` (the cumulative kWh register at the end of the day).

Validation reports problems per row (file line) and series. Errors refuse the whole file: unreadable
values, timestamps off the quarter hour, negative values, duplicate readings, unknown customers,
registers that go backwards without a rollover. Warnings are reported and the data kept: gaps
(filled by linear interpolation only when asked, and then flagged `filled`), spikes and register
rollovers (corrected by the register's modulus).

The package follows the steps of an import: `model` (the stored schemas, options, the report), `reading`
(file to a table of text), `conversion` (text to numbers and instants with line numbers), `validation`
(problems, gaps, spikes, registers, the wide rows). Import from here.
"""

from gridcare.dsm.intervals.model import (
    DAILY_SCHEMA,
    INTERVAL_SCHEMA,
    MAX_PROBLEMS,
    SERIES_COLUMNS,
    SHANGHAI,
    SLOT_COLUMNS,
    SLOT_SECONDS,
    SLOTS,
    IntervalFileError,
    Options,
    Problem,
    Report,
    Result,
)
from gridcare.dsm.intervals.reading import detect_layout, read_raw
from gridcare.dsm.intervals.validation import to_wide, validate_daily, validate_file, validate_intervals

__all__ = [
    "DAILY_SCHEMA",
    "INTERVAL_SCHEMA",
    "MAX_PROBLEMS",
    "SERIES_COLUMNS",
    "SHANGHAI",
    "SLOTS",
    "SLOT_COLUMNS",
    "SLOT_SECONDS",
    "IntervalFileError",
    "Options",
    "Problem",
    "Report",
    "Result",
    "detect_layout",
    "read_raw",
    "to_wide",
    "validate_daily",
    "validate_file",
    "validate_intervals",
]
