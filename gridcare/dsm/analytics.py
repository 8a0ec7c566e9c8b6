"""Load analytics over the interval store: DuckDB reads (filters, projection) and numpy computes.

Pure: takes the data source, topology and tariff hours as arguments; nothing here reads Django models
or the clock. `source` is a DuckDB table expression with the store's wide rows (customer_id, day,
points, filled, p1 … p96): normally `read_parquet('<ANALYTICS_DIR>/intervals/*.parquet')`
(`store_source`), or the demo's long `load_96/` folder pivoted on the fly (`load96_source`).

One scan loads the selected customer-days into a `LoadFrame` (a customer-day × 96 matrix, NaN where no
reading came); every statistic is then a vectorised reduction, and sums over 台区, feeders, classes or
the whole system are one sparse matrix product — so the whole analysis costs little more than the scan.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from gridcare.dsm.intervals import SLOT_COLUMNS, SLOTS
from gridcare.dsm.tariffs.schema import TimeOfUse

HOURS_PER_SLOT = 0.25
EPOCH = dt.date(1970, 1, 1)


def store_source(glob: str) -> str:
    return f"read_parquet('{_quote(glob)}')"


def load96_source(folder: Path, tz: str = "Asia/Shanghai") -> str:
    """The demo generator's load_96/ (customer_id, ts, kw), pivoted to the store's wide rows."""
    pattern = _quote(str(folder / "*.parquet"))
    local = f"timezone('{_quote(tz)}', ts)"
    pivots = ", ".join(f"max(kw) filter (where slot = {i}) as {c}" for i, c in enumerate(SLOT_COLUMNS))
    return (
        f"(select customer_id, day, cast(count(*) as smallint) as points, {pivots} "  # noqa: S608 - our own path
        f"from (select customer_id, cast({local} as date) as day, "
        f"(hour({local}) * 60 + minute({local})) // 15 as slot, kw from read_parquet('{pattern}')) "
        f"group by customer_id, day)"
    )


def _quote(text: str) -> str:
    return text.replace("'", "''")


def connect(threads: int | None = None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    if threads:
        con.execute(f"set threads = {int(threads)}")
    return con


def _window(day_from: dt.date | None, day_to: dt.date | None, customers: Sequence[int] | None) -> str:
    where = []
    if day_from is not None:
        where.append(f"day >= DATE '{day_from.isoformat()}'")
    if day_to is not None:
        where.append(f"day <= DATE '{day_to.isoformat()}'")
    if customers is not None:
        ids = ",".join(str(int(c)) for c in customers) or "NULL"
        where.append(f"customer_id in ({ids})")
    return ("where " + " and ".join(where)) if where else ""


@dataclass
class LoadFrame:
    """Customer-days and their 96 readings (kW), sorted by customer and day."""

    customer_id: npt.NDArray[np.int64]
    day: npt.NDArray[np.int32]  # days since 1970-01-01
    kw: npt.NDArray[np.float32]  # rows × 96, NaN where missing

    _zeroed: npt.NDArray[np.float32] | None = None

    @property
    def rows(self) -> int:
        return len(self.customer_id)

    @property
    def zeroed(self) -> npt.NDArray[np.float32]:
        """The readings with missing ones as 0, computed once and shared by every sum."""
        if self._zeroed is None:
            self._zeroed = np.nan_to_num(self.kw)
        return self._zeroed

    def dates(self) -> list[dt.date]:
        return [EPOCH + dt.timedelta(days=int(d)) for d in self.day]


def load_frame(
    con: duckdb.DuckDBPyConnection,
    source: str,
    *,
    day_from: dt.date | None = None,
    day_to: dt.date | None = None,
    customers: Sequence[int] | None = None,
) -> LoadFrame:
    """One DuckDB scan of the selected customer-days into a LoadFrame."""
    where = _window(day_from, day_to, customers)
    cols = ", ".join(SLOT_COLUMNS)
    table = con.sql(
        f"select customer_id, day, {cols} from {source} {where}"  # noqa: S608
    ).to_arrow_table()
    n = table.num_rows
    # Column-major: each slot column is copied in one contiguous write; rows are in scan order
    # (nothing below needs them sorted, and sorting 96-wide rows would cost more than the scan).
    kw = np.empty((n, SLOTS), dtype=np.float32, order="F")
    for i, name in enumerate(SLOT_COLUMNS):
        column = table[name]
        kw[:, i] = (
            column.to_numpy(zero_copy_only=False)
            if column.null_count == 0
            else column.fill_null(np.nan).to_numpy(zero_copy_only=False)
        )
    return LoadFrame(
        customer_id=table["customer_id"].to_numpy().astype(np.int64),
        day=table["day"].cast(pa.int32()).to_numpy().astype(np.int32),
        kw=kw,
    )


def months_of(days: npt.NDArray[np.int32]) -> npt.NDArray[np.int64]:
    """Calendar month (1–12) of each day number."""
    return days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12 + 1


def customer_day_stats(frame: LoadFrame, *, tou: TimeOfUse | None = None) -> pa.Table:
    """Per customer and day: max, min, average kW, kWh, load rate (avg/max), peak–valley difference and
    rate ((max−min)/max), and the kWh in each tariff period when `tou` is given."""
    kw = frame.kw
    present = ~np.isnan(kw)
    points = present.sum(axis=1)
    filled = frame.zeroed
    total = filled.sum(axis=1, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        # fmax/fmin skip NaN (missing readings); an empty day stays NaN
        max_kw = np.fmax.reduce(kw, axis=1).astype(np.float64)
        min_kw = np.fmin.reduce(kw, axis=1).astype(np.float64)
        avg = np.where(points > 0, total / np.maximum(points, 1), np.nan)
        load_rate = np.where(max_kw > 0, avg / max_kw, np.nan)
        pv_rate = np.where(max_kw > 0, (max_kw - min_kw) / max_kw, np.nan)
    columns: dict[str, pa.Array] = {
        "customer_id": pa.array(frame.customer_id),
        "day": pa.array(frame.day).cast(pa.date32()),
        "points": pa.array(points.astype(np.int16)),
        "max_kw": pa.array(max_kw, from_pandas=True),
        "min_kw": pa.array(min_kw, from_pandas=True),
        "avg_kw": pa.array(avg, from_pandas=True),
        "kwh": pa.array(total * HOURS_PER_SLOT),
        "load_rate": pa.array(load_rate, from_pandas=True),
        "peak_valley_kw": pa.array(max_kw - min_kw, from_pandas=True),
        "peak_valley_rate": pa.array(pv_rate, from_pandas=True),
    }
    if tou is not None:
        # each season's rows times a 96 × periods 0/1 matrix: one matrix product per season
        energies = np.zeros((frame.rows, len(tou.periods)), dtype=np.float64)
        months = months_of(frame.day)
        for season in tou.seasons:
            in_season = np.isin(months, sorted(season.months))
            if not in_season.any():
                continue
            mask = np.asarray([[1.0 if s == p else 0.0 for p in tou.periods] for s in season.slots], dtype=np.float32)
            # the whole matrix times the mask (BLAS) beats copying out the season's rows first
            energies = np.where(in_season[:, None], filled @ mask, energies)
        for j, period in enumerate(tou.periods):
            columns[f"kwh_{period}"] = pa.array(energies[:, j] * HOURS_PER_SLOT)
    return pa.table(columns)


@dataclass(frozen=True)
class Groups:
    """customer → group (台区, feeder or customer class) and each group's rated capacity (kVA)."""

    customer_group: Mapping[int, str]
    capacity_kva: Mapping[str, float]


@dataclass
class Curves:
    """Summed 96-point curves: one row per (group, day)."""

    group: list[str]
    day: npt.NDArray[np.int32]
    kw: npt.NDArray[np.float64]  # rows × 96
    customers: npt.NDArray[np.int64]

    def dates(self) -> list[dt.date]:
        return [EPOCH + dt.timedelta(days=int(d)) for d in self.day]


def _sum_by(
    frame: LoadFrame, keys: npt.NDArray[np.int64], n_keys: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Sum of the rows sharing a key (-1 = left out), and the rows per key.

    One weighted bincount per slot column: the frame is column-major, so each pass reads one
    contiguous column and nothing is copied or sorted."""
    keep = keys >= 0
    if not keep.all():
        keys = np.where(keep, keys, n_keys)  # a spill bin, dropped below
    out = np.empty((n_keys, SLOTS), dtype=np.float64)
    values = frame.zeroed
    for j in range(SLOTS):
        out[:, j] = np.bincount(keys, weights=values[:, j], minlength=n_keys + 1)[:n_keys]
    return out, np.bincount(keys, minlength=n_keys + 1)[:n_keys]


def _group_index(frame: LoadFrame, groups: Groups) -> tuple[list[str], npt.NDArray[np.int64]]:
    """Group names and each row's group position (-1 = customer in no group), vectorised."""
    names = sorted(set(groups.customer_group.values()))
    if not names:
        return names, np.full(frame.rows, -1, dtype=np.int64)
    position = {name: i for i, name in enumerate(names)}
    ids = np.fromiter(groups.customer_group.keys(), dtype=np.int64)
    idx = np.fromiter((position[g] for g in groups.customer_group.values()), dtype=np.int64)
    order = np.argsort(ids)
    ids, idx = ids[order], idx[order]
    at = np.clip(np.searchsorted(ids, frame.customer_id), 0, len(ids) - 1)
    return names, np.where(ids[at] == frame.customer_id, idx[at], -1)


@dataclass
class _Keyed:
    keys: npt.NDArray[np.int64]
    kw: npt.NDArray[np.float64]
    customers: npt.NDArray[np.int64]


def _grouped(frame: LoadFrame, index: tuple[list[str], npt.NDArray[np.int64]]) -> tuple[_Keyed, npt.NDArray[np.int64]]:
    names, group_index = index
    first = int(frame.day.min()) if frame.rows else 0
    span = int(frame.day.max()) - first + 1 if frame.rows else 1
    keys = np.where(group_index >= 0, group_index * span + (frame.day - first), -1).astype(np.int64)
    sums, counts = _sum_by(frame, keys, max(len(names), 1) * span)
    present = np.flatnonzero(counts > 0)
    return _Keyed(keys=present, kw=sums[present], customers=counts[present]), keys


def group_curves(frame: LoadFrame, groups: Groups | None) -> Curves:
    """The summed curve of each group per day (groups=None: the whole system, group '')."""
    if groups is None:
        index: tuple[list[str], npt.NDArray[np.int64]] = ([""], np.zeros(frame.rows, dtype=np.int64))
    else:
        index = _group_index(frame, groups)
    keyed, _ = _grouped(frame, index)
    first = int(frame.day.min()) if frame.rows else 0
    span = int(frame.day.max()) - first + 1 if frame.rows else 1
    names = index[0]
    return Curves(
        group=[names[k // span] for k in keyed.keys.tolist()],
        day=(keyed.keys % span + first).astype(np.int32),
        kw=keyed.kw,
        customers=keyed.customers,
    )


def overloads(curves: Curves, groups: Groups, *, power_factor: float = 0.9, warn_at: float = 0.8) -> list[dict]:
    """Per group and day, the peak of the summed curve against rated capacity (kVA × power factor):
    'overload' above 100 %, 'heavy' (重载) from `warn_at`. Sorted worst first."""
    if not curves.group:
        return []
    capacity = np.asarray([groups.capacity_kva.get(g, 0.0) for g in curves.group]) * power_factor
    peaks = curves.kw.max(axis=1)
    dates = curves.dates()
    out = []
    for i in np.flatnonzero((capacity > 0) & (peaks >= capacity * warn_at)):
        out.append(
            {
                "grp": curves.group[i],
                "day": dates[i],
                "peak_kw": float(peaks[i]),
                "peak_slot": int(curves.kw[i].argmax()),
                "capacity_kva": float(capacity[i] / power_factor),
                "load_ratio": float(peaks[i] / capacity[i]),
                "level": "overload" if peaks[i] > capacity[i] else "heavy",
                "slots_over": int((curves.kw[i] > capacity[i]).sum()),
            }
        )
    return sorted(out, key=lambda o: -o["load_ratio"])


def peak_contribution(frame: LoadFrame, *, groups: Groups | None = None) -> pa.Table:
    """Each customer's share of the system peak (and of its group's — e.g. feeder's — peak) per day."""
    rows = np.arange(frame.rows)
    system = group_curves(frame, None)
    day_pos = np.searchsorted(system.day, frame.day)
    slot = system.kw.argmax(axis=1)[day_pos]
    total = system.kw.max(axis=1)[day_pos]
    at_peak = np.nan_to_num(frame.kw[rows, slot]).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        columns: dict[str, pa.Array] = {
            "customer_id": pa.array(frame.customer_id),
            "day": pa.array(frame.day).cast(pa.date32()),
            "system_peak_slot": pa.array(slot.astype(np.int16)),
            "kw_at_system_peak": pa.array(at_peak),
            "system_share": pa.array(np.where(total > 0, at_peak / total, np.nan), from_pandas=True),
        }
        if groups is not None:
            index = _group_index(frame, groups)
            curves, keys = _grouped(frame, index)
            g_slot_all = curves.kw.argmax(axis=1)
            g_total_all = curves.kw.max(axis=1)
            has = keys >= 0
            pos = np.where(has, np.searchsorted(curves.keys, keys), 0)
            g_slot = np.where(has, g_slot_all[pos], 0)
            g_total = np.where(has, g_total_all[pos], 0.0)
            g_at = np.nan_to_num(frame.kw[rows, g_slot]).astype(np.float64)
            columns["group_peak_slot"] = pa.array(np.where(has, g_slot, -1).astype(np.int16))
            columns["kw_at_group_peak"] = pa.array(np.where(has, g_at, np.nan), from_pandas=True)
            columns["group_share"] = pa.array(
                np.where(has & (g_total > 0), g_at / np.where(g_total > 0, g_total, 1), np.nan), from_pandas=True
            )
    return pa.table(columns)


def typical_day(frame: LoadFrame, *, customer_class: Mapping[int, str] | None = None) -> dict[str, list[float]]:
    """The typical-day curve (average kW at each slot over the days present) per customer, or per class
    when `customer_class` maps customers to classes: {key: [96 values]}."""
    if customer_class is None:
        customer_class = {int(c): str(int(c)) for c in np.unique(frame.customer_id)}
    names, keys = _group_index(frame, Groups(customer_group=customer_class, capacity_kva={}))
    sums, rows_per_key = _sum_by(frame, keys, max(len(names), 1))
    missing = np.isnan(frame.kw)
    if missing.any():
        present = LoadFrame(frame.customer_id, frame.day, (~missing).astype(np.float32))
        counts, _ = _sum_by(present, keys, max(len(names), 1))
    else:
        counts = np.repeat(rows_per_key[:, None].astype(np.float64), SLOTS, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return {name: means[i].tolist() for i, name in enumerate(names) if counts[i].sum() > 0}


def slot_label(slot: int) -> str:
    hh, mm = divmod(slot * 15, 60)
    return f"{hh:02d}:{mm:02d}"
