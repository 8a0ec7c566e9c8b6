"""Writes the demo city's analytics store (Parquet, zstd) from a plan: no database access at all.

Layout under the target directory:
  customers.parquet       one row per customer: the ledger snapshot the tag engine joins on
  daily_kwh/part-*.parquet one row per customer and day of the data year (customer_id, day, kwh)
  load_96/part-*.parquet  15-minute kW for a sample of customers over the last 90 days
  payments.parquet        monthly bills and how they were paid
Daily files are computed by a small thread pool: numpy and Arrow release the GIL for the heavy work.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from gridcare.demo import usage
from gridcare.demo.plan import (
    CATEGORIES,
    CUSTOMER_TYPES,
    IMPORTANT_LEVELS,
    INDUSTRY_NAMES,
    STATUSES,
    VOLTAGES,
    CityPlan,
)

BLOCK = 16_384  # customers per random stream and per row group batch; fixed, so results never depend on threads
FILE_CUSTOMERS = 4 * BLOCK  # customers per daily_kwh file
ROW_GROUP = 1 << 20
COMPRESSION = "zstd"

DAILY_SCHEMA = pa.schema([("customer_id", pa.int64()), ("day", pa.date32()), ("kwh", pa.float32())])
LOAD96_SCHEMA = pa.schema(
    [("customer_id", pa.int64()), ("ts", pa.timestamp("s", tz="Asia/Shanghai")), ("kw", pa.float32())]
)
MONEY = pa.decimal128(14, 2)
PAYMENTS_SCHEMA = pa.schema(
    [
        ("customer_id", pa.int64()),
        ("month", pa.date32()),
        ("billed_kwh", pa.int64()),
        ("amount_yuan", MONEY),
        ("due_date", pa.date32()),
        ("paid_on", pa.date32()),
        ("channel", pa.string()),
        ("prepaid_balance_yuan", MONEY),
    ]
)


class Cancelled(Exception):
    """The database load failed, so the export stopped early; the caller removes the partial files."""


@dataclass
class AnalyticsResult:
    customer_rows: int
    daily_rows: int
    daily_files: int
    load96_rows: int
    payment_rows: int
    bytes_written: int
    seconds: float


def _labels(codes: np.ndarray, labels: tuple[str, ...] | list[str]) -> pa.Array:
    """Strings from small integer codes, built by Arrow rather than by a Python loop."""
    codes_arr = pa.array(codes, mask=codes < 0) if np.issubdtype(codes.dtype, np.signedinteger) else pa.array(codes)
    return pa.DictionaryArray.from_arrays(codes_arr, pa.array(list(labels), pa.string())).cast(pa.string())


def _money(values: np.ndarray) -> pa.Array:
    return pa.array(values, from_pandas=True).cast(MONEY, safe=False)


def customers_table(plan: CityPlan, id_base: int, unit_ids: list[int]) -> pa.Table:
    c, topo = plan.customers, plan.topology
    district_codes = [d.code for d in plan.districts]
    area_classes = [d.area_class for d in plan.districts]
    return pa.table(
        {
            "customer_id": np.arange(id_base, id_base + c.n, dtype=np.int64),
            "account_no": pa.array(c.account_no).cast(pa.string()),
            "customer_type": _labels(c.ctype, CUSTOMER_TYPES),
            "category": _labels(c.category, CATEGORIES),
            "voltage_level": _labels(c.voltage, VOLTAGES),
            "contract_kva": pa.array(c.contract_kva).cast(pa.decimal128(10, 1), safe=False),
            "industry": _labels(c.industry, INDUSTRY_NAMES).fill_null(""),
            "area_class": _labels(c.district, area_classes),
            "district": _labels(c.district, district_codes),
            "transformer_area_code": _labels(c.ta, topo.ta_code),
            "feeder_code": _labels(topo.ta_fd[c.ta], topo.fd_code),
            "substation_code": _labels(topo.fd_ss[topo.ta_fd[c.ta]], topo.ss_code),
            "service_unit_id": np.asarray(unit_ids, dtype=np.int64)[c.district],
            "opened_on": pa.array(c.opened_on, type=pa.date32()),
            "important_level": _labels(c.important, IMPORTANT_LEVELS),
            "is_sensitive": c.sensitive,
            "status": _labels(c.status, STATUSES),
            "is_prepaid": c.prepaid,
            "lat": c.lat,
            "lon": c.lon,
        }
    )


def _payments_table(p: usage.Payments, id_base: int) -> pa.Table:
    return pa.table(
        {
            "customer_id": p.customer + id_base,
            "month": pa.array(p.month, type=pa.date32()),
            "billed_kwh": p.billed_kwh,
            "amount_yuan": _money(p.amount),
            "due_date": pa.array(p.due_on, type=pa.date32()),
            "paid_on": pa.array(p.paid_on, type=pa.date32(), mask=p.paid_on < 0),
            "channel": _labels(p.channel, usage.CHANNELS),
            "prepaid_balance_yuan": _money(p.balance),
        },
        schema=PAYMENTS_SCHEMA,
    )


@dataclass
class _FileResult:
    payments: list[pa.Table]
    sample_daily: list[np.ndarray]
    rows: int


def _daily_file(
    plan: CityPlan,
    year: usage.DataYear,
    id_base: int,
    path: Path,
    lo: int,
    hi: int,
    sample: np.ndarray,
    cancel: threading.Event,
    tick: Callable[[int], None],
) -> _FileResult:
    result = _FileResult([], [], 0)
    with pq.ParquetWriter(path, DAILY_SCHEMA, compression=COMPRESSION, use_dictionary=["customer_id", "day"]) as writer:
        for b_lo in range(lo, hi, BLOCK):
            if cancel.is_set():
                raise Cancelled
            b_hi = min(b_lo + BLOCK, hi)
            kwh = usage.daily_kwh(plan, year, b_lo, b_hi, b_lo // BLOCK)
            n = b_hi - b_lo
            table = pa.table(
                {
                    "customer_id": np.repeat(np.arange(id_base + b_lo, id_base + b_hi, dtype=np.int64), usage.DAYS),
                    "day": pa.array(np.tile(year.day_numbers, n), type=pa.date32()),
                    "kwh": kwh.ravel(),
                },
                schema=DAILY_SCHEMA,
            )
            writer.write_table(table, row_group_size=ROW_GROUP)
            result.rows += table.num_rows
            del table
            monthly = usage.monthly_kwh(year, kwh)
            result.payments.append(
                _payments_table(usage.payments(plan, year, b_lo, b_hi, b_lo // BLOCK, monthly), id_base)
            )
            mine = sample[(sample >= b_lo) & (sample < b_hi)]
            result.sample_daily.append(kwh[mine - b_lo, -usage.LOAD96_DAYS :].copy())
            tick(n)
    return result


def _sizes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*.parquet"))


def write_analytics(
    plan: CityPlan,
    *,
    id_base: int,
    unit_ids: list[int],
    out_dir: Path,
    year: usage.DataYear | None = None,
    workers: int = 2,
    cancel: threading.Event | None = None,
    tick: Callable[[int], None] = lambda n: None,
) -> AnalyticsResult:
    """Write every analytics file for the plan; customer ids are id_base, id_base+1, … in plan order.

    `unit_ids[d]` is the database id of the unit serving district d; `tick(n)` reports n customers done.
    """
    started = time.perf_counter()
    year = year or usage.data_year(plan.seed, plan.data_end)
    cancel = cancel or threading.Event()
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "daily_kwh").mkdir(exist_ok=True)
    (out_dir / "load_96").mkdir(exist_ok=True)
    pq.write_table(customers_table(plan, id_base, unit_ids), out_dir / "customers.parquet", compression=COMPRESSION)

    n = plan.n
    sample = usage.load96_sample(plan)
    spans = [(lo, min(lo + FILE_CUSTOMERS, n)) for lo in range(0, n, FILE_CUSTOMERS)]
    daily_rows = payment_rows = 0
    sample_daily: list[np.ndarray] = []
    with (
        pq.ParquetWriter(out_dir / "payments.parquet", PAYMENTS_SCHEMA, compression=COMPRESSION) as pay_writer,
        ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="demo-daily") as pool,
    ):
        futures = [
            pool.submit(
                _daily_file,
                plan,
                year,
                id_base,
                out_dir / "daily_kwh" / f"part-{i:05d}.parquet",
                lo,
                hi,
                sample,
                cancel,
                tick,
            )
            for i, (lo, hi) in enumerate(spans)
        ]
        try:
            for result in _in_order(futures):
                daily_rows += result.rows
                for table in result.payments:
                    pay_writer.write_table(table, row_group_size=ROW_GROUP)
                    payment_rows += table.num_rows
                sample_daily.extend(result.sample_daily)
        except BaseException:
            cancel.set()
            for f in futures:
                f.cancel()
            raise

    daily = np.concatenate(sample_daily) if sample_daily else np.zeros((0, usage.LOAD96_DAYS), np.float32)
    customer, ts, kw = usage.load96(plan, year, sample, daily)
    load_table = pa.table(
        {
            "customer_id": customer + id_base,
            "ts": pa.array(ts, type=LOAD96_SCHEMA.field("ts").type),
            "kw": kw,
        },
        schema=LOAD96_SCHEMA,
    )
    pq.write_table(
        load_table, out_dir / "load_96" / "part-00000.parquet", compression=COMPRESSION, row_group_size=ROW_GROUP
    )
    return AnalyticsResult(
        customer_rows=n,
        daily_rows=daily_rows,
        daily_files=len(spans),
        load96_rows=load_table.num_rows,
        payment_rows=payment_rows,
        bytes_written=_sizes(out_dir),
        seconds=time.perf_counter() - started,
    )


def _in_order(futures: list) -> Iterator[_FileResult]:  # type: ignore[type-arg]
    for f in futures:
        yield f.result()
