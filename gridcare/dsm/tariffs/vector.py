"""Tiered bills for many customers at once (numpy), exact to the fen and equal to the Decimal engine.

Money stays in integers: kWh are taken to the Wh (0.001 kWh), prices scaled to integers, pro-rated
thresholds put over a common denominator, and only the final division rounds — half-up to the fen,
line by line, exactly as `engine.compute_bill` does.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import numpy as np
import numpy.typing as npt

from gridcare.dsm.tariffs.schema import Rounding, Tiers, Version

MAX_KWH = 10_000_000  # keeps every intermediate product inside int64


def _scale_of(values: list[Decimal]) -> int:
    return max([0, *(-int(v.as_tuple().exponent) for v in values)])  # type: ignore[arg-type]


def _threshold(tiers: Tiers, upto: Decimal, months: int) -> Fraction:
    if tiers.prorate == "none" or months == tiers.period_months:
        return Fraction(upto)
    exact = Fraction(upto) * months / tiers.period_months
    if tiers.prorate_step is None:
        return exact
    from decimal import ROUND_HALF_UP

    step = tiers.prorate_step
    rounded = (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(step, rounding=ROUND_HALF_UP)
    return Fraction(rounded)


def tiered_bills_fen(
    version: Version,
    rounding: Rounding,
    kwh: npt.ArrayLike,
    months: npt.ArrayLike | None = None,
) -> npt.NDArray[np.int64]:
    """Each customer's energy charge in fen for a version whose tiers carry prices (no TOU, no adders).

    `months` (one per customer, default the tier period) pro-rates the thresholds as the engine does.
    """
    tiers = version.tiers
    if tiers is None or tiers.uses_surcharge or version.tou is not None or version.flat_price is not None:
        raise ValueError("the vectorised path covers tiered tariffs whose bands carry prices")
    if tiers.seasons:
        raise ValueError("the vectorised path covers bands that do not change with the season")
    if version.adders or version.basic or version.power_factor:
        raise ValueError("the vectorised path covers energy charges only (no adders, basic or power factor)")
    if rounding.step != Decimal("0.01") or rounding.mode not in ("half_up", "down"):
        raise ValueError("the vectorised path rounds half-up or down to the fen")
    kwh_arr = np.asarray(kwh, dtype=np.float64)
    if np.any(kwh_arr < 0) or np.any(kwh_arr > MAX_KWH) or not np.all(np.isfinite(kwh_arr)):
        raise ValueError(f"kWh must lie between 0 and {MAX_KWH}")
    wh = np.rint(kwh_arr * 1000).astype(np.int64)
    if months is None:
        month_arr = np.full(wh.shape, tiers.period_months, dtype=np.int64)
    else:
        month_arr = np.asarray(months, dtype=np.int64)
        if month_arr.shape != wh.shape or np.any(month_arr < 1):
            raise ValueError("months must be ≥ 1, one per customer")
    distinct = [int(m) for m in np.unique(month_arr)]
    uptos = [b.upto for b in tiers.bands if b.upto is not None]
    table = {m: [_threshold(tiers, u, m) for u in uptos] for m in distinct}
    denominators = [1000] + [t.denominator for ts in table.values() for t in ts]
    scale = math.lcm(*denominators)  # kWh × scale is an integer for every quantity below
    prices = [b.price for b in tiers.bands if b.price is not None]
    p = max(2, _scale_of(prices))
    price_int = [int(pr.scaleb(p)) for pr in prices]
    # amount (yuan) = band_scaled × price_int / (scale × 10^p); in fen: / (scale × 10^(p-2))
    divisor = scale * 10 ** (p - 2)
    if MAX_KWH * scale * max(price_int) * 2 >= 2**63:
        raise ValueError("prices or pro-rating too fine for exact int64 arithmetic; use the Decimal engine")
    total_s = wh * (scale // 1000)
    # thresholds per customer, scaled
    index = np.searchsorted(np.asarray(distinct), month_arr)
    thr_s = np.asarray([[int(t * scale) for t in table[m]] for m in distinct], dtype=np.int64)[index]
    result = np.zeros(wh.shape, dtype=np.int64)
    exact_sum = np.zeros(wh.shape, dtype=np.int64)
    lower = np.zeros(wh.shape, dtype=np.int64)
    for i, price in enumerate(price_int):
        upper = thr_s[..., i] if i < len(uptos) else None
        top = total_s if upper is None else np.minimum(total_s, upper)
        band = np.maximum(top - lower, 0)
        units = band * price
        if rounding.per == "line":
            result += _round(units, divisor, rounding.mode)
        else:
            exact_sum += units
        if upper is not None:
            lower = upper
    if rounding.per == "bill":
        result = _round(exact_sum, divisor, rounding.mode)
    return result


def _round(units: npt.NDArray[np.int64], divisor: int, mode: str) -> npt.NDArray[np.int64]:
    if mode == "down":
        return units // divisor
    return (2 * units + divisor) // (2 * divisor)
