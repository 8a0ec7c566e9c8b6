"""Load analytics on a small synthetic store: day statistics, TOU energy, group curves, peaks, typical days."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from gridcare.dsm import analytics
from gridcare.dsm.intervals import to_wide
from gridcare.dsm.tariffs import shipped_tariffs

DAY0 = (dt.date(2024, 7, 1) - dt.date(1970, 1, 1)).days


def write_store(folder: Path, curves: dict[tuple[int, int], list[float]]) -> str:
    """(customer, day offset) → 96 kW values, written in the store's wide schema."""
    ids, days, slots, values = [], [], [], []
    for (cid, off), curve in curves.items():
        for slot, v in enumerate(curve):
            if v is None:
                continue
            ids.append(cid)
            days.append(DAY0 + off)
            slots.append(slot)
            values.append(v)
    table = to_wide(
        np.asarray(ids, dtype=np.int64),
        np.asarray(days, dtype=np.int64),
        np.asarray(slots, dtype=np.int64),
        np.asarray(values, dtype=np.float64),
        np.zeros(len(ids), dtype=bool),
    )
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, folder / "batch-test.parquet")
    return analytics.store_source(str(folder / "*.parquet"))


@pytest.fixture
def frame(tmp_path: Path) -> analytics.LoadFrame:
    flat = [2.0] * 96
    peaky = [1.0] * 96
    peaky[40:44] = [9.0, 9.0, 9.0, 9.0]  # 10:00–11:00
    gappy: list[float | None] = [4.0] * 96
    gappy[0] = None
    source = write_store(tmp_path / "store", {(1, 0): flat, (2, 0): peaky, (3, 0): gappy, (1, 1): peaky})
    return analytics.load_frame(analytics.connect(), source)


def test_customer_day_statistics(frame: analytics.LoadFrame) -> None:
    stats = {(r["customer_id"], r["day"].day): r for r in analytics.customer_day_stats(frame).to_pylist()}
    peaky = stats[(2, 1)]
    assert (peaky["max_kw"], peaky["min_kw"], peaky["points"]) == (9.0, 1.0, 96)
    assert peaky["kwh"] == pytest.approx((92 * 1 + 4 * 9) / 4)
    assert peaky["load_rate"] == pytest.approx((128 / 96) / 9)
    assert peaky["peak_valley_rate"] == pytest.approx(8 / 9)
    assert stats[(3, 1)]["points"] == 95 and stats[(3, 1)]["avg_kw"] == 4.0


def test_energy_per_tariff_period(frame: analytics.LoadFrame) -> None:
    tou = shipped_tariffs()["example-commercial-tou"].versions[0].tou
    stats = {(r["customer_id"], r["day"].day): r for r in analytics.customer_day_stats(frame, tou=tou).to_pylist()}
    flat = stats[(1, 1)]
    # July: critical 3 h, peak 8 h, valley 8 h, flat the remaining 5 h — at 2 kW
    assert (flat["kwh_critical"], flat["kwh_peak"], flat["kwh_valley"], flat["kwh_flat"]) == (6.0, 16.0, 16.0, 10.0)
    assert stats[(2, 1)]["kwh_peak"] == pytest.approx(4 * 9 / 4 + 28 * 1 / 4)


def test_group_curves_overloads_and_peak_contribution(frame: analytics.LoadFrame) -> None:
    groups = analytics.Groups(customer_group={1: "TA1", 2: "TA1", 3: "TA2"}, capacity_kva={"TA1": 10.0, "TA2": 100.0})
    curves = analytics.group_curves(frame, groups)
    day1 = {g: kw for g, d, kw in zip(curves.group, curves.dates(), curves.kw, strict=True) if d.day == 1}
    assert day1["TA1"][40] == 11.0 and day1["TA1"][0] == 3.0 and day1["TA2"][0] == 0.0
    warnings = analytics.overloads(curves, groups)
    # day 1: 11 kW against 9 kW (10 kVA × 0.9) is an overload; day 2: exactly 9 kW is heavy, not over
    assert [(w["grp"], w["level"], w["slots_over"]) for w in warnings] == [("TA1", "overload", 4), ("TA1", "heavy", 0)]
    shares = {
        (r["customer_id"], r["day"].day): r for r in analytics.peak_contribution(frame, groups=groups).to_pylist()
    }
    # day 1: system peak at 10:00 (2 + 9 + 4 = 15 kW)
    assert shares[(2, 1)]["system_peak_slot"] == 40
    assert shares[(2, 1)]["system_share"] == pytest.approx(9 / 15)
    assert shares[(2, 1)]["group_share"] == pytest.approx(9 / 11)
    assert shares[(1, 2)]["system_share"] == 1.0


def test_typical_days(frame: analytics.LoadFrame) -> None:
    per_customer = analytics.typical_day(frame)
    assert per_customer["1"][40] == pytest.approx((2 + 9) / 2)
    by_class = analytics.typical_day(frame, customer_class={1: "commercial", 2: "resident", 3: "resident"})
    assert by_class["resident"][0] == pytest.approx(1.0)  # customer 3 has no reading at slot 0
    assert by_class["resident"][1] == pytest.approx(2.5)


def test_demo_load_96_is_a_source(tmp_path: Path) -> None:
    import pyarrow as pa

    folder = tmp_path / "load_96"
    folder.mkdir()
    tz = "Asia/Shanghai"
    import zoneinfo

    ts = [dt.datetime(2024, 7, 1, tzinfo=zoneinfo.ZoneInfo(tz)) + dt.timedelta(minutes=15 * i) for i in range(96)]
    pq.write_table(
        pa.table(
            {"customer_id": [7] * 96, "ts": pa.array(ts, pa.timestamp("s", tz=tz)), "kw": [float(i) for i in range(96)]}
        ),
        folder / "part-0.parquet",
    )
    frame = analytics.load_frame(analytics.connect(), analytics.load96_source(folder))
    assert frame.rows == 1 and frame.kw[0, 0] == 0.0 and frame.kw[0, 95] == 95.0
