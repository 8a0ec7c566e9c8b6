"""Load analytics over 100,000 customers × 30 days × 96 points (288 M values): target ≤ 60 s.

Generates the interval store in a temporary folder (Parquet, the import's schema), then times in the
same run: the floor — one scan of every value (sum and count) — and the full analytics: per customer-day
statistics with the energy in each TOU period, contributions to the system and feeder peaks, the summed
curves of every transformer area against its rating with overload warnings, and typical-day curves per
customer class. Why the floor is a fair baseline: no analysis can avoid reading every value once, so "full
analytics = k scans" says how much the analytics add on top of the unavoidable read, on the same files and
cores; it is a lower bound, not a rival implementation. Run alone: .venv/bin/python bench/bench_dsm_load.py [customers]
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gridcare.dsm import analytics
from gridcare.dsm.intervals import INTERVAL_SCHEMA
from gridcare.dsm.tariffs import shipped_tariffs

SUMS = ", ".join(f"sum(p{i})" for i in range(1, 97))
CUSTOMERS = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
DAYS = 30
CHUNK = 10_000
START = dt.date(2024, 7, 1)


def generate(folder: Path) -> None:
    rng = np.random.default_rng(7)
    shape = (1.0 + 0.6 * np.sin((np.arange(96) - 30) / 96 * 2 * np.pi)).astype(np.float32)
    day0 = (START - dt.date(1970, 1, 1)).days
    for lo in range(0, CUSTOMERS, CHUNK):
        n = min(CHUNK, CUSTOMERS - lo)
        scale = rng.gamma(2.0, 1.5, n).astype(np.float32)
        kw = scale[:, None, None] * shape[None, None, :] * rng.uniform(0.7, 1.3, (n, DAYS, 96)).astype(np.float32)
        kw = kw.reshape(n * DAYS, 96)
        columns = {
            "customer_id": pa.array(np.repeat(np.arange(lo, lo + n, dtype=np.int64), DAYS)),
            "day": pa.array(np.tile(np.arange(day0, day0 + DAYS, dtype=np.int32), n)).cast(pa.date32()),
            "points": pa.array(np.full(n * DAYS, 96, dtype=np.int16)),
            "filled": pa.array([[]] * (n * DAYS), pa.list_(pa.int16())),
        }
        for i in range(96):
            columns[f"p{i + 1}"] = pa.array(kw[:, i])
        table = pa.table(columns, schema=INTERVAL_SCHEMA)
        pq.write_table(table, folder / f"batch-{lo // CHUNK:04d}.parquet", compression="zstd", row_group_size=1 << 20)


def timed(label: str, fn, results: list[str]):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - start
    rows = out.num_rows if hasattr(out, "num_rows") else out
    results.append(f"  {label}: {seconds:.1f} s ({rows:,} rows out)")
    return seconds


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="gridcare-bench-") as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        generate(folder)
        gen = time.perf_counter() - t0
        size = sum(f.stat().st_size for f in folder.glob("*.parquet"))
        source = analytics.store_source(str(folder / "*.parquet"))
        con = analytics.connect()
        tou = shipped_tariffs()["example-commercial-tou"].versions[0].tou
        assert tou is not None
        # 台区 of 100 customers (rated 400 kVA, some deliberately small to raise warnings), 20 台区 per feeder
        ids = range(CUSTOMERS)
        areas = analytics.Groups(
            customer_group={c: f"TA{c // 100}" for c in ids},
            capacity_kva={f"TA{a}": (400.0 if a % 10 else 200.0) for a in range((CUSTOMERS + 99) // 100)},
        )
        feeders = analytics.Groups(customer_group={c: f"F{c // 2000}" for c in ids}, capacity_kva={})
        classes = {c: ("resident" if c % 5 else "commercial") for c in ids}

        lines: list[str] = []
        floor = timed(
            "floor: one scan of every value (sum of each of the 96 columns)",
            lambda: con.execute(f"select {SUMS}, count(*) from {source}").fetchall()[0][-1] * 96,  # noqa: S608
            lines,
        )
        holder: dict[str, object] = {}

        def load() -> int:
            holder["frame"] = analytics.load_frame(con, source)
            return holder["frame"].rows  # type: ignore[attr-defined]

        total = 0.0
        total += timed("load: DuckDB scan of every customer-day into the frame", load, lines)
        frame = holder["frame"]
        total += timed(
            "customer-day max/min/avg/load rate/peak-valley + kWh per TOU period",
            lambda: analytics.customer_day_stats(frame, tou=tou),  # type: ignore[arg-type]
            lines,
        )
        total += timed(
            "contribution to system and feeder peaks",
            lambda: analytics.peak_contribution(frame, groups=feeders),  # type: ignore[arg-type]
            lines,
        )

        def area_curves() -> int:
            holder["curves"] = analytics.group_curves(frame, areas)  # type: ignore[arg-type]
            return len(holder["curves"].group)  # type: ignore[attr-defined]

        total += timed("summed curves of every 台区", area_curves, lines)
        total += timed(
            "overload warnings against rated capacity",
            lambda: len(analytics.overloads(holder["curves"], areas)),  # type: ignore[arg-type]
            lines,
        )
        total += timed(
            "typical-day curves per customer class",
            lambda: len(analytics.typical_day(frame, customer_class=classes)),  # type: ignore[arg-type]
            lines,
        )
        values = CUSTOMERS * DAYS * 96
        head = [
            f"load analytics: {CUSTOMERS:,} customers × {DAYS} days × 96 points = {values / 1e6:,.0f} M values "
            f"({size / 1e9:.2f} GB Parquet, generated in {gen:.0f} s), {os.cpu_count()} cores",
            f"full analytics: {total:.1f} s (target ≤ 60 s); floor of one scan: {floor:.1f} s "
            f"(= {total / floor:.1f} scans)",
        ]
        text = "\n".join(head + lines) + "\n"
        print(text, end="")
        if CUSTOMERS == 100_000:
            out = Path(__file__).resolve().parent / "results" / "dsm_load.txt"
            out.parent.mkdir(exist_ok=True)
            out.write_text(text)


if __name__ == "__main__":
    main()
