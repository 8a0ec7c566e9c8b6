"""Builds a small analytics store (Parquet) for the tag tests, so they don't depend on the demo generator."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

AS_OF = dt.date(2026, 6, 30)
CATEGORIES = ["resident", "commercial", "large_industry", "agriculture", "other"]
VOLTAGES = ["220V", "380V", "10kV", "35kV", "110kV"]
CHANNELS = ["微信", "支付宝", "网银", "营业厅", "代扣"]


def write_store(
    root: Path,
    *,
    n: int = 300,
    seed: int = 7,
    as_of: dt.date = AS_OF,
    ids: list[int] | None = None,
    load_days: int = 3,
    scale: float = 1.0,
) -> Path:
    """customers, daily_kwh (a year, partitioned by month), load_96, payments and work_orders for `n` customers.

    Customer 0 (the first id) has no meter data at all, so its usage tags must come out 未知.
    """
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    cid = np.asarray(ids if ids is not None else np.arange(1, n + 1), dtype=np.int64)
    n = len(cid)
    cat_idx = rng.choice(len(CATEGORIES), n, p=[0.7, 0.15, 0.05, 0.05, 0.05])
    category = np.array(CATEGORIES)[cat_idx]
    voltage = np.where(cat_idx == 0, "220V", np.array(VOLTAGES)[rng.integers(1, 5, n)])
    ctype = np.where(cat_idx == 0, "lv_resident", np.where(voltage == "380V", "lv_business", "hv"))
    kva = np.where(cat_idx == 0, 8.0, rng.choice([50.0, 200.0, 630.0, 2000.0], n))
    opened = np.array([dt.date(2000, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 9000, n)])
    pq.write_table(
        pa.table(
            {
                "customer_id": cid,
                "account_no": [f"31{int(c):08d}" for c in cid],
                "customer_type": ctype,
                "category": category,
                "industry": np.where(cat_idx == 0, None, rng.choice(["批发和零售业", "制造业", "住宿和餐饮业"], n)),
                "voltage_level": voltage,
                "contract_kva": kva,
                "area_class": rng.choice(["urban", "rural", "remote"], n, p=[0.6, 0.3, 0.1]),
                "district": rng.choice(["QC-LJ", "QC-TX"], n),
                "transformer_area_code": [f"TA{int(c) % 7}" for c in cid],
                "feeder_code": [f"F{int(c) % 3}" for c in cid],
                "opened_on": pa.array(opened, pa.date32()),
                "important_level": np.where(rng.random(n) < 0.05, "first", ""),
                "is_sensitive": rng.random(n) < 0.03,
                "status": np.where(rng.random(n) < 0.02, "suspended", "normal"),
            }
        ),
        root / "customers.parquet",
    )
    days = np.array([as_of - dt.timedelta(days=int(d)) for d in range(365)])[::-1]
    base = np.where(cat_idx == 0, 6.0, kva * 24 * 0.2) * rng.lognormal(0, 0.5, n) * scale
    vacant = rng.random(n) < 0.08
    base = np.where(vacant, 0.02, base)
    trend = rng.normal(0.0, 0.3, n)
    (root / "daily_kwh").mkdir(exist_ok=True)
    has_data = np.ones(n, bool)
    has_data[0] = False
    for month_start in sorted({d.replace(day=1) for d in days}):
        month_days = [d for d in days if d.replace(day=1) == month_start]
        t = np.array([(d - days[0]).days / 365 for d in month_days])
        kwh = base[:, None] * (1 + trend[:, None] * t[None, :]) * rng.lognormal(0, 0.1, (n, len(month_days)))
        keep = np.repeat(has_data, len(month_days))
        pq.write_table(
            pa.table(
                {
                    "customer_id": np.repeat(cid, len(month_days))[keep],
                    "day": pa.array(np.tile(np.array(month_days), n)[keep], pa.date32()),
                    "kwh": np.maximum(kwh.ravel(), 0)[keep],
                }
            ),
            root / "daily_kwh" / f"{month_start:%Y-%m}.parquet",
        )
    # 96-point load for the last `load_days` days, with a shape per customer.
    hours = np.arange(96) / 4
    shapes = {
        "double": 0.6 + np.exp(-((hours - 8) ** 2) / 2) + 1.4 * np.exp(-((hours - 19.5) ** 2) / 3),
        "day": 0.3 + 1.6 * ((hours >= 8) & (hours < 18)),
        "flat": np.ones(96),
        "night": 0.4 + 1.6 * ((hours < 7) | (hours >= 23)),
    }
    kinds = np.where(cat_idx == 0, "double", np.where(cat_idx == 2, "flat", np.where(cat_idx == 3, "night", "day")))
    rows_c, rows_ts, rows_kw = [], [], []
    start = dt.datetime.combine(as_of - dt.timedelta(days=load_days - 1), dt.time())
    ts = np.array([start + dt.timedelta(minutes=15 * i) for i in range(96 * load_days)])
    for i in range(1, n):
        curve = np.tile(shapes[kinds[i]], load_days) * base[i] / 24 * rng.lognormal(0, 0.05, 96 * load_days)
        rows_c.append(np.full(len(ts), cid[i]))
        rows_ts.append(ts)
        rows_kw.append(curve)
    pq.write_table(
        pa.table(
            {
                "customer_id": np.concatenate(rows_c),
                "ts": pa.array(np.concatenate(rows_ts), pa.timestamp("us")),
                "kw": np.concatenate(rows_kw),
            }
        ),
        root / "load_96.parquet",
    )
    months = [dt.date(as_of.year - (1 if m > as_of.month else 0), m, 1) for m in range(1, 13)]
    months.sort()
    payer = rng.choice(3, n, p=[0.85, 0.1, 0.05])
    p_c, p_m, p_amt, p_due, p_paid, p_ch = [], [], [], [], [], []
    pref = rng.integers(0, len(CHANNELS), n)
    for i in range(1, n):
        for m in months:
            due = (m.replace(day=28) + dt.timedelta(days=10)).replace(day=15)
            if payer[i] == 0:
                paid: dt.date | None = due - dt.timedelta(days=int(rng.integers(0, 10)))
            elif payer[i] == 1:
                paid = due + dt.timedelta(days=int(rng.integers(1, 30)))
            else:
                paid = None if m >= months[-3] else due + dt.timedelta(days=40)
            if paid is not None and paid > as_of:
                paid = None
            p_c.append(cid[i])
            p_m.append(m)
            p_amt.append(round(float(base[i]) * 30 * 0.6, 2))
            p_due.append(due)
            p_paid.append(paid)
            p_ch.append(CHANNELS[pref[i]] if rng.random() < 0.8 else CHANNELS[0])
    pq.write_table(
        pa.table(
            {
                "customer_id": pa.array(p_c, pa.int64()),
                "month": pa.array(p_m, pa.date32()),
                "billed_kwh": pa.array([a / 0.6 for a in p_amt]),
                "amount_yuan": pa.array(p_amt),
                "due_date": pa.array(p_due, pa.date32()),
                "paid_on": pa.array(p_paid, pa.date32()),
                "channel": pa.array(p_ch),
            }
        ),
        root / "payments.parquet",
    )
    k = n // 2
    pq.write_table(
        pa.table(
            {
                "customer_id": rng.choice(cid[1:], k),
                "created_at": pa.array(
                    [
                        dt.datetime.combine(as_of, dt.time()) - dt.timedelta(hours=int(h))
                        for h in rng.integers(1, 24 * 360, k)
                    ],
                    pa.timestamp("us"),
                ),
                "kind": rng.choice(["repair", "complaint", "consult"], k, p=[0.6, 0.15, 0.25]),
                "satisfaction": pa.array([int(x) if x > 0 else None for x in rng.integers(0, 6, k)], pa.int32()),
            }
        ),
        root / "work_orders.parquet",
    )
    return root
