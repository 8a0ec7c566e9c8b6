"""A period spanning a price change is split by days, each part billed with its own version; and the
two-part tariff's excess-demand charge (above 105 % of the declared demand, double price).

Every figure below is worked out by hand in the comment next to it.
"""

from __future__ import annotations

import dataclasses
import json
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client

from gridcare.dsm.tariffs import shipped_tariffs
from gridcare.dsm.tariffs.engine import BillError, compute_bill
from gridcare.dsm.tariffs.schema import load_tariff
from gridcare.dsm.tariffs.source import SourceError
from gridcare.dsm.tariffs.usage import load_usage
from tests.conftest import City, login

D = Decimal

FLAT_CHANGE = """
    id: flat-change
    name: 调价示例
    versions:
      - {effective_from: 2020-01-01, energy: {price: 0.50}}
      - {effective_from: 2024-07-16, energy: {price: 0.60}}
"""

TIERED_CHANGE = """
    id: tiered-change
    name: 阶梯调价示例
    versions:
      - effective_from: 2020-01-01
        tiers:
          period: annual
          bands: [{upto: 2880, price: 0.4883}, {upto: 4800, price: 0.5383}, {price: 0.7883}]
      - effective_from: 2024-07-01
        tiers:
          period: annual
          bands: [{upto: 2880, price: 0.5000}, {upto: 4800, price: 0.5500}, {price: 0.8000}]
"""

DEMAND_CHANGE = """
    id: demand-change
    name: 两部制调价示例
    versions:
      - effective_from: 2024-01-01
        energy: {price: 0.60}
        basic: {method: demand, demand_price: 40}
      - effective_from: 2024-03-16
        energy: {price: 0.65}
        basic: {method: demand, demand_price: 36}
"""


def bill(tariff_yaml: str, usage_yaml: str, **kw):  # type: ignore[no-untyped-def]
    tariff = load_tariff(textwrap.dedent(tariff_yaml), source="t.yaml")
    return compute_bill(tariff, load_usage(textwrap.dedent(usage_yaml), source="u.yaml"), **kw)


def amounts(b) -> dict[str, Decimal]:  # type: ignore[no-untyped-def]
    return {line.code: line.amount for line in b.lines}


# --- a price change inside the period ----------------------------------------------------------------


def test_a_mid_month_price_change_splits_the_usage_by_days() -> None:
    # July: 1–15 (15 days) at 0.50, 16–31 (16 days) at 0.60. 310 kWh × 15/31 = 150, the rest 160.
    b = bill(FLAT_CHANGE, "start: 2024-07-01\nend: 2024-07-31\nkwh: 310\n")
    assert amounts(b) == {"part1.energy": D("75.00"), "part2.energy": D("96.00")}  # 150 × 0.5; 160 × 0.6
    assert b.total == D("171.00")
    assert [(p.start.isoformat(), p.end.isoformat(), p.days, p.kwh) for p in b.parts] == [
        ("2024-07-01", "2024-07-15", 15, D(150)),
        ("2024-07-16", "2024-07-31", 16, D(160)),
    ]
    assert [p.version_from.isoformat() for p in b.parts] == ["2020-01-01", "2024-07-16"]
    assert [line.part for line in b.lines] == [1, 2]
    assert b.lines[0].label.startswith("2024-07-01至2024-07-15")
    assert b.lines[1].formula == "160 kWh × 0.60 元/kWh = 96.00"
    assert any("310 × 15/31 = 150.0000 → 150" in n for n in b.notes)


def test_pro_rated_kwh_are_rounded_to_the_kwh_and_the_last_part_takes_the_rest() -> None:
    # 100 × 15/31 = 48.387 → 48 kWh at 0.50 = 24.00; 100 − 48 = 52 kWh at 0.60 = 31.20
    b = bill(FLAT_CHANGE, "start: 2024-07-01\nend: 2024-07-31\nkwh: 100\n")
    assert amounts(b) == {"part1.energy": D("24.00"), "part2.energy": D("31.20")}
    assert b.total == D("55.20")
    assert any("100 − 48 = 52" in n for n in b.notes)


def test_annual_tiers_across_a_price_change_share_thresholds_and_kwh_by_days() -> None:
    # 2024 has 366 days: 1 Jan–30 Jun = 182, 1 Jul–31 Dec = 184.
    # kWh: 5000 × 182/366 = 2486.34 → 2486; 5000 − 2486 = 2514.
    # part 1 thresholds: 2880 × 182/366 = 1432.13 → 1432; 4800 × 182/366 = 2386.89 → 2387
    #   1432 × 0.4883 = 699.2456 → 699.25; 955 × 0.5383 = 514.0765 → 514.08; 99 × 0.7883 = 78.0417 → 78.04
    # part 2 thresholds: 2880 × 184/366 = 1447.87 → 1448; 4800 × 184/366 = 2413.11 → 2413
    #   1448 × 0.5000 = 724.00; 965 × 0.5500 = 530.75; 101 × 0.8000 = 80.80
    b = bill(TIERED_CHANGE, "start: 2024-01-01\nend: 2024-12-31\nkwh: 5000\n")
    assert amounts(b) == {
        "part1.tier1": D("699.25"),
        "part1.tier2": D("514.08"),
        "part1.tier3": D("78.04"),
        "part2.tier1": D("724.00"),
        "part2.tier2": D("530.75"),
        "part2.tier3": D("80.80"),
    }
    assert [line.quantity for line in b.lines] == [D(1432), D(955), D(99), D(1448), D(965), D(101)]
    assert b.total == D("2626.92")
    assert any("2880 × 182/366 = 1432.1311 → 1432" in n for n in b.notes)


def test_basic_charge_of_a_split_month_is_shared_by_days() -> None:
    # March: 1–15 (15 days) at 40 元/kW, 16–31 (16 days) at 36 元/kW; energy 15000 / 16000 kWh.
    # 15000 × 0.60 = 9000.00; 500 × 40 × 15/31 = 9677.4194 → 9677.42
    # 16000 × 0.65 = 10400.00; 500 × 36 × 16/31 = 9290.3226 → 9290.32
    b = bill(DEMAND_CHANGE, "start: 2024-03-01\nend: 2024-03-31\nkwh: 31000\nmax_demand_kw: 500\n")
    assert amounts(b) == {
        "part1.energy": D("9000.00"),
        "part1.basic.demand": D("9677.42"),
        "part2.energy": D("10400.00"),
        "part2.basic.demand": D("9290.32"),
    }
    assert b.total == D("38367.74")
    basic = next(line for line in b.lines if line.code == "part1.basic.demand")
    assert basic.formula.endswith("× 15/31 天 = 9677.4194 → 9677.42")


def test_time_of_use_registers_are_shared_period_by_period() -> None:
    tariff = """
        id: tou-change
        name: 分时调价
        versions:
          - effective_from: 2020-01-01
            energy: {tou: {prices: {peak: 1.00, valley: 0.30}, seasons: [{months: [1,2,3,4,5,6,7,8,9,10,11,12],
                     periods: {peak: "08:00-20:00", valley: "20:00-08:00"}}]}}
          - effective_from: 2024-07-16
            energy: {tou: {prices: {peak: 1.10, valley: 0.35}, seasons: [{months: [1,2,3,4,5,6,7,8,9,10,11,12],
                     periods: {peak: "08:00-20:00", valley: "20:00-08:00"}}]}}
    """
    # peak 620 → 300 / 320; valley 93 → 93 × 15/31 = 45 / 48
    # 300 × 1.00 = 300.00; 45 × 0.30 = 13.50; 320 × 1.10 = 352.00; 48 × 0.35 = 16.80
    b = bill(tariff, "start: 2024-07-01\nend: 2024-07-31\nkwh_by_period: {peak: 620, valley: 93}\n")
    assert amounts(b) == {
        "part1.tou.peak": D("300.00"),
        "part1.tou.valley": D("13.50"),
        "part2.tou.peak": D("352.00"),
        "part2.tou.valley": D("16.80"),
    }
    assert b.total == D("682.30")


def test_monthly_readings_stay_whole_and_only_the_month_of_the_change_is_shared() -> None:
    # 1 Jun–15 Jul at 0.50 (45 days), 16–31 Jul at 0.60. June's 360 kWh are all in part 1; July's 310
    # are shared 15/16: 150 and 160. Part 1: 510 × 0.50 = 255.00; part 2: 160 × 0.60 = 96.00.
    b = bill(
        FLAT_CHANGE,
        "start: 2024-06-01\nend: 2024-07-31\nby_month:\n  - {month: 2024-06, kwh: 360}\n  - {month: 2024-07, kwh: 310}\n",
    )
    assert amounts(b) == {"part1.energy": D("255.00"), "part2.energy": D("96.00")}
    assert [p.kwh for p in b.parts] == [D(510), D(160)]


def test_version_split_none_bills_the_whole_period_with_the_first_days_version() -> None:
    b = bill(FLAT_CHANGE, "start: 2024-07-01\nend: 2024-07-31\nkwh: 310\n", version_split="none")
    assert amounts(b) == {"energy": D("155.00")}  # 310 × 0.50
    assert any("version_split: none" in n for n in b.notes)
    as_data = bill(
        FLAT_CHANGE.replace("name: 调价示例", "name: 调价示例\n    version_split: {method: none}"),
        "start: 2024-07-01\nend: 2024-07-31\nkwh: 310\n",
    )
    assert as_data.total == D("155.00")
    with pytest.raises(BillError, match="version_split"):
        bill(FLAT_CHANGE, "start: 2024-07-01\nend: 2024-07-31\nkwh: 310\n", version_split="weeks")


def test_the_split_step_is_tariff_data() -> None:
    # step 0.1 kWh: 100 × 15/31 = 48.387 → 48.4 × 0.50 = 24.20; 51.6 × 0.60 = 30.96
    tariff = FLAT_CHANGE.replace("name: 调价示例", "name: 调价示例\n    version_split: {step: 0.1}")
    b = bill(tariff, "start: 2024-07-01\nend: 2024-07-31\nkwh: 100\n")
    assert amounts(b) == {"part1.energy": D("24.20"), "part2.energy": D("30.96")}


def test_a_gap_between_versions_inside_the_period_is_named() -> None:
    tariff = """
        id: gap
        name: gap
        versions:
          - {effective_from: 2020-01-01, effective_to: 2024-07-10, energy: {price: 0.50}}
          - {effective_from: 2024-07-16, energy: {price: 0.60}}
    """
    with pytest.raises(BillError, match="no version in effect on 2024-07-11"):
        bill(tariff, "start: 2024-07-01\nend: 2024-07-31\nkwh: 310\n")


def test_cli_splits_a_bill_at_a_price_change(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tariff = tmp_path / "change.yaml"
    tariff.write_text(textwrap.dedent(FLAT_CHANGE))
    usage = tmp_path / "usage.yaml"
    usage.write_text("start: 2024-07-01\nend: 2024-07-31\nkwh: 100\n")
    call_command("tariff", "bill", "--tariff", str(tariff), "--usage", str(usage))
    out = json.loads(capsys.readouterr().out)
    assert out["total"] == "55.20"
    assert [(line["part"], line["amount"]) for line in out["lines"]] == [(1, "24.00"), (2, "31.20")]
    assert [p["kwh"] for p in out["parts"]] == ["48", "52"]
    call_command("tariff", "bill", "--tariff", str(tariff), "--usage", str(usage), "--version-split", "none")
    assert json.loads(capsys.readouterr().out)["total"] == "50.00"  # 100 × 0.50


def test_api_splits_a_bill_at_a_price_change(city: City, client: Client) -> None:
    login(client, city.analyst)
    usage = {"start": "2024-07-01", "end": "2024-07-31", "kwh": 100}
    response = client.post(
        "/api/v1/tariffs/bill",
        {"tariff": textwrap.dedent(FLAT_CHANGE), "usage": usage},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["total"] == "55.20" and [p["days"] for p in body["parts"]] == [15, 16]
    assert body["lines"][1]["formula"] == "52 kWh × 0.60 元/kWh = 31.20"
    response = client.post(
        "/api/v1/tariffs/bill",
        {"tariff": textwrap.dedent(FLAT_CHANGE), "usage": usage, "version_split": "weekly"},
        content_type="application/json",
    )
    assert response.status_code == 400 and "version_split" in response.json()["detail"]


# --- excess demand (超需量) -----------------------------------------------------------------------------

INDUSTRY = "example-large-industry"  # demand price 40 元/kW·月, floor 40 % of contract capacity
DEMAND = (
    "start: 2024-03-01\nend: 2024-03-31\nkwh_by_period: {flat: 1000}\npower_factor: 0.90\n"
    "basic_method: demand\ncontract_kva: 2000\ndeclared_demand_kw: 800\n"
)


def basic_lines(max_demand: str, tariff_id: str = INDUSTRY, extra: str = "") -> dict[str, tuple[Decimal, Decimal]]:
    b = compute_bill(shipped_tariffs()[tariff_id], load_usage(DEMAND + f"max_demand_kw: {max_demand}\n" + extra))
    return {line.code: (line.quantity, line.amount) for line in b.lines if line.kind == "basic"}


def test_demand_up_to_105_percent_of_the_declared_demand_is_charged_at_the_declared_demand() -> None:
    # 105 % × 800 = 840 kW: not above it, so the declared 800 × 40 = 32000.00 (按合同确定值收取), nothing doubled
    assert basic_lines("840") == {"basic.demand": (D(800), D("32000.00"))}
    assert basic_lines("820") == {"basic.demand": (D(800), D("32000.00"))}
    assert basic_lines("700") == {"basic.demand": (D(800), D("32000.00"))}


def test_demand_above_105_percent_pays_double_for_the_excess() -> None:
    # 900 kW: 840 × 40 = 33600.00; (900 − 840) = 60 kW × 40 × 2 = 4800.00
    assert basic_lines("900") == {
        "basic.demand": (D("840.00"), D("33600.00")),
        "basic.demand.excess": (D("60.00"), D("4800.00")),
    }
    # just over: 840.1 kW → 0.1 kW × 80 = 8.00
    assert basic_lines("840.1")["basic.demand.excess"] == (D("0.10"), D("8.00"))


def test_demand_below_the_threshold_with_demand_within_actual_is_charged_as_drawn_with_the_40_percent_floor() -> None:
    tariff = shipped_tariffs()[INDUSTRY]
    within_actual = dataclasses.replace(
        tariff,
        versions=tuple(
            dataclasses.replace(v, basic=dataclasses.replace(v.basic, demand_within="actual")) for v in tariff.versions
        ),
    )
    b = compute_bill(within_actual, load_usage(DEMAND + "max_demand_kw: 820\n"))
    assert {x.code: (x.quantity, x.amount) for x in b.lines if x.kind == "basic"} == {
        "basic.demand": (D(820), D("32800.00"))  # 820 × 40, between the floor and 105 %
    }
    # floor: max(650, 40 % × 2000 = 800) = 800 × 40
    assert basic_lines("650") == {"basic.demand": (D("800.00"), D("32000.00"))}


def test_excess_demand_line_shows_its_arithmetic_and_the_power_factor_applies() -> None:
    usage = DEMAND.replace("power_factor: 0.90", "power_factor: 0.85") + "max_demand_kw: 900\n"
    b = compute_bill(shipped_tariffs()[INDUSTRY], load_usage(usage))
    excess = next(line for line in b.lines if line.code == "basic.demand.excess")
    assert excess.formula == "(实际 900 − 840.00) kW = 60.00 kW × 40 元/kW·月 × 2 = 4800.00"
    # flat 1000 × 0.6150 = 615.00; basic 33600 + 4800; power factor 0.85 vs 0.90 → +2.5 %:
    # (615.00 + 33600.00 + 4800.00) × 2.5 % = 975.375 → 975.38; fund 1000 × 0.0296 = 29.60
    pf = next(line for line in b.lines if line.kind == "power_factor")
    assert (pf.quantity, pf.amount) == (D("39015.00"), D("975.38"))
    assert b.total == D("615.00") + D("29.60") + D("33600.00") + D("4800.00") + D("975.38")


def test_threshold_multiplier_and_within_rule_are_tariff_data(tmp_path: Path) -> None:
    tariff = """
        id: custom-demand
        name: custom
        versions:
          - effective_from: 2024-01-01
            energy: {price: 0.6}
            basic:
              method: demand
              demand_price: 40
              demand_excess_threshold: 1.10
              demand_excess_multiplier: 3
    """
    usage = "start: 2024-03-01\nend: 2024-03-31\nkwh: 0\ndeclared_demand_kw: 1000\nmax_demand_kw: "
    # 110 % × 1000 = 1100 × 40 = 44000.00; 100 kW × 40 × 3 = 12000.00
    b = bill(tariff, usage + "1200\n")
    assert amounts(b) == {"energy": D("0.00"), "basic.demand": D("44000.00"), "basic.demand.excess": D("12000.00")}
    # within the threshold the declared demand is billed: 1000 × 40 even though only 700 kW were drawn …
    assert amounts(bill(tariff, usage + "700\n"))["basic.demand"] == D("40000.00")
    drawn = tariff.replace(
        "demand_excess_multiplier: 3", "demand_excess_multiplier: 3\n              demand_within: actual"
    )
    # … unless the tariff bills the actual demand: 700 × 40
    assert amounts(bill(drawn, usage + "700\n"))["basic.demand"] == D("28000.00")
    with pytest.raises(SourceError, match=r"line 10, versions\[0\].basic.demand_excess_threshold: a multiple"):
        load_tariff(textwrap.dedent(tariff.replace("1.10", "0.95")), source="t.yaml")


def test_without_a_declared_demand_there_is_no_excess_charge() -> None:
    usage = DEMAND.replace("declared_demand_kw: 800\n", "") + "max_demand_kw: 1500\n"
    b = compute_bill(shipped_tariffs()[INDUSTRY], load_usage(usage))
    assert {line.code: line.amount for line in b.lines if line.kind == "basic"} == {"basic.demand": D("60000.00")}
