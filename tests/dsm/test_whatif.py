"""TOU what-if: current tariff against TOU options, with peak shifted to the valley, and the ranked audience."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from gridcare.dsm.tariffs import shipped_tariffs
from gridcare.dsm.whatif import compare, rank_savers, shift_to_valley

D = Decimal
TARIFFS = shipped_tariffs()
START, END = dt.date(2024, 1, 1), dt.date(2024, 12, 31)


def test_shifting_moves_peak_energy_to_the_valley_and_keeps_the_total() -> None:
    shifted = shift_to_valley({"peak": D(1000), "valley": D(200)}, D("0.1"))
    assert shifted == {"peak": D(900), "valley": D(300)}


def test_compare_bills_each_option_against_the_current_tariff() -> None:
    periods = {"peak": D(2000), "valley": D(1000)}
    options = compare(
        current=TARIFFS["beijing-resident-tiered"],
        options=[TARIFFS["beijing-resident-tou-tiered"]],
        kwh_by_period=periods,
        start=START,
        end=END,
    )
    by_key = {(o.tariff_id, o.shifted_share): o for o in options}
    tiered = by_key[("beijing-resident-tiered", D(0))]
    assert tiered.total == D("1470.90") and tiered.saving == 0  # 1406.30 (2880 × 0.4883) + 64.60 (120 × 0.5383)
    tou = by_key[("beijing-resident-tou-tiered", D(0))]
    assert tou.total == D("1076.60") + D("298.30") + D("6.00")
    assert tou.saving == tiered.total - tou.total
    shifted = by_key[("beijing-resident-tou-tiered", D("0.1"))]
    assert shifted.saving > tou.saving and options[0] == shifted


def test_ranked_audience_lists_the_biggest_savers_first() -> None:
    customers = {
        1: {"peak": D(3000), "valley": D(100)},
        2: {"peak": D(500), "valley": D(2500)},
        3: {"peak": D(1000), "valley": D(1000)},
    }
    ranked = rank_savers(
        current=TARIFFS["beijing-resident-tiered"],
        option=TARIFFS["beijing-resident-tou-tiered"],
        customers=customers,
        start=START,
        end=END,
    )
    assert [cid for cid, _ in ranked] == [2, 3]  # customer 1 would pay more under TOU
