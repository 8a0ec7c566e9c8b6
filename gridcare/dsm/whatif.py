"""TOU what-if (分时电价测算): a customer's bill under its current tariff against each TOU option, and with
a share of its peak (and critical-peak) energy shifted to the valley; a ranked list of who would save most.

Pure: period energies in (from `analytics.customer_day_stats(..., tou=…)` summed over the period), bills out.
One customer's comparison (`compare`) lists every option with the Decimal engine; the ranked audience
(`rank_savers`, `savers_ranked`) bills the whole population at once through `tariffs.bulk`, which uses the
vectorised engine where the tariffs allow it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from gridcare.dsm.tariffs.bulk import bills_fen
from gridcare.dsm.tariffs.engine import compute_bill
from gridcare.dsm.tariffs.schema import Tariff
from gridcare.dsm.tariffs.usage import Usage, months_touched

SHIFTED = ("critical", "peak")
WH = Decimal("0.001")


def shift_to_valley(kwh_by_period: Mapping[str, Decimal], share: Decimal) -> dict[str, Decimal]:
    """Move `share` (0.1 = 10 %) of the critical-peak and peak kWh to the valley; the total is unchanged."""
    out = dict(kwh_by_period)
    moved = Decimal(0)
    for period in SHIFTED:
        if period in out:
            part = (out[period] * share).quantize(Decimal("0.001"))
            out[period] -= part
            moved += part
    out["valley"] = out.get("valley", Decimal(0)) + moved
    return out


@dataclass(frozen=True)
class Option:
    tariff_id: str
    shifted_share: Decimal
    total: Decimal
    saving: Decimal  # against the current tariff with the load as it is (positive = cheaper)


def compare(
    *,
    current: Tariff,
    options: Sequence[Tariff],
    kwh_by_period: Mapping[str, Decimal],
    start: dt.date,
    end: dt.date,
    shares: Sequence[Decimal] = (Decimal(0), Decimal("0.1")),
) -> list[Option]:
    """Bills under the current tariff and each option, for the load as it is and shifted by each share."""
    months = months_touched(start, end)
    total = sum(kwh_by_period.values(), Decimal(0))

    def bill(tariff: Tariff, periods: Mapping[str, Decimal]) -> Decimal:
        version = tariff.version_on(start)
        if version.tou is None:
            usage = Usage(start=start, end=end, months=months, kwh=total)
        else:
            usage = Usage(start=start, end=end, months=months, kwh_by_period=dict(periods))
        return compute_bill(tariff, usage).total

    base = bill(current, kwh_by_period)
    results = []
    for tariff in [current, *options]:
        for share in shares:
            amount = bill(tariff, shift_to_valley(kwh_by_period, share) if share else kwh_by_period)
            results.append(Option(tariff.id, share, amount, base - amount))
    return sorted(results, key=lambda o: -o.saving)


def shift_to_valley_wh(
    wh_by_period: Mapping[str, npt.NDArray[np.int64]], share: Decimal
) -> dict[str, npt.NDArray[np.int64]]:
    """`shift_to_valley` over arrays of Wh: each moved part rounded half-even to the Wh, as Decimal.quantize does."""
    num, den = share.as_integer_ratio()
    out = dict(wh_by_period)
    moved = np.zeros(next(iter(out.values())).shape, dtype=np.int64) if out else np.zeros(0, np.int64)
    for period in SHIFTED:
        if period in out:
            q, r = np.divmod(out[period] * num, den)
            part = q + ((2 * r > den) | ((2 * r == den) & (q % 2 == 1)))
            out[period] = out[period] - part
            moved += part
    out["valley"] = out.get("valley", np.zeros_like(moved)) + moved
    return out


def savers_ranked(
    *,
    current: Tariff,
    option: Tariff,
    customer_ids: npt.ArrayLike,
    wh_by_period: Mapping[str, npt.NDArray[np.int64]],
    start: dt.date,
    end: dt.date,
    share: Decimal = Decimal(0),
    limit: int = 100,
) -> list[tuple[int, Decimal]]:
    """`rank_savers` over arrays: each period's Wh per customer, billed for all customers at once."""
    months = months_touched(start, end)
    ids = np.asarray(customer_ids)
    months_arr = np.full(ids.shape, months, dtype=np.int64)
    as_kwh = {p: a / 1000 for p, a in wh_by_period.items()}
    base = bills_fen(current, start=start, end=end, kwh_by_period=as_kwh, months=months_arr).fen
    shifted = shift_to_valley_wh(wh_by_period, share) if share else wh_by_period
    moved_kwh = {p: a / 1000 for p, a in shifted.items()}
    after = bills_fen(option, start=start, end=end, kwh_by_period=moved_kwh, months=months_arr).fen
    saving = base - after
    savers = np.flatnonzero(saving > 0)
    order = savers[np.argsort(-saving[savers], kind="stable")][:limit]
    return [(int(ids[i]), Decimal(int(saving[i])).scaleb(-2)) for i in order]


def rank_savers(
    *,
    current: Tariff,
    option: Tariff,
    customers: Mapping[int, Mapping[str, Decimal]],
    start: dt.date,
    end: dt.date,
    share: Decimal = Decimal(0),
    limit: int = 100,
) -> list[tuple[int, Decimal]]:
    """Customers who would save most by moving to `option` (with `share` of peak shifted): an outreach audience."""
    periods = sorted({p for kwh in customers.values() for p in kwh})
    exact_wh = all(v == v.quantize(WH) for kwh in customers.values() for v in kwh.values())
    # a share with many digits would overflow int64 when it multiplies the Wh
    if customers and exact_wh and share.as_integer_ratio()[1] <= 10**6:
        # a period a customer did not report counts 0 kWh: the same total, a zero line on the bill
        wh = {p: np.fromiter((int(c.get(p, 0) * 1000) for c in customers.values()), np.int64) for p in periods}
        ids = np.fromiter(customers, np.int64)
        return savers_ranked(
            current=current,
            option=option,
            customer_ids=ids,
            wh_by_period=wh,
            start=start,
            end=end,
            share=share,
            limit=limit,
        )
    # kWh finer than the Wh: only the Decimal engine bills them exactly as given
    savings = []
    for customer_id, kwh in customers.items():
        best = compare(current=current, options=[option], kwh_by_period=kwh, start=start, end=end, shares=[share])
        moved = next(o for o in best if o.tariff_id == option.id)
        if moved.saving > 0:
            savings.append((customer_id, moved.saving))
    return sorted(savings, key=lambda s: -s[1])[:limit]
