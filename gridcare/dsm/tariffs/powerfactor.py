"""The national power-factor adjustment (《功率因数调整电费办法》, 1983) as a rule, not a lookup of examples.

For a standard S (0.90, 0.85 or 0.80) and a monthly factor f rounded to two decimals:

* below the standard, every 0.01 adds 0.5 % for the first 20 steps (to 10 %), then 1 % a step for
  the next 5 (to 15 %), then 2 % a step for every step beyond;
* above the standard, every 0.01 takes off 0.1 % up to f = 0.90 and 0.15 % a step above 0.90, and the
  reduction stops growing at a cap factor: 0.95 for S = 0.90 (0.75 %), 0.94 for S = 0.85 (1.10 %) and
  0.92 for S = 0.80 (1.30 %). For S = 0.90 every step is above 0.90, so it is 0.15 % a step.

Percentages are returned as Decimal percent: +2.5 means 2.5 % more, -0.75 means 0.75 % less.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

HUNDREDTH = Decimal("0.01")
REDUCTION_CAP = {Decimal("0.90"): Decimal("0.95"), Decimal("0.85"): Decimal("0.94"), Decimal("0.80"): Decimal("0.92")}


def monthly_factor(active_kwh: Decimal, reactive_kvarh: Decimal) -> Decimal:
    """cos φ = P / √(P² + Q²) from the month's active and reactive energy, rounded to two decimals."""
    if active_kwh <= 0:
        raise ValueError("the power factor needs active energy above 0")
    apparent = (active_kwh * active_kwh + reactive_kvarh * reactive_kvarh).sqrt()
    return (active_kwh / apparent).quantize(HUNDREDTH, rounding=ROUND_HALF_UP)


def adjustment_percent(factor: Decimal, standard: Decimal) -> Decimal:
    """The percentage added to (positive) or taken off (negative) the adjusted charges."""
    standard = standard.quantize(HUNDREDTH)
    if standard not in REDUCTION_CAP:
        raise ValueError(f"unknown power-factor standard {standard}; the national ones are 0.90, 0.85, 0.80")
    factor = factor.quantize(HUNDREDTH, rounding=ROUND_HALF_UP)
    if factor < 0 or factor > 1:
        raise ValueError(f"a power factor lies between 0 and 1, got {factor}")
    steps = int((standard - factor) / HUNDREDTH)
    if steps > 0:
        if steps <= 20:
            return Decimal("0.5") * steps
        if steps <= 25:
            return Decimal(10) + (steps - 20)
        return Decimal(15) + 2 * (steps - 25)
    capped = min(factor, REDUCTION_CAP[standard])
    reduction = Decimal(0)
    step = standard + HUNDREDTH
    while step <= capped:
        reduction += Decimal("0.1") if step <= Decimal("0.90") else Decimal("0.15")
        step += HUNDREDTH
    return -reduction
