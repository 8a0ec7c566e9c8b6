"""Bills for a population over one period: the vectorised engine where the tariff allows it, else the Decimal one.

Both engines get the same input, kWh taken to the Wh, so a customer's bill does not depend on which engine
computed it (tests/dsm/test_bulk_bills.py checks this on generated tariffs). `BulkBills.fallback` says why the
Decimal engine was used, so a slow run can be explained.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from gridcare.dsm.tariffs.engine import compute_bill
from gridcare.dsm.tariffs.schema import Rounding, Tariff, Version
from gridcare.dsm.tariffs.usage import Usage, billing_months
from gridcare.dsm.tariffs.vector import Int64s, Unsupported, energy_bills_fen, to_wh

ENGINES = ("auto", "decimal")


@dataclass(frozen=True)
class BulkBills:
    fen: Int64s  # each customer's total, in fen
    vectorised: int  # how many of them the vectorised engine billed
    fallback: str | None  # why the others went to the Decimal engine (None: none did)

    def total(self, i: int) -> Decimal:
        return Decimal(int(self.fen[i])).scaleb(-2)


def _decimal_bill_fen(
    tariff: Tariff, start: dt.date, end: dt.date, months: int, wh: int, wh_by_period: Mapping[str, int] | None
) -> int:
    if wh_by_period is not None:
        periods = {p: Decimal(v).scaleb(-3) for p, v in wh_by_period.items()}
        usage = Usage(start=start, end=end, months=months, kwh_by_period=periods)
    else:
        usage = Usage(start=start, end=end, months=months, kwh=Decimal(wh).scaleb(-3))
    return int(compute_bill(tariff, usage).total.scaleb(2))


def bills_fen(
    tariff: Tariff,
    *,
    start: dt.date,
    end: dt.date,
    kwh: npt.ArrayLike | None = None,
    kwh_by_period: Mapping[str, npt.ArrayLike] | None = None,
    months: npt.ArrayLike | None = None,
    engine: str = "auto",
) -> BulkBills:
    """Every customer's bill over `start`–`end` (inclusive) from its total `kwh`, or from `kwh_by_period` (TOU
    tariffs need it; others bill the sum). `months` pro-rates the tier thresholds per customer (default: the
    period's billing months). `engine="decimal"` bills one customer at a time with the Decimal engine, the
    reference the vectorised path must equal. Errors of the Decimal engine (BillError) propagate unchanged."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}")
    by_period = {p: to_wh(v) for p, v in kwh_by_period.items()} if kwh_by_period is not None else None
    if by_period is not None:
        shapes = {a.shape for a in by_period.values()}
        if len(shapes) != 1:
            raise ValueError("kwh_by_period needs one value per customer in every period")
        total = np.sum(np.stack(list(by_period.values())), axis=0)
    elif kwh is not None:
        total = to_wh(kwh)
    else:
        raise ValueError("give kwh or kwh_by_period")
    default = billing_months(start, end)
    month_arr = np.full(total.shape, default, np.int64) if months is None else np.asarray(months, dtype=np.int64)
    fen = np.zeros(total.shape, dtype=np.int64)
    todo = np.ones(total.shape, dtype=np.bool_)
    reason: str | None = "engine=decimal asked for"
    if engine == "auto":
        try:
            found = energy_bills_fen(tariff, start=start, end=end, wh=total, wh_by_period=by_period, months=month_arr)
        except Unsupported as exc:
            reason = str(exc)
        else:
            fen[found.billed] = found.fen[found.billed]
            todo = ~found.billed
            reason = found.why
    for i in np.flatnonzero(todo):
        periods = {p: int(a[i]) for p, a in by_period.items()} if by_period is not None else None
        fen[i] = _decimal_bill_fen(tariff, start, end, int(month_arr[i]), int(total[i]), periods)
    return BulkBills(fen=fen, vectorised=int(total.size - todo.sum()), fallback=reason)


def tiered_bills_fen(
    version: Version,
    rounding: Rounding,
    kwh: npt.ArrayLike,
    months: npt.ArrayLike | None = None,
) -> Int64s:
    """Each customer's energy charge in fen for one version whose tiers carry prices (no TOU, no adders).

    `months` (one per customer, default the tier period) pro-rates the thresholds as the engine does.
    """
    tiers = version.tiers
    if tiers is None or tiers.uses_surcharge or version.tou is not None or version.flat_price is not None:
        raise ValueError("covers tiered tariffs whose bands carry prices")
    if tiers.seasons:
        raise ValueError("covers bands that do not change with the season")
    if version.adders or version.basic or version.power_factor:
        raise ValueError("covers energy charges only (no adders, basic or power factor)")
    tariff = Tariff(id="tiered", name="tiered", category="", rounding=rounding, versions=(version,))
    wh = to_wh(kwh)
    month_arr = np.full(wh.shape, tiers.period_months, np.int64) if months is None else np.asarray(months, np.int64)
    day = version.effective_from
    return bills_fen(tariff, start=day, end=day, kwh=wh / 1000, months=month_arr).fen
