"""Energy bills for many customers at once (numpy), exact to the fen and equal to the Decimal engine.

Money stays in integers: kWh are taken to the Wh (0.001 kWh), prices scaled to integers, tier thresholds put
over a common denominator, and only the final division rounds — line by line (or once per bill), in the
tariff's rounding mode, exactly as `engine.compute_bill` does.

What it covers: a flat price, time-of-use prices (one season's prices over the period), tiers with prices or
with surcharges on top, bands that change with the season (a period inside one season), per-kWh adders.
What it does not, and why (`Unsupported` says which; `bulk.bills_fen` then uses the Decimal engine):
a two-part tariff's basic charge (needs each customer's transformers or demand), the power-factor adjustment
(needs reactive energy and the rounded lines it applies to), a period spanning a price change (split by days
with rounded shares), a period spanning TOU or tier seasons (needs month-by-month kWh, which the engine asks
for), rounding to a step other than the fen. Customers whose pro-rated thresholds are not exact decimals
(2000 × 5 / 12) are left to the Decimal engine too: it rounds those thresholds to 28 digits, which integer
arithmetic cannot follow to the last fen.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import numpy as np
import numpy.typing as npt

from gridcare.dsm.tariffs.engine.energy import calendar_months
from gridcare.dsm.tariffs.schema import Band, Rounding, Tariff, Tiers, Version
from gridcare.dsm.tariffs.source import SourceError

MAX_KWH = 10_000_000  # a customer's kWh above this go to the Decimal engine (int64 products would overflow)
MAX_INPUT_KWH = 10**12  # beyond this a float no longer holds the Wh exactly
MAX_SCALE = 10**6  # thresholds finer than a micro-kWh are left to the Decimal engine
Int64s = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


class Unsupported(Exception):
    """The tariff or period needs the Decimal engine; the message says which component forces it."""


@dataclass(frozen=True)
class VectorBills:
    fen: Int64s  # each customer's total in fen; meaningless where `billed` is False
    billed: Bools  # False: bill this customer with the Decimal engine (`why` says why)
    why: str | None = None


def to_wh(kwh: npt.ArrayLike) -> Int64s:
    """kWh to whole Wh."""
    arr = np.asarray(kwh, dtype=np.float64)
    if arr.size and (not np.all(np.isfinite(arr)) or arr.min() < 0 or arr.max() > MAX_INPUT_KWH):
        raise ValueError(f"kWh must lie between 0 and {MAX_INPUT_KWH:,}")
    return np.rint(arr * 1000).astype(np.int64)


def version_for(tariff: Tariff, start: dt.date, end: dt.date) -> Version:
    """The one version billing the whole period, or Unsupported when the engine would split it by days."""
    cut = any(
        start < v.effective_from <= end or (v.effective_to is not None and start <= v.effective_to < end)
        for v in tariff.versions
    )
    if cut and tariff.version_split.method != "none":
        raise Unsupported("the period spans a price change (split by days)")
    try:
        return tariff.version_on(start)
    except SourceError as exc:
        raise Unsupported(f"no version in effect: {exc.reason}") from None


def _season_bands(tiers: Tiers, months: list[int]) -> tuple[Band, ...]:
    if not tiers.seasons:
        return tiers.bands
    seasons = {tiers.season_for(m).name: tiers.season_for(m) for m in months}
    if len(seasons) > 1:
        raise Unsupported("the period spans tier seasons (needs month-by-month kWh)")
    return next(iter(seasons.values())).bands


def _threshold(tiers: Tiers, upto: Decimal, months: int) -> Fraction | None:
    """A band's limit for a customer billed over `months`, computed as the engine does; None when the engine's
    Decimal result is not the exact value (a repeating decimal cut at 28 digits)."""
    if tiers.prorate == "none" or months == tiers.period_months:
        return Fraction(upto)
    limit = upto * months / tiers.period_months
    if tiers.prorate_step is not None:
        return Fraction(limit.quantize(tiers.prorate_step, rounding=ROUND_HALF_UP))
    exact = Fraction(upto) * months / tiers.period_months
    return exact if Fraction(limit) == exact else None


def _round(units: Int64s, divisor: int, mode: str) -> Int64s:
    """Integer division rounding like Decimal.quantize: half away from zero, half to even, or toward zero."""
    sign = np.where(units < 0, -1, 1)
    q, r = np.divmod(np.abs(units), divisor)
    if mode == "down":
        return sign * q
    if mode == "half_up":
        return sign * (q + (2 * r >= divisor))
    return sign * (q + ((2 * r > divisor) | ((2 * r == divisor) & (q % 2 == 1))))


def _scale_of(price: Decimal) -> int:
    return max(0, -int(price.as_tuple().exponent))  # type: ignore[arg-type]


def energy_bills_fen(
    tariff: Tariff,
    *,
    start: dt.date,
    end: dt.date,
    wh: Int64s | None = None,
    wh_by_period: Mapping[str, Int64s] | None = None,
    months: Int64s,
) -> VectorBills:
    """Each customer's bill in fen over one period: `wh` (total) or `wh_by_period` (TOU), `months` per customer
    (what thresholds are pro-rated by). Raises Unsupported for the components listed in the module docstring."""
    rounding: Rounding = tariff.rounding
    if rounding.step != Decimal("0.01"):
        raise Unsupported(f"rounding to {rounding.step} yuan, not the fen")
    version = version_for(tariff, start, end)
    if version.basic is not None:
        raise Unsupported("the basic charge of a two-part tariff (needs transformers or maximum demand)")
    if version.power_factor is not None:
        raise Unsupported("the power-factor adjustment (needs reactive energy)")
    touched = calendar_months(start, end)
    if wh_by_period is not None:
        total = np.sum(np.stack(list(wh_by_period.values())), axis=0) if wh_by_period else np.zeros(0, np.int64)
    elif wh is not None:
        total = np.asarray(wh, dtype=np.int64)
    else:
        raise ValueError("give wh or wh_by_period")
    lines: list[tuple[Int64s, Decimal]] = []  # (Wh, price) of each energy line before the tiers
    tou = version.tou
    if tou is not None:
        if wh_by_period is None:
            raise Unsupported("time-of-use prices need each period's kWh")
        price_sets = {tuple(sorted(tou.season_for(m).prices.items())) for m in touched}
        if len(price_sets) > 1:
            raise Unsupported("the period spans TOU seasons with different prices (needs month-by-month kWh)")
        prices = tou.season_for(touched[0]).prices
        for period, amount in wh_by_period.items():
            if period not in prices:
                raise Unsupported(f"the season has no '{period}' period")
            lines.append((np.asarray(amount, dtype=np.int64), prices[period]))
    elif version.flat_price is not None:
        lines.append((total, version.flat_price))
    bands: tuple[Band, ...] = ()
    month_arr = np.asarray(months, dtype=np.int64)
    if month_arr.shape != total.shape or (month_arr.size and month_arr.min() < 1):
        raise ValueError("months must be ≥ 1, one per customer")
    billed = total <= MAX_KWH * 1000
    why = None if billed.all() else f"more than {MAX_KWH:,} kWh"
    distinct = [int(m) for m in np.unique(month_arr)]
    table: dict[int, list[Fraction]] = {}
    if version.tiers is not None:
        bands = _season_bands(version.tiers, touched)
        tiers = version.tiers
        for m in distinct:
            limits = [_threshold(tiers, b.upto, m) for b in bands if b.upto is not None]
            if any(t is None or t.denominator > MAX_SCALE for t in limits):
                billed &= month_arr != m
                why = "pro-rated tier thresholds that are repeating decimals"
            else:
                table[m] = [t for t in limits if t is not None]
    scale = math.lcm(1000, *(t.denominator for ts in table.values() for t in ts))
    if scale > MAX_SCALE:
        raise Unsupported("tier thresholds too fine for exact integer arithmetic")
    all_prices = [price for _, price in lines] + [a.price for a in version.adders]
    all_prices += [b.price if b.price is not None else (b.surcharge or Decimal(0)) for b in bands]
    p = max([2, *(_scale_of(pr) for pr in all_prices)])
    price_int = {pr: int(pr.scaleb(p)) for pr in all_prices}
    n_lines = len(all_prices)
    biggest = max([1, *(abs(v) for v in price_int.values())])
    if MAX_KWH * scale * biggest * (n_lines + 1) >= 2**63:
        raise Unsupported("prices too fine for exact int64 arithmetic")
    divisor = scale * 10 ** (p - 2)  # amount units (1/scale kWh × 10^-p yuan) per fen
    per_wh = scale // 1000
    per_line = rounding.per == "line"
    result = np.zeros(total.shape, dtype=np.int64)
    exact = np.zeros(total.shape, dtype=np.int64)

    def add(kwh_scaled: Int64s, price: Decimal) -> None:
        nonlocal result, exact
        units = kwh_scaled * price_int[price]
        if per_line:
            result += _round(units, divisor, rounding.mode)
        else:
            exact += units

    for amount, price in lines:
        add(amount * per_wh, price)
    if bands:
        total_s = total * per_wh
        index = np.searchsorted(np.asarray(distinct), month_arr)
        # customers left to the Decimal engine get any row; their result is discarded
        rows = [[int(t * scale) for t in table.get(m, [Fraction(0)] * (len(bands) - 1))] for m in distinct]
        thr = np.asarray(rows, dtype=np.int64).reshape(len(distinct), len(bands) - 1)[index]
        lower = np.zeros(total.shape, dtype=np.int64)
        for i, band in enumerate(bands):
            upper = thr[:, i] if i < len(bands) - 1 else None
            top = total_s if upper is None else np.minimum(total_s, upper)
            add(np.maximum(top - lower, 0), band.price if band.price is not None else (band.surcharge or Decimal(0)))
            if upper is not None:
                lower = upper
    for adder in version.adders:
        add(total * per_wh, adder.price)
    if not per_line:
        result = _round(exact, divisor, rounding.mode)
    return VectorBills(fen=result, billed=billed, why=why if not billed.all() else None)
