"""Benchmark: build the demo city (default 1,000,000 customers) on a fresh SQLite file, with baselines.

Run alone: `.venv/bin/python bench/bench_demo.py [--customers N]`. Everything goes to a temporary directory
(database, Parquet files), so the developer's var/ is never touched. The budget is 10 minutes on a 2-core
machine, Parquet included; the script exits 1 when a run misses it. Baselines measured in the same run:
  plan   the numpy arrays alone (no database, no files) — the floor for the generator's own maths;
  sqlite inserting the same number of minimal rows (id + a unique 10-digit text) with executemany —
         the floor for any Python loader on this disk, per table.
Results are written to bench/results/demo.txt (demo-<N>.txt for other sizes).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUDGET_SECONDS = 600
DEFAULT_CUSTOMERS = 1_000_000


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _mb(n: float) -> str:
    return f"{n / 1e6:,.1f} MB"


def _sqlite_floor(path: Path, n: int) -> float:
    """Seconds to insert n rows of (id, unique 10-digit text) with executemany in one transaction."""
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, account TEXT NOT NULL UNIQUE)")
    started = time.perf_counter()
    with con:
        con.executemany("INSERT INTO t VALUES (?, ?)", ((i, str(3_310_000_000 + i)) for i in range(n)))
    seconds = time.perf_counter() - started
    con.close()
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=DEFAULT_CUSTOMERS)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--keep", action="store_true", help="keep the temporary database and files")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="gridcare-bench-demo-"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "gridcare.settings"
    os.environ["DEBUG"] = "1"
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'gridcare.sqlite3'}"
    os.environ["GRIDCARE_ANALYTICS_DIR"] = str(tmp / "analytics")
    os.environ["GRIDCARE_VAR_DIR"] = str(tmp / "var")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from gridcare.demo.generator import DATA_END, build_demo_city
    from gridcare.demo.plan import plan_city

    try:
        call_command("migrate", verbosity=0)
        load_before = os.getloadavg()
        started = time.perf_counter()
        summary = build_demo_city(
            seed=args.seed,
            customers=args.customers,
            analytics_dir=Path(settings.ANALYTICS_DIR),
            progress=sys.stderr.isatty(),
        )
        wall = time.perf_counter() - started
        peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
        load_after = os.getloadavg()

        started = time.perf_counter()
        plan_city(seed=args.seed, customers=args.customers, data_end=DATA_END)
        plan_seconds = time.perf_counter() - started
        floor = _sqlite_floor(tmp / "floor.sqlite3", args.customers)

        analytics = Path(settings.ANALYTICS_DIR)
        db_bytes = sum(_size(p) for p in tmp.glob("gridcare.sqlite3*"))
        n = summary.customers
        # The ledger is three big tables (service points, customers, contacts), so 3 × floor is the raw minimum.
        lines = [
            f"GridCare demo-city benchmark — {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
            f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}",
            f"customers: {n:,} (seed {args.seed}, data year ending {DATA_END})",
            # Other work on the machine slows the run down; the load average tells a reader how quiet it was.
            f"load average (1 min) before / after: {load_before[0]:.2f} / {load_after[0]:.2f}",
            "",
            f"wall time (migrated DB → everything loaded): {wall:,.1f} s   budget {BUDGET_SECONDS} s",
            f"  plan (numpy):                  {summary.plan_seconds:,.1f} s",
            f"  database load:                 {summary.db_seconds:,.1f} s",
            f"  analytics (parallel with DB):  {summary.analytics_seconds:,.1f} s",
            f"throughput: {n / wall:,.0f} customers/s end to end",
            f"peak RSS: {_mb(peak_rss)}",
            "",
            "rows:",
            f"  customers / service points / contacts: {n:,} each; {summary.transformer_areas:,} transformer areas, "
            f"{summary.feeders} feeders ({summary.grid_devices:,} devices), {summary.substations} substations",
            f"  daily_kwh {summary.daily_kwh_rows:,}, load_96 {summary.load_96_rows:,}, payments "
            f"{summary.payment_rows:,}",
            "sizes:",
            f"  SQLite database (with WAL): {_mb(db_bytes)}",
            *(f"  {name}: {_mb(_size(analytics / name))}" for name in sorted(p.name for p in analytics.iterdir())),
            "",
            "baselines (same run, same machine):",
            f"  plan only, no writes:                          {plan_seconds:,.1f} s",
            f"  SQLite executemany of {n:,} minimal rows:   {floor:,.1f} s  "
            f"(× 3 ledger tables = {3 * floor:,.1f} s floor)",
            f"  database load vs that floor:                   {summary.db_seconds / max(3 * floor, 1e-9):,.1f}×",
        ]
        report = "\n".join(lines) + "\n"
        print(report)
        name = "demo.txt" if n == DEFAULT_CUSTOMERS else f"demo-{n}.txt"
        out = ROOT / "bench" / "results" / name
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(report, encoding="utf-8")
        print(f"written to {out.relative_to(ROOT)}")
        if wall > BUDGET_SECONDS:
            print(f"FAIL: {wall:,.0f} s is over the {BUDGET_SECONDS} s budget", file=sys.stderr)
            return 1
        return 0
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
