"""Residential annual bills through the pure engine, vectorised over customers (target ≥ 100,000 bills/s).

Baselines in the same run: the Decimal engine one bill at a time, and the floor of one numpy pass over
the kWh array (np.minimum + multiply) — what any vectorised bill must at least cost.
Run alone: .venv/bin/python bench/bench_dsm_bills.py
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from decimal import Decimal
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gridcare.dsm.tariffs import shipped_tariffs
from gridcare.dsm.tariffs.engine import compute_bill
from gridcare.dsm.tariffs.usage import Usage
from gridcare.dsm.tariffs.vector import tiered_bills_fen

N = 1_000_000
SCALAR_N = 5_000


def best_of(runs: int, fn) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    tariff = shipped_tariffs()["beijing-resident-tiered"]
    version = tariff.versions[0]
    rng = np.random.default_rng(2024)
    kwh = np.round(rng.gamma(2.0, 1400.0, N), 1)
    months = np.where(rng.random(N) < 0.05, rng.integers(1, 12, N), 12)

    vector = best_of(3, lambda: tiered_bills_fen(version, tariff.rounding, kwh, months))
    floor = best_of(3, lambda: np.minimum(kwh, 2880.0) * 0.4883)

    def scalar() -> None:
        for i in range(SCALAR_N):
            usage = Usage(
                start=dt.date(2024, 1, 1), end=dt.date(2024, 12, 31), months=int(months[i]), kwh=Decimal(str(kwh[i]))
            )
            compute_bill(tariff, usage)

    scalar_s = best_of(1, scalar)
    fen = tiered_bills_fen(version, tariff.rounding, kwh[:SCALAR_N], months[:SCALAR_N])
    checked = sum(
        int(fen[i])
        == int(
            compute_bill(
                tariff,
                Usage(
                    start=dt.date(2024, 1, 1),
                    end=dt.date(2024, 12, 31),
                    months=int(months[i]),
                    kwh=Decimal(str(kwh[i])),
                ),
            ).total
            * 100
        )
        for i in range(SCALAR_N)
    )
    lines = [
        f"bills: {N:,} Beijing residential annual bills (5 % pro-rated partial years)",
        f"vectorised engine: {vector:.3f} s = {N / vector:,.0f} bills/s (target ≥ 100,000 bills/s)",
        f"baseline, Decimal engine one at a time: {SCALAR_N / scalar_s:,.0f} bills/s",
        f"baseline, floor of one numpy pass (min × price): {floor:.3f} s = {N / floor:,.0f} values/s",
        f"agreement with the Decimal engine: {checked}/{SCALAR_N} bills equal to the fen",
    ]
    text = "\n".join(lines) + "\n"
    print(text, end="")
    out = Path(__file__).resolve().parent / "results" / "dsm_bills.txt"
    out.parent.mkdir(exist_ok=True)
    out.write_text(text)


if __name__ == "__main__":
    main()
