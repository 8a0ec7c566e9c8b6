"""TOU what-if (分时电价测算): a customer's bill under its current tariff against each TOU option, and with
a share of its peak (and critical-peak) energy shifted to the valley; a ranked list of who would save most.

Pure: period energies in (from `analytics.customer_day_stats(..., tou=…)` summed over the period), bills out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from gridcare.dsm.tariffs.engine import compute_bill
from gridcare.dsm.tariffs.schema import Tariff
from gridcare.dsm.tariffs.usage import Usage, months_touched

SHIFTED = ("critical", "peak")


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
    savings = []
    for customer_id, periods in customers.items():
        best = compare(current=current, options=[option], kwh_by_period=periods, start=start, end=end, shares=[share])
        moved = next(o for o in best if o.tariff_id == option.id)
        if moved.saving > 0:
            savings.append((customer_id, moved.saving))
    return sorted(savings, key=lambda s: -s[1])[:limit]
