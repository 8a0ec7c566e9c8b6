"""Interval data as stored (wide 96-point and daily schemas), import options, and the report of a file's problems."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field

import pyarrow as pa

SLOTS = 96
SLOT_SECONDS = 900
SERIES_COLUMNS = ("customer_id", "account_no")
MAX_PROBLEMS = 200  # a report lists this many problems of each severity; the count covers all

# One row per customer and local day; p1 … p96 are the average kW of each 15 minutes (p1 = 00:00–00:15),
# NULL where no reading came. Wide rows make per-day statistics a projection and summed curves 96 plain
# column sums, which is what keeps 288 M values within a minute on two cores.
SLOT_COLUMNS = [f"p{i}" for i in range(1, SLOTS + 1)]
INTERVAL_SCHEMA = pa.schema(
    [
        ("customer_id", pa.int64()),
        ("day", pa.date32()),
        ("points", pa.int16()),  # readings present (96 for a complete day)
        ("filled", pa.list_(pa.int16())),  # slots (0–95) filled by interpolation, if any
        *[(name, pa.float32()) for name in SLOT_COLUMNS],
    ]
)
DAILY_SCHEMA = pa.schema(
    [
        ("customer_id", pa.int64()),
        ("day", pa.date32()),
        ("kwh", pa.float64()),
        ("reading", pa.float64()),
        ("filled", pa.bool_()),
    ]
)


class IntervalFileError(ValueError):
    """The file cannot be read at all (format, columns); names the file and, when known, the line."""

    def __init__(self, message: str, *, line: int | None = None):
        self.line = line
        super().__init__(f"line {line}: {message}" if line is not None else message)


@dataclass(frozen=True)
class Problem:
    severity: str  # error | warning
    code: str  # parse, grid, negative, duplicate, unknown_customer, gap, spike, rollover, backwards
    line: int | None  # the file's line (header = line 1) or the Parquet row (first = 1)
    series: str
    message: str

    def describe(self, source: str = "") -> str:
        where = f"{source}:{self.line}" if self.line is not None else source
        return f"{where}: {self.series}: {self.message}" if where else f"{self.series}: {self.message}"


@dataclass
class Report:
    kind: str  # interval | daily
    rows: int = 0
    series: int = 0
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    error_count: int = 0
    warning_count: int = 0
    filled: int = 0
    first_day: dt.date | None = None
    last_day: dt.date | None = None

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def add(self, problem: Problem) -> None:
        if problem.severity == "error":
            self.error_count += 1
            if len(self.errors) < MAX_PROBLEMS:
                self.errors.append(problem)
        else:
            self.warning_count += 1
            if len(self.warnings) < MAX_PROBLEMS:
                self.warnings.append(problem)


SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Options:
    tz: dt.tzinfo = SHANGHAI
    fill_gaps: bool = False
    spike_factor: float = 5.0  # a value above spike_factor × the series' 95th percentile is a spike …
    spike_min: float = 1.0  # … and above this (kW or kWh), so near-zero series raise no alarms
    register_modulus: float | None = None  # e.g. 1e6 for a six-digit register: enables rollover correction
    unit: str = "kw"  # for long files with a `kwh` column this becomes kWh per 15 minutes


@dataclass
class Result:
    table: pa.Table  # INTERVAL_SCHEMA or DAILY_SCHEMA, sorted by customer and time
    report: Report
