"""Bulk bills and the TOU what-if through the product's own functions (target ≥ 100,000 bills/s).

What is timed: `tariffs.bulk.bills_fen` (the bulk billing every population bill goes through; the vectorised
engine where the tariff allows it) on 1,000,000 Beijing residential annual bills, and `whatif.rank_savers`
(the TOU what-if audience: each customer billed under the current tiered tariff and under the TOU option with
15 % of peak shifted) on 200,000 customers given as the Mapping the function takes.
Baseline, measured in the same run: the Decimal engine one customer at a time — `bills_fen(engine="decimal")`,
and `whatif.compare` per customer, which is what `rank_savers` did before — on a sample of the same population.
Why it is fair: same inputs, same outputs (the bench checks the sample's bills and the audience are equal before
printing), both single-threaded in one process. The population is drawn from a lognormal mixture to the Wh,
with 8 % partial years, not shaped to the tariff's thresholds.
Run alone: .venv/bin/python bench/bench_dsm_bills.py
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gridcare.dsm.tariffs import shipped_tariffs
from gridcare.dsm.tariffs.bulk import bills_fen
from gridcare.dsm.whatif import compare, rank_savers

N = 1_000_000
N_WHATIF = 200_000
SAMPLE = 5_000
START, END = dt.date(2024, 1, 1), dt.date(2024, 12, 31)
SHARE = Decimal("0.15")


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def population(rng: np.random.Generator, n: int) -> np.ndarray:
    """Annual kWh to the Wh: most homes lognormal around 2,400 kWh, a tail of large ones."""
    small = rng.lognormal(np.log(2400), 0.6, n)
    large = rng.lognormal(np.log(9000), 0.5, n)
    return np.round(np.where(rng.random(n) < 0.9, small, large), 3)


def main() -> None:
    tariffs = shipped_tariffs()
    tiered, tou = tariffs["beijing-resident-tiered"], tariffs["beijing-resident-tou-tiered"]
    rng = np.random.default_rng(2024)
    kwh = population(rng, N)
    months = np.where(rng.random(N) < 0.08, rng.integers(1, 12, N), 12)

    bulk_s, bulk = timed(lambda: bills_fen(tiered, start=START, end=END, kwh=kwh, months=months))
    assert bulk.vectorised == N, bulk.fallback
    one_s, one = timed(
        lambda: bills_fen(tiered, start=START, end=END, kwh=kwh[:SAMPLE], months=months[:SAMPLE], engine="decimal")
    )
    assert one.fen.tolist() == bulk.fen[:SAMPLE].tolist(), "bulk bills differ from the Decimal engine"

    total = population(rng, N_WHATIF)
    peak_share = rng.beta(5, 3, N_WHATIF)
    peak = np.round(total * peak_share, 3)
    customers = {
        i: {"peak": Decimal(f"{p:.3f}"), "valley": Decimal(f"{t - p:.3f}")}
        for i, p, t in zip(range(N_WHATIF), peak.tolist(), total.tolist(), strict=True)
    }
    limit = 1000
    whatif_s, audience = timed(
        lambda: rank_savers(
            current=tiered, option=tou, customers=customers, start=START, end=END, share=SHARE, limit=limit
        )
    )
    sample = dict(list(customers.items())[:SAMPLE])

    def decimal_audience() -> list[tuple[int, Decimal]]:
        savings = []
        for cid, periods in sample.items():
            options = compare(
                current=tiered, options=[tou], kwh_by_period=periods, start=START, end=END, shares=[SHARE]
            )
            moved = next(o for o in options if o.tariff_id == tou.id)
            if moved.saving > 0:
                savings.append((cid, moved.saving))
        return sorted(savings, key=lambda s: -s[1])[:limit]

    assert len(audience) == limit
    base_whatif_s, expected = timed(decimal_audience)
    got = rank_savers(current=tiered, option=tou, customers=sample, start=START, end=END, share=SHARE, limit=limit)
    assert got == expected, "the what-if audience differs from the Decimal engine's"

    bulk_rate, one_rate = N / bulk_s, SAMPLE / one_s
    # the what-if bills each customer twice (current tariff as is, TOU option shifted)
    whatif_rate, base_whatif_rate = 2 * N_WHATIF / whatif_s, 2 * SAMPLE / base_whatif_s
    load = Path("/proc/loadavg").read_text().split()[0]
    lines = [
        f"run at {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; load average {load}",
        f"bulk billing, tariffs.bulk.bills_fen: {N:,} Beijing residential annual bills (8 % partial years)",
        f"  product path: {bulk_s:.3f} s = {bulk_rate:,.0f} bills/s (target ≥ 100,000 bills/s: "
        f"{'met' if bulk_rate >= 100_000 else 'NOT met'})",
        f"  baseline, Decimal engine one at a time ({SAMPLE:,} of them): {one_rate:,.0f} bills/s",
        f"  ratio: {bulk_rate / one_rate:,.1f}×; the {SAMPLE:,} sample bills equal to the fen",
        f"TOU what-if, whatif.rank_savers: {N_WHATIF:,} customers, tiered → TOU with 15 % of peak shifted, top {limit}",
        f"  product path: {whatif_s:.3f} s = {whatif_rate:,.0f} bills/s ({N_WHATIF / whatif_s:,.0f} customers/s, "
        "building the arrays from the Mapping included)",
        f"  baseline, whatif.compare one customer at a time ({SAMPLE:,}): {base_whatif_rate:,.0f} bills/s",
        f"  ratio: {whatif_rate / base_whatif_rate:,.1f}×; the sample's audience is the same list",
    ]
    text = "\n".join(lines) + "\n"
    print(text, end="")
    out = Path(__file__).resolve().parent / "results" / "dsm_bills.txt"
    out.parent.mkdir(exist_ok=True)
    out.write_text(text)


if __name__ == "__main__":
    main()
