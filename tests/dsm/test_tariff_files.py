"""Tariff files are refused with the line, the field and the reason; the power-factor rule; the vector path."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from hypothesis import given, settings
from hypothesis import strategies as st

from gridcare.dsm.tariffs import shipped_tariffs
from gridcare.dsm.tariffs.bulk import tiered_bills_fen
from gridcare.dsm.tariffs.engine import compute_bill
from gridcare.dsm.tariffs.powerfactor import adjustment_percent, monthly_factor
from gridcare.dsm.tariffs.schema import load_tariff
from gridcare.dsm.tariffs.source import SourceError
from gridcare.dsm.tariffs.usage import Usage, load_usage
from tests.conftest import City, login

D = Decimal

GOOD = """\
id: good
name: good
versions:
  - effective_from: 2020-01-01
    tiers:
      period: annual
      bands:
        - {upto: 2880, price: 0.4883}
        - {upto: 4800, price: 0.5383}
        - {price: 0.7883}
"""


def refused(text: str) -> SourceError:
    with pytest.raises(SourceError) as info:
        load_tariff(text, source="x.yaml")
    return info.value


def test_the_shipped_tariffs_load() -> None:
    assert {"beijing-resident-tiered", "example-commercial-tou", "example-large-industry"} <= set(shipped_tariffs())


def test_bands_out_of_order_name_the_line_and_field() -> None:
    err = refused(GOOD.replace("upto: 4800", "upto: 2000"))
    assert err.line == 9 and err.path == "versions[0].tiers.bands[1].upto"
    assert "greater than the previous" in str(err) and "x.yaml, line 9" in str(err)


def test_a_misspelt_field_is_refused_not_ignored() -> None:
    err = refused(GOOD.replace("upto: 2880", "up_to: 2880"))
    assert err.line == 8 and "unknown field 'up_to'" in err.reason


def test_a_price_that_is_not_a_number() -> None:
    err = refused(GOOD.replace("0.7883", "abc"))
    assert err.line == 10 and "expected a number" in err.reason


def test_yaml_syntax_errors_name_their_line() -> None:
    err = refused(GOOD.replace("- {price: 0.7883}", "- {price: 0.7883"))
    assert err.line is not None and err.line >= 10 and "not valid YAML" in err.reason


def test_duplicate_keys_are_refused() -> None:
    err = refused(GOOD.replace("name: good", "name: good\nname: again"))
    assert err.line == 3 and "twice" in err.reason


def test_missing_required_fields() -> None:
    assert "'id' is required" in refused("name: x\nversions: []\n").reason
    assert "at least one version" in refused("id: x\nname: x\nversions: []\n").reason
    err = refused(GOOD.replace("        - {price: 0.7883}\n", ""))
    assert "upto" in err.reason  # the last band left has an upper limit


@pytest.mark.parametrize(
    ("periods", "line", "reason"),
    [
        ('{peak: ["08:00-12:00"], valley: ["11:00-13:00"]}', 9, "already in the 'peak' period"),
        ('{peak: ["08:10-12:00"]}', 9, "quarter hours"),
        ('{peak: ["8-12"]}', 9, "time range"),
        ('{critical: ["08:00-09:00"]}', 9, "no price"),
    ],
)
def test_bad_tou_hours(periods: str, line: int, reason: str) -> None:
    text = f"""\
id: t
name: t
versions:
  - effective_from: 2020-01-01
    energy:
      tou:
        prices: {{peak: 1, flat: 0.6, valley: 0.3}}
        seasons:
          - {{months: [1,2,3,4,5,6,7,8,9,10,11,12], periods: {periods}}}
"""
    err = refused(text)
    assert err.line == line and reason in err.reason


def test_seasons_must_cover_every_month_once() -> None:
    text = """\
id: t
name: t
versions:
  - effective_from: 2020-01-01
    energy:
      tou:
        prices: {flat: 0.6}
        seasons:
          - {months: [1, 2, 3], periods: {}}
          - {months: [3, 4], periods: {}}
"""
    err = refused(text)
    assert err.line == 10 and "month 3" in err.reason
    err = refused(text.replace("[3, 4]", "[4, 5]"))
    assert "[6, 7, 8, 9, 10, 11, 12]" in err.reason


def test_tou_with_priced_bands_is_ambiguous_and_refused() -> None:
    text = """\
id: t
name: t
versions:
  - effective_from: 2020-01-01
    energy: {price: 0.5}
    tiers: {period: annual, bands: [{upto: 10, price: 0.5}, {price: 0.6}]}
"""
    assert "surcharge" in refused(text).reason


def test_overlapping_versions_are_refused() -> None:
    text = """\
id: t
name: t
versions:
  - {effective_from: 2020-01-01, effective_to: 2024-12-31, energy: {price: 0.5}}
  - {effective_from: 2024-07-01, energy: {price: 0.6}}
"""
    err = refused(text)
    assert err.line == 5 and "overlaps" in err.reason


def test_inline_json_tariffs_are_read_without_float_errors() -> None:
    tariff = load_tariff(
        {"id": "j", "name": "j", "versions": [{"effective_from": "2020-01-01", "energy": {"price": 0.1}}]}
    )
    usage = load_usage({"start": "2024-01-01", "end": "2024-01-31", "kwh": 3})
    assert compute_bill(tariff, usage).lines[0].amount == D("0.30")


def test_usage_files_are_refused_with_line_too() -> None:
    with pytest.raises(SourceError) as info:
        load_usage("start: 2024-01-01\nend: 2023-12-31\nkwh: 1\n", source="u.yaml")
    assert info.value.line == 2 and "ends before" in info.value.reason
    with pytest.raises(SourceError) as info:
        load_usage("start: 2024-01-01\nend: 2024-01-31\nkwh: -5\n")
    assert info.value.line == 3


# --- power factor ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("standard", "factor", "percent"),
    [
        ("0.90", "1.00", "-0.75"),
        ("0.90", "0.95", "-0.75"),
        ("0.90", "0.93", "-0.45"),
        ("0.90", "0.90", "0"),
        ("0.90", "0.89", "0.5"),
        ("0.90", "0.70", "10"),
        ("0.90", "0.65", "15"),
        ("0.90", "0.64", "17"),
        ("0.85", "0.94", "-1.10"),
        ("0.85", "0.91", "-0.65"),
        ("0.85", "0.88", "-0.3"),
        ("0.85", "0.65", "10"),
        ("0.85", "0.60", "15"),
        ("0.85", "0.59", "17"),
        ("0.80", "0.92", "-1.30"),
        ("0.80", "0.91", "-1.15"),
        ("0.80", "0.90", "-1.0"),
        ("0.80", "0.60", "10"),
        ("0.80", "0.55", "15"),
        ("0.80", "0.54", "17"),
    ],
)
def test_power_factor_table_points(standard: str, factor: str, percent: str) -> None:
    assert adjustment_percent(D(factor), D(standard)) == D(percent)


@given(st.sampled_from(["0.90", "0.85", "0.80"]), st.integers(min_value=1, max_value=100))
def test_power_factor_adjustment_never_rises_as_the_factor_improves(standard: str, hundredths: int) -> None:
    better = adjustment_percent(D(hundredths) / 100, D(standard))
    worse = adjustment_percent(D(hundredths - 1) / 100, D(standard))
    assert worse >= better


def test_monthly_factor_rounds_half_up() -> None:
    assert monthly_factor(D(10000), D(4000)) == D("0.93")
    assert monthly_factor(D(100), D(0)) == D("1.00")


# --- vectorised bills --------------------------------------------------------------------------------


BEIJING = shipped_tariffs()["beijing-resident-tiered"]


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=2_000_000), st.integers(min_value=1, max_value=12))
def test_vectorised_bills_equal_the_engine_to_the_fen(tenths_kwh: int, months: int) -> None:
    tariff = BEIJING
    kwh = D(tenths_kwh) / 10
    usage = Usage(start=dt.date(2024, 1, 1), end=dt.date(2024, 12, 31), months=months, kwh=kwh)
    fen = tiered_bills_fen(tariff.versions[0], tariff.rounding, np.array([float(kwh)]), np.array([months]))
    assert int(fen[0]) == int(compute_bill(tariff, usage).total * 100)


def test_vectorised_bills_with_odd_prorating() -> None:
    tariff = load_tariff(GOOD.replace("2880", "2000"))
    kwh = np.array([0, 833.3, 833.4, 1999.9, 5000.0, 123456.7])
    months = np.array([5, 5, 5, 7, 11, 1])
    fen = tiered_bills_fen(tariff.versions[0], tariff.rounding, kwh, months)
    for k, m, f in zip(kwh, months, fen, strict=True):
        usage = Usage(start=dt.date(2024, 1, 1), end=dt.date(2024, 12, 31), months=int(m), kwh=D(str(k)))
        assert int(f) == int(compute_bill(tariff, usage).total * 100)


# --- CLI and API -------------------------------------------------------------------------------------


def test_cli_prints_the_bill_as_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    usage = tmp_path / "usage.yaml"
    usage.write_text("start: 2024-01-01\nend: 2024-12-31\nkwh: 5000\n")
    call_command("tariff", "bill", "--tariff", "beijing-resident-tiered", "--usage", str(usage))
    out = json.loads(capsys.readouterr().out)
    assert out["total"] == "2597.50" and len(out["lines"]) == 3
    tariff = tmp_path / "mine.yaml"
    tariff.write_text(GOOD)
    call_command("tariff", "bill", "--tariff", str(tariff), "--usage", str(usage))
    assert json.loads(capsys.readouterr().out)["tariff_id"] == "good"


def test_cli_refuses_a_bad_tariff_with_one_line(tmp_path: Path) -> None:
    tariff = tmp_path / "bad.yaml"
    tariff.write_text(GOOD.replace("0.5383", "-1"))
    usage = tmp_path / "usage.yaml"
    usage.write_text("start: 2024-01-01\nend: 2024-12-31\nkwh: 5000\n")
    with pytest.raises(CommandError, match=r"bad.yaml, line 9, versions\[0\].tiers.bands\[1\].price"):
        call_command("tariff", "bill", "--tariff", str(tariff), "--usage", str(usage))
    with pytest.raises(CommandError, match="no tariff"):
        call_command("tariff", "bill", "--tariff", "nope", "--usage", str(usage))


def test_api_bills_a_known_tariff_and_an_inline_one(city: City, client: Client) -> None:
    login(client, city.analyst)
    usage = {"start": "2024-01-01", "end": "2024-12-31", "kwh": 5000}
    response = client.post(
        "/api/v1/tariffs/bill",
        {"tariff_id": "beijing-resident-tiered", "usage": usage},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["total"] == "2597.50"
    response = client.post("/api/v1/tariffs/bill", {"tariff": GOOD, "usage": usage}, content_type="application/json")
    assert response.json()["lines"][1]["formula"].startswith("1920 kWh × 0.5383")


def test_api_refuses_bad_input_with_400_and_the_line(city: City, client: Client) -> None:
    login(client, city.analyst)
    usage = {"start": "2024-01-01", "end": "2024-12-31", "kwh": 5000}
    bad = GOOD.replace("upto: 4800", "upto: 100")
    response = client.post("/api/v1/tariffs/bill", {"tariff": bad, "usage": usage}, content_type="application/json")
    assert response.status_code == 400
    assert "line 9" in response.json()["detail"]
    response = client.post(
        "/api/v1/tariffs/bill",
        {"tariff_id": "beijing-resident-tiered", "usage": {"start": "2024-01-01"}},
        content_type="application/json",
    )
    assert response.status_code == 400 and "'end' is required" in response.json()["detail"]
    response = client.post("/api/v1/tariffs/bill", {"usage": usage}, content_type="application/json")
    assert response.status_code == 400
    assert client.get("/api/v1/tariffs").status_code == 200


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("1e27", "out of range"),
        ("1e-999999999", "out of range"),
        ("0." + "0" * 60 + "1", "at most 40 characters"),
    ],
)
def test_numbers_beyond_any_bill_are_refused_not_computed(value: str, reason: str) -> None:
    with pytest.raises(SourceError, match=reason):
        load_usage(f"start: 2024-01-01\nend: 2024-01-31\nkwh: {value}\n", source="u.yaml")


def test_deep_nesting_and_alias_bombs_are_refused_quickly() -> None:
    with pytest.raises(SourceError, match="nested too deeply"):
        load_usage("kwh: " + "[" * 5000 + "]" * 5000, source="u.yaml")
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for level in range(1, 8):
        bomb += f"{chr(97 + level)}: &{chr(97 + level)} [" + ", ".join([f"*{chr(96 + level)}"] * 10) + "]\n"
    with pytest.raises(SourceError, match="too large"):
        load_usage(bomb, source="u.yaml")


def test_a_tariff_saved_as_gbk_is_read(tmp_path: Path) -> None:
    text = GOOD.replace("name:", "name: 浙江居民 #", 1)
    tariff = load_tariff(text.encode("gb18030"), source="gbk.yaml")
    assert tariff.name.startswith("浙江居民")


@pytest.mark.parametrize(
    ("tiers", "reason"),
    [
        (
            "period: monthly\n      bands: [{upto: 1, price: 1}, {price: 2}]\n      seasons: []",
            "either 'bands' or 'seasons'",
        ),
        ("period: annual\n      seasons: []", "use period: monthly"),
        (
            "period: monthly\n      seasons:\n        - {months: [1, 2, 3, 4, 5, 6], bands: [{upto: 1, price: 1}, {price: 2}]}",
            "months [7, 8, 9, 10, 11, 12] are in no season",
        ),
        (
            "period: monthly\n      seasons:\n        - {months: [1, 2], bands: [{upto: 1, price: 1}, {price: 2}]}\n"
            "        - {months: [2], bands: [{upto: 1, price: 1}, {price: 2}]}",
            "month 2 is already in season",
        ),
    ],
)
def test_seasonal_bands_are_checked(tiers: str, reason: str) -> None:
    text = f"id: s\nname: s\nversions:\n  - effective_from: 2020-01-01\n    tiers:\n      {tiers}\n"
    assert reason in str(refused(text))
