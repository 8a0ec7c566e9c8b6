"""The tariff engine against published arithmetic: tiers, TOU, TOU with tiers, two-part tariffs, power factor."""

from __future__ import annotations

import textwrap
from decimal import Decimal

import pytest

from gridcare.dsm.tariffs import shipped_tariffs
from gridcare.dsm.tariffs.engine import BillError, compute_bill
from gridcare.dsm.tariffs.schema import load_tariff
from gridcare.dsm.tariffs.usage import load_usage

D = Decimal


def bill(tariff_yaml: str, usage_yaml: str):  # type: ignore[no-untyped-def]
    tariff = load_tariff(textwrap.dedent(tariff_yaml), source="t.yaml")
    return compute_bill(tariff, load_usage(textwrap.dedent(usage_yaml), source="u.yaml"))


def shipped_bill(tariff_id: str, usage_yaml: str):  # type: ignore[no-untyped-def]
    return compute_bill(shipped_tariffs()[tariff_id], load_usage(textwrap.dedent(usage_yaml)))


def year(kwh: str | int) -> str:
    return f"start: 2024-01-01\nend: 2024-12-31\nkwh: {kwh}\n"


def amounts(b) -> dict[str, Decimal]:  # type: ignore[no-untyped-def]
    return {line.code: line.amount for line in b.lines}


# --- Beijing residential tiers -----------------------------------------------------------------------


def test_beijing_annual_bill_matches_published_arithmetic() -> None:
    b = shipped_bill("beijing-resident-tiered", year(5000))
    # 2880 × 0.4883 = 1406.304 → 1406.30; 1920 × 0.5383 = 1033.536 → 1033.54; 200 × 0.7883 = 157.66
    assert amounts(b) == {"tier1": D("1406.30"), "tier2": D("1033.54"), "tier3": D("157.66")}
    assert b.total == D("2597.50")
    assert "2880 kWh × 0.4883 元/kWh = 1406.3040 → 1406.30" in b.lines[0].formula


def test_boundary_kwh_falls_in_the_lower_tier() -> None:
    at = shipped_bill("beijing-resident-tiered", year(2880))
    assert [line.code for line in at.lines] == ["tier1"]
    assert at.total == D("1406.30")
    above = shipped_bill("beijing-resident-tiered", year(2881))
    assert amounts(above) == {"tier1": D("1406.30"), "tier2": D("0.54")}
    second = shipped_bill("beijing-resident-tiered", year(4800))
    assert amounts(second) == {"tier1": D("1406.30"), "tier2": D("1033.54")}


def test_partial_year_prorates_thresholds_by_months() -> None:
    # A customer connected in June: 7 months touched → 240 × 7 = 1680 and 400 × 7 = 2800 kWh.
    b = shipped_bill("beijing-resident-tiered", "start: 2024-06-10\nend: 2024-12-31\nkwh: 3000\n")
    assert [line.quantity for line in b.lines] == [D(1680), D(1120), D(200)]
    assert b.total == D("820.34") + D("602.90") + D("157.66")
    assert any("7 个月" in n for n in b.notes)


def test_prorating_can_be_switched_off_and_months_given_explicitly() -> None:
    tariff = """
        id: t
        name: t
        versions:
          - effective_from: 2020-01-01
            tiers:
              period: annual
              prorate: none
              bands: [{upto: 2760, price: 0.538}, {upto: 4800, price: 0.588}, {price: 0.838}]
    """
    b = bill(tariff, "start: 2024-06-01\nend: 2024-12-31\nkwh: 3000\n")
    assert [line.quantity for line in b.lines] == [D(2760), D(240)]
    tariff_prorated = tariff.replace("prorate: none", "prorate: months\n              prorate_step: 1")
    b = bill(tariff_prorated, "start: 2024-01-01\nend: 2024-12-31\nmonths: 5\nkwh: 3000\n")
    # 2760 × 5/12 = 1150; 4800 × 5/12 = 2000
    assert [line.quantity for line in b.lines] == [D(1150), D(850), D(1000)]


def tiered(period: str, bands: str) -> str:
    """A one-version tariff with tier bands only."""
    return f"""
        id: {period}
        name: {period} tiers
        versions:
          - effective_from: 2020-01-01
            tiers:
              period: {period}
              bands: {bands}
    """


def test_monthly_tiers_on_a_two_month_bill_double_the_thresholds() -> None:
    tariff = tiered("monthly", "[{upto: 200, price: 0.5653}, {upto: 400, price: 0.6153}, {price: 0.8653}]")
    one = bill(tariff, "start: 2024-03-01\nend: 2024-03-31\nkwh: 450\n")
    assert amounts(one) == {"tier1": D("113.06"), "tier2": D("123.06"), "tier3": D("43.27")}
    two = bill(tariff, "start: 2024-03-01\nend: 2024-04-30\nkwh: 450\n")
    assert amounts(two) == {"tier1": D("226.12"), "tier2": D("30.77")}


def test_a_meter_reading_cycle_of_one_month_keeps_the_monthly_thresholds() -> None:
    tariff = tiered("monthly", "[{upto: 260, price: 0.59}, {upto: 600, price: 0.64}, {price: 0.89}]")
    # Read on the 15th: 15 June – 14 July is one month, though it touches two calendar months.
    cycle = bill(tariff, "start: 2024-06-15\nend: 2024-07-14\nkwh: 700\n")
    assert [line.quantity for line in cycle.lines] == [D(260), D(340), D(100)]
    # 31 January – 28 February (29 in 2024) is one month too; 10 January – 9 March two.
    assert [line.quantity for line in bill(tariff, "start: 2024-01-31\nend: 2024-02-28\nkwh: 700\n").lines] == [
        D(260),
        D(340),
        D(100),
    ]
    two = bill(tariff, "start: 2024-01-10\nend: 2024-03-09\nkwh: 1300\n")
    assert [line.quantity for line in two.lines] == [D(520), D(680), D(100)]
    # A first bill for part of a month still counts as one month, as before.
    assert [line.quantity for line in bill(tariff, "start: 2024-06-20\nend: 2024-06-30\nkwh: 300\n").lines] == [
        D(260),
        D(40),
    ]


def test_a_monthly_bill_on_a_yearly_ladder_starts_where_the_year_so_far_ended() -> None:
    tariff = tiered("annual", "[{upto: 2760, price: 0.538}, {upto: 4800, price: 0.588}, {price: 0.838}]")
    january = bill(tariff, "start: 2024-01-01\nend: 2024-01-31\nkwh: 500\ntier_kwh_before: 0\n")
    assert amounts(january) == {"tier1": D("269.00")}  # not the 230/400 pro-rated thresholds
    november = bill(tariff, "start: 2024-11-01\nend: 2024-11-30\nkwh: 500\ntier_kwh_before: 2500\n")
    assert [(line.code, line.quantity) for line in november.lines] == [("tier1", D(260)), ("tier2", D(240))]
    assert november.total == D("139.88") + D("141.12")
    december = bill(tariff, "start: 2024-12-01\nend: 2024-12-31\nkwh: 600\ntier_kwh_before: 4500\n")
    assert [(line.code, line.quantity) for line in december.lines] == [("tier2", D(300)), ("tier3", D(300))]
    assert any("4500–5100 kWh" in note for note in december.notes)


SEASONAL = "example-seasonal-resident-tiered"


def test_bands_that_change_with_the_season_bill_each_month_on_its_own_ladder() -> None:
    july = shipped_bill(SEASONAL, "start: 2024-07-01\nend: 2024-07-31\nkwh: 700\n")
    # 260 × 0.5883 = 152.958 → 152.96; 340 × 0.6383 = 217.022 → 217.02; 100 × 0.8883 = 88.83
    assert [(line.code, line.quantity, line.amount) for line in july.lines] == [
        ("夏季.tier1", D(260), D("152.96")),
        ("夏季.tier2", D(340), D("217.02")),
        ("夏季.tier3", D(100), D("88.83")),
    ]
    january = shipped_bill(SEASONAL, "start: 2024-01-01\nend: 2024-01-31\nkwh: 700\n")
    assert [line.quantity for line in january.lines] == [D(200), D(200), D(300)]
    assert january.total == D("117.66") + D("127.66") + D("266.49")
    with pytest.raises(BillError, match="spans tier seasons"):
        shipped_bill(SEASONAL, "start: 2024-04-01\nend: 2024-05-31\nkwh: 600\n")
    spring = shipped_bill(
        SEASONAL,
        "start: 2024-04-01\nend: 2024-05-31\nby_month:\n  - {month: 2024-04, kwh: 300}\n  - {month: 2024-05, kwh: 300}\n",
    )
    # April: 200 + 100 on the winter ladder; May: 260 + 40 on the summer one.
    assert [(line.code, line.quantity) for line in spring.lines] == [
        ("夏季.tier1", D(260)),
        ("夏季.tier2", D(40)),
        ("非夏季.tier1", D(200)),
        ("非夏季.tier2", D(100)),
    ]


# --- time of use -------------------------------------------------------------------------------------


COMMERCIAL = "example-commercial-tou"


def test_tou_prices_from_ratios_and_critical_peak_in_summer() -> None:
    b = shipped_bill(
        COMMERCIAL,
        "start: 2024-07-01\nend: 2024-07-31\nkwh_by_period: {critical: 100, peak: 300, flat: 400, valley: 200}\n",
    )
    rates = {line.code: line.rate for line in b.lines}
    assert rates == {
        "tou.critical": D("1.2480"),
        "tou.peak": D("1.0400"),
        "tou.flat": D("0.6500"),
        "tou.valley": D("0.2600"),
        "adder.1": D("0.0296"),
    }
    assert b.total == D("124.80") + D("312.00") + D("260.00") + D("52.00") + D("29.60")


def test_tou_bill_across_seasons_needs_months_and_then_bills_each_season() -> None:
    with pytest.raises(BillError, match="by_month"):
        shipped_bill(COMMERCIAL, "start: 2024-06-01\nend: 2024-07-31\nkwh_by_period: {peak: 1, flat: 1, valley: 1}\n")
    b = shipped_bill(
        COMMERCIAL,
        """
        start: 2024-06-01
        end: 2024-07-31
        by_month:
          - {month: 2024-06, kwh_by_period: {peak: 10, flat: 10, valley: 10}}
          - {month: 2024-07, kwh_by_period: {critical: 5, peak: 10, flat: 10, valley: 10}}
        """,
    )
    labels = [line.label for line in b.lines if line.kind == "energy"]
    assert labels[0].startswith("夏季") and labels[-1].startswith("非夏季")
    assert b.kwh == D(65)


def test_tou_with_tiers_bills_periods_first_then_surcharges_above_each_threshold() -> None:
    b = shipped_bill(
        "beijing-resident-tou-tiered", "start: 2024-01-01\nend: 2024-12-31\nkwh_by_period: {peak: 3500, valley: 1500}\n"
    )
    assert amounts(b) == {
        "tou.peak": D("1884.05"),  # 3500 × 0.5383
        "tou.valley": D("447.45"),  # 1500 × 0.2983
        "tier2.surcharge": D("96.00"),  # 1920 × 0.05
        "tier3.surcharge": D("60.00"),  # 200 × 0.30
    }
    assert b.total == D("2487.50")


def test_tou_hours_default_to_flat_and_tou_needs_period_kwh() -> None:
    tariff = """
        id: t
        name: t
        versions:
          - effective_from: 2020-01-01
            energy:
              tou:
                prices: {peak: 1.0, flat: 0.6, valley: 0.3}
                seasons:
                  - months: [1,2,3,4,5,6,7,8,9,10,11,12]
                    periods: {peak: ["08:00-12:00"], valley: "22:00-06:00"}
    """
    t = load_tariff(textwrap.dedent(tariff))
    slots = t.versions[0].tou.seasons[0].slots  # type: ignore[union-attr]
    assert slots[0] == "valley" and slots[23] == "valley" and slots[24] == "flat" and slots[32] == "peak"
    assert slots[88] == "valley" and slots[87] == "flat"
    with pytest.raises(BillError, match="kwh_by_period"):
        compute_bill(t, load_usage(year(100)))


# --- two-part tariffs --------------------------------------------------------------------------------

INDUSTRY = "example-large-industry"
ENERGY = "kwh_by_period: {peak: 1000, flat: 1000, valley: 1000}\npower_factor: 0.90\n"


def test_capacity_basic_charge_counts_hot_and_unsealed_standby_but_not_sealed() -> None:
    transformers = """
        basic_method: capacity
        transformers:
          - {name: T1, kva: 1000, status: running}
          - {name: T2, kva: 500, status: standby_hot}
          - {name: T3, kva: 400, status: standby_cold_unsealed}
          - {name: T4, kva: 630, status: standby_cold_sealed}
    """
    b = shipped_bill(INDUSTRY, "start: 2024-03-01\nend: 2024-03-31\n" + ENERGY + textwrap.dedent(transformers))
    basic = {line.code: line.amount for line in b.lines if line.kind == "basic"}
    assert basic == {
        "basic.capacity.1": D("30000.00"),
        "basic.capacity.2": D("15000.00"),
        "basic.capacity.3": D("12000.00"),
        "basic.capacity.4": D("0.00"),
    }


def test_suspension_shorter_than_15_days_is_not_deducted() -> None:
    base = "start: 2024-03-01\nend: 2024-03-31\n" + ENERGY + "basic_method: capacity\n"
    short = shipped_bill(INDUSTRY, base + "transformers: [{kva: 800, suspended_days: 14}]\n")
    assert [line.amount for line in short.lines if line.kind == "basic"] == [D("24000.00")]
    assert any("14 天" in n for n in short.notes)
    long = shipped_bill(INDUSTRY, base + "transformers: [{kva: 800, suspended_days: 15}]\n")
    # 800 × 30 × 15 / 30 = 12000 deducted
    assert [line.amount for line in long.lines if line.kind == "basic"] == [D("24000.00"), D("-12000.00")]


def test_demand_basic_charge_has_a_floor_at_40_percent_of_contract_capacity() -> None:
    base = "start: 2024-03-01\nend: 2024-03-31\n" + ENERGY + "basic_method: demand\ncontract_kva: 2000\n"
    low = shipped_bill(INDUSTRY, base + "max_demand_kw: 650\n")
    line = next(line for line in low.lines if line.kind == "basic")
    assert (line.quantity, line.amount) == (D("800.00"), D("32000.00"))
    assert "40" in line.formula and "650" in line.formula
    high = shipped_bill(INDUSTRY, base + "max_demand_kw: 812.5\n")
    assert next(line.amount for line in high.lines if line.kind == "basic") == D("32500.00")


def test_a_declared_demand_below_the_floor_is_raised_to_it() -> None:
    base = "start: 2024-03-01\nend: 2024-03-31\n" + ENERGY + "basic_method: demand\ncontract_kva: 2000\n"
    # Declared 600 kW on 2,000 kVA (floor 800 kW), 820 kW used: within 105 % of the floor, so 800 × price —
    # not 630 kW declared plus 190 kW of excess at double price.
    b = shipped_bill(INDUSTRY, base + "declared_demand_kw: 600\nmax_demand_kw: 820\n")
    line = next(line for line in b.lines if line.kind == "basic")
    assert line.quantity == D("800.00") and any("低于合同容量的 40%" in note for note in b.notes)
    below = shipped_bill(INDUSTRY, base + "declared_demand_kw: 600\nmax_demand_kw: 790\n")
    assert next(line.amount for line in below.lines if line.kind == "basic") == line.amount  # more use never costs less


def test_power_factor_adjustment_applies_to_energy_and_basic_but_not_funds() -> None:
    usage = (
        "start: 2024-03-01\nend: 2024-03-31\nkwh_by_period: {peak: 1000, flat: 1000, valley: 1000}\n"
        "basic_method: capacity\ntransformers: [{kva: 100}]\npower_factor: 0.85\n"
    )
    b = shipped_bill(INDUSTRY, usage)
    energy_and_basic = D("985.00") + D("615.00") + D("295.00") + D("3000.00")
    pf = next(line for line in b.lines if line.kind == "power_factor")
    assert pf.quantity == energy_and_basic
    assert pf.amount == D("122.38")  # 4895 × 2.5 % = 122.375 → 122.38
    assert b.total == energy_and_basic + D("88.80") + D("122.38")


def test_power_factor_from_reactive_energy_is_rounded_to_two_decimals() -> None:
    usage = (
        "start: 2024-03-01\nend: 2024-03-31\nkwh_by_period: {flat: 10000}\nkvarh: 4000\n"
        "basic_method: demand\nmax_demand_kw: 100\n"
    )
    b = shipped_bill(INDUSTRY, usage)
    pf = next(line for line in b.lines if line.kind == "power_factor")
    # 10000 / √(10000² + 4000²) = 0.9285 → 0.93: 0.45 % off
    assert "0.93" in pf.formula and pf.rate == D("-0.0045")


def test_a_power_factor_tariff_refuses_usage_without_one() -> None:
    with pytest.raises(BillError, match="power_factor"):
        shipped_bill(
            INDUSTRY,
            "start: 2024-03-01\nend: 2024-03-31\nkwh_by_period: {flat: 1}\nbasic_method: demand\nmax_demand_kw: 1\n",
        )


# --- versions and rounding ---------------------------------------------------------------------------


def test_the_version_in_effect_on_the_first_day_is_used() -> None:
    tariff = """
        id: v
        name: v
        versions:
          - {effective_from: 2020-01-01, energy: {price: 0.50}}
          - {effective_from: 2024-07-01, energy: {price: 0.60}}
    """
    assert bill(tariff, "start: 2024-06-01\nend: 2024-06-30\nkwh: 100\n").total == D("50.00")
    late = bill(tariff, "start: 2024-07-01\nend: 2024-07-31\nkwh: 100\n")
    assert late.total == D("60.00") and late.version_from.isoformat() == "2024-07-01"
    with pytest.raises(BillError, match="no version"):
        bill(tariff, "start: 2019-06-01\nend: 2019-06-30\nkwh: 100\n")


def test_rounding_per_bill_rounds_only_the_total() -> None:
    tariff = """
        id: r
        name: r
        rounding: {per: bill}
        versions:
          - effective_from: 2020-01-01
            tiers:
              period: monthly
              bands: [{upto: 1, price: 0.005}, {price: 0.005}]
    """
    b = bill(tariff, "start: 2024-01-01\nend: 2024-01-31\nkwh: 2\n")
    # per line each 0.005 would round up to 0.01 (total 0.02); per bill 0.010 → 0.01
    assert b.total == D("0.01")
