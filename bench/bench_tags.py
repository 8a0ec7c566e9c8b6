"""The full default tag catalogue on DuckDB over 1,000,000 customers × a year of daily kWh (365M rows).

Prints: the engine's time for every default tag; the floor (one aggregate scan of the daily table) and the
ratio; and, on a 100,000-customer store, 5 representative tags written straightforwardly in pandas against
the engine running the same 5 tags. Writes bench/results/tags.txt. The synthetic store is generated once with
DuckDB under var/bench/ (not timed) and reused. BENCH_CUSTOMERS / BENCH_PANDAS_CUSTOMERS change the sizes.
"""

# ruff: noqa: S608, E501 - synthetic data is generated with long SQL statements built here, from constants

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gridcare.tags import engine, rules  # noqa: E402
from gridcare.tags.defaults import TAGS  # noqa: E402

AS_OF = dt.date(2026, 6, 30)
N = int(os.environ.get("BENCH_CUSTOMERS", "1000000"))
N_PANDAS = int(os.environ.get("BENCH_PANDAS_CUSTOMERS", "100000"))
FIVE = ["monthly_kwh_band", "usage_trend", "pay_timeliness", "arrears_risk", "customer_value"]


def generate(root: Path, n: int) -> Path:
    """customers, daily_kwh (n × 365, 10 files), payments (n × 12), work_orders, load_96 (2% × 7 days)."""
    if (root / "done").exists():
        return root
    root.mkdir(parents=True, exist_ok=True)
    (root / "daily_kwh").mkdir(exist_ok=True)
    (root / "load_96").mkdir(exist_ok=True)
    con = duckdb.connect()
    start = AS_OF - dt.timedelta(days=364)
    u = "((hash(c, {salt}) % 100000) / 100000.0)"  # deterministic uniform per customer
    con.execute(f"""COPY (SELECT c AS customer_id, CAST(3100000000 + c AS VARCHAR) AS account_no,
        CASE WHEN c % 10 < 7 THEN 'lv_resident' WHEN c % 10 < 9 THEN 'lv_business' ELSE 'hv' END AS customer_type,
        CASE WHEN c % 10 < 7 THEN 'resident' WHEN c % 10 < 9 THEN 'commercial' WHEN c % 20 = 9 THEN 'large_industry'
             ELSE 'other' END AS category,
        CASE WHEN c % 10 < 7 THEN '' ELSE '制造业' END AS industry,
        CASE WHEN c % 10 < 7 THEN '220V' WHEN c % 10 < 9 THEN '380V' ELSE '10kV' END AS voltage_level,
        CASE WHEN c % 10 < 7 THEN 8.0 WHEN c % 10 < 9 THEN 50.0 ELSE 630.0 END AS contract_kva,
        CASE WHEN c % 3 = 0 THEN 'rural' ELSE 'urban' END AS area_class, 'QC-LJ' AS district,
        'TA' || (c // 200) AS transformer_area_code, 'F' || (c // 3000) AS feeder_code,
        DATE '2000-01-01' + CAST({u.format(salt=1)} * 9000 AS INTEGER) AS opened_on,
        CASE WHEN c % 500 = 0 THEN 'first' ELSE '' END AS important_level, c % 97 = 0 AS is_sensitive,
        'normal' AS status, c % 10 < 4 AS is_prepaid
        FROM range(1, {n + 1}) t(c)) TO '{root}/customers.parquet' (FORMAT parquet, COMPRESSION zstd)""")
    files = 10
    step = (n + files - 1) // files
    for f in range(files):
        lo, hi = f * step + 1, min((f + 1) * step, n) + 1
        con.execute(f"""COPY (SELECT c AS customer_id, DATE '{start}' + CAST(d AS INTEGER) AS day,
            CAST(CASE WHEN c % 10 < 7 THEN 6.0 WHEN c % 10 < 9 THEN 40.0 ELSE 900.0 END
                 * (0.3 + 1.4 * {u.format(salt=2)}) * (CASE WHEN c % 37 = 0 THEN 0.02 ELSE 1 END)
                 * (1 + (({u.format(salt=3)}) - 0.5) * 0.6 * d / 365.0)
                 * (0.85 + 0.3 * ((hash(c, d) % 1000) / 1000.0)) AS FLOAT) AS kwh
            FROM range({lo}, {hi}) t(c), range(0, 365) s(d) ORDER BY c, d)
            TO '{root}/daily_kwh/part-{f:02d}.parquet' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1048576)""")
    con.execute(f"""COPY (SELECT c AS customer_id, DATE '{AS_OF.replace(day=1)}' - INTERVAL (m) MONTH AS month,
        CAST(c % 400 + 50 AS BIGINT) AS billed_kwh, ((c % 400) + 50) * 0.6 AS amount_yuan,
        CAST(DATE '{AS_OF.replace(day=1)}' - INTERVAL (m) MONTH + INTERVAL 25 DAY AS DATE) AS due_date,
        CASE WHEN c % 50 = 0 AND m < 2 THEN NULL
             ELSE CAST(DATE '{AS_OF.replace(day=1)}' - INTERVAL (m) MONTH + INTERVAL (CAST(10 + (hash(c, m) % 25) AS INTEGER)) DAY AS DATE)
        END AS paid_on,
        ['微信', '支付宝', '网银', '营业厅', '代扣'][CAST(1 + (hash(c, m) % 5) AS BIGINT)] AS channel,
        CASE WHEN c % 10 < 4 THEN (c % 300) * 1.0 END AS prepaid_balance_yuan
        FROM range(1, {n + 1}) t(c), range(0, 12) s(m)) TO '{root}/payments.parquet' (FORMAT parquet, COMPRESSION zstd)""")
    con.execute(f"""COPY (SELECT (hash(i, 7) % {n}) + 1 AS customer_id,
        TIMESTAMP '{AS_OF}' - INTERVAL (CAST(hash(i, 8) % 8000 AS INTEGER)) HOUR AS created_at,
        ['repair', 'repair', 'consult', 'complaint'][CAST(1 + (hash(i, 9) % 4) AS BIGINT)] AS kind,
        CASE WHEN i % 3 = 0 THEN CAST(1 + hash(i, 10) % 5 AS INTEGER) END AS satisfaction
        FROM range(0, {n // 2}) t(i)) TO '{root}/work_orders.parquet' (FORMAT parquet, COMPRESSION zstd)""")
    con.execute(f"""COPY (SELECT c AS customer_id, TIMESTAMP '{AS_OF - dt.timedelta(days=6)}' + INTERVAL (q * 15) MINUTE AS ts,
        CAST((1.0 + sin((q % 96) / 96.0 * 6.283 * (1 + c % 2))) * (1 + (hash(c, q) % 100) / 500.0) AS FLOAT) AS kw
        FROM range(1, {n + 1}, 50) t(c), range(0, 96 * 7) s(q)) TO '{root}/load_96/part-00.parquet' (FORMAT parquet)""")
    con.close()
    (root / "done").touch()
    return root


def timed(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - t


def floor_scan(root: Path) -> float:
    con = duckdb.connect()
    t = time.perf_counter()
    con.execute(
        f"SELECT count(*) FROM (SELECT customer_id, sum(kwh) FROM read_parquet('{root}/daily_kwh/*.parquet') "
        f"WHERE day > DATE '{AS_OF}' - INTERVAL 365 DAY GROUP BY customer_id)"
    ).fetchall()
    return time.perf_counter() - t


def pandas_five(root: Path) -> pd.DataFrame:
    """The 5 tags the way an analyst would write them in pandas (read everything, groupby, cut)."""
    daily = pd.read_parquet(root / "daily_kwh")
    daily["month"] = pd.to_datetime(daily["day"]).dt.to_period("M")
    monthly = daily.groupby(["customer_id", "month"]).agg(kwh=("kwh", "sum"), days=("kwh", "size")).reset_index()
    per = monthly.groupby("customer_id").agg(kwh=("kwh", "sum"), days=("days", "sum"), months=("kwh", "size"))
    avg_monthly = per["kwh"] / per["months"]
    out = pd.DataFrame(index=per.index)
    out["monthly_kwh_band"] = pd.cut(
        avg_monthly, [-np.inf, 20, 150, 400, 2000, np.inf], right=False, labels=["极低", "低", "中", "较高", "高"]
    )
    monthly["x"] = monthly["month"].apply(lambda p: p.year * 12 + p.month).astype(float)
    monthly["y"] = monthly["kwh"] / monthly["days"] * 30

    def slope(g: pd.DataFrame) -> float:
        return float(np.polyfit(g["x"], g["y"], 1)[0]) if len(g) >= 3 else np.nan

    slopes = monthly.groupby("customer_id")[["x", "y"]].apply(slope)
    pct = slopes / (per["kwh"] / per["days"] * 30) * 100
    out["usage_trend"] = pd.cut(pct, [-np.inf, -3, 3, np.inf], right=False, labels=["下降", "平稳", "上升"])
    pay = pd.read_parquet(root / "payments.parquet")
    pay["amount_yuan"] = pay["amount_yuan"].astype(float)
    pay["on_time"] = pay["paid_on"].notna() & (pay["paid_on"] <= pay["due_date"])
    pay["overdue"] = pay["paid_on"].isna() & (pd.to_datetime(pay["due_date"]) < pd.Timestamp(AS_OF))
    p = pay.groupby("customer_id").agg(
        on_time=("on_time", "mean"),
        overdue=("overdue", "sum"),
        revenue=("amount_yuan", "sum"),
        bills=("amount_yuan", "size"),
    )
    out["pay_timeliness"] = pd.cut(
        p["on_time"], [-np.inf, 0.5, 0.9, np.inf], right=False, labels=["经常逾期", "偶有逾期", "按时交费"]
    )
    out["arrears_risk"] = np.where(
        p["overdue"] >= 2, "高", np.where((p["overdue"] >= 1) | (p["on_time"] < 0.5), "中", "低")
    )
    r = p["revenue"].sort_values(ascending=False)
    before = r.cumsum() - r
    total = r.sum()
    out["customer_value"] = pd.Series(
        np.where(before < 0.8 * total, "高价值", np.where(before < 0.95 * total, "中价值", "一般")), index=r.index
    )
    return out


def main() -> None:
    compiled = [rules.compile_rule(t["code"], t["rule"], t["values"]) for t in TAGS]
    big = generate(ROOT / "var" / "bench" / f"tags_{N}", N)
    inputs = engine.find_inputs(big)
    out, seconds = timed(engine.run_duckdb, compiled, inputs, AS_OF, temp_dir=big / "tmp")
    floor = floor_scan(big)
    maps, bitmap_s = timed(engine.bitmaps, out.values)
    lines = [
        f"store: {N:,} customers, {out.coverage['daily_kwh']['rows']:,} daily rows, "
        f"{out.coverage['payments']['rows']:,} payments, {out.coverage['work_orders']['rows']:,} work orders, "
        f"{out.coverage['load_96']['rows']:,} load points; {os.cpu_count()} cores",
        f"full default catalogue ({len(compiled)} tags, {out.passes} passes, DuckDB): {seconds:.1f} s (target ≤ 120 s); "
        f"{out.values.num_rows:,} values; errors: {out.errors or 'none'}",
        f"bitmaps for every tag value: {bitmap_s:.1f} s ({len(maps)} bitmaps)",
        f"baseline floor, one aggregate scan of daily_kwh: {floor:.1f} s; catalogue / floor = {seconds / floor:.1f}x",
    ]
    small = generate(ROOT / "var" / "bench" / f"tags_{N_PANDAS}", N_PANDAS)
    five = [t for t in compiled if t.code in FIVE]
    _eng, eng_s = timed(engine.run_duckdb, five, engine.find_inputs(small), AS_OF)
    _pd, pd_s = timed(pandas_five, small)
    lines += [
        f"5 tags ({', '.join(FIVE)}) on {N_PANDAS:,} customers: engine {eng_s:.2f} s; baseline pandas {pd_s:.1f} s; "
        f"speed-up {pd_s / eng_s:.1f}x (target ≥ 10x)",
    ]
    text = "\n".join(lines)
    print(text)
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    (ROOT / "bench" / "results" / "tags.txt").write_text(text + "\n")


if __name__ == "__main__":
    main()
