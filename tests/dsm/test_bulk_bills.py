"""Bulk bills: the vectorised engine equals the Decimal engine to the fen on generated tariffs and usages, and
says which tariff components send a population to the Decimal engine."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridcare.dsm.tariffs import shipped_tariffs
from gridcare.dsm.tariffs.bulk import bills_fen
from gridcare.dsm.tariffs.engine import BillError
from gridcare.dsm.tariffs.schema import PERIODS, load_tariff
from gridcare.dsm.tariffs.vector import Unsupported, energy_bills_fen
from gridcare.dsm.whatif import rank_savers

D = Decimal
YEAR = dt.date(2024, 1, 1), dt.date(2024, 12, 31)


def _price(draw: Any, low: int = 500, high: int = 15000, places: int = 4) -> str:
    return str(D(draw(st.integers(min_value=low, max_value=high))).scaleb(-places))


@st.composite
def tou_doc(draw: Any) -> dict[str, Any]:
    """Time-of-use prices: one or two seasons, 1–5 periods splitting the day at random whole hours."""
    chosen = draw(st.lists(st.sampled_from(list(PERIODS)), min_size=1, max_size=5, unique=True))
    cuts = sorted(draw(st.lists(st.integers(1, 23), min_size=len(chosen) - 1, max_size=len(chosen) - 1, unique=True)))
    bounds = [0, *cuts, 24]
    periods = {p: [f"{bounds[i]:02d}:00-{bounds[i + 1]:02d}:00"] for i, p in enumerate(chosen)}
    split = draw(st.integers(min_value=1, max_value=12))  # months before it are the first season
    seasons = []
    for name, months in (("一季", list(range(1, split))), ("二季", list(range(split, 13)))):
        if months:
            places = draw(st.integers(2, 6))
            prices = {p: _price(draw, 10**places // 20, 2 * 10**places, places) for p in chosen}
            seasons.append({"name": name, "months": months, "prices": prices, "periods": periods})
    return {"seasons": seasons}


@st.composite
def bands_doc(draw: Any, kind: str) -> list[dict[str, Any]]:
    count = draw(st.integers(min_value=2, max_value=4))
    uptos = sorted(draw(st.lists(st.integers(1, 60_000), min_size=count - 1, max_size=count - 1, unique=True)))
    tenths = draw(st.booleans())
    bands: list[dict[str, Any]] = []
    for i in range(count):
        band: dict[str, Any] = {}
        if i < count - 1:
            band["upto"] = str(D(uptos[i]) / 10) if tenths else uptos[i]
        band[kind] = _price(draw) if kind == "price" else _price(draw, 0, 3000)
        bands.append(band)
    return bands


@st.composite
def tariff_doc(draw: Any) -> dict[str, Any]:
    energy_kind = draw(st.sampled_from(["flat", "tou", "tiers"]))
    version: dict[str, Any] = {"effective_from": "2020-01-01"}
    if energy_kind == "flat":
        version["energy"] = {"price": _price(draw)}
    elif energy_kind == "tou":
        version["energy"] = {"tou": draw(tou_doc())}
    kind = "price" if energy_kind == "tiers" else "surcharge"
    if energy_kind == "tiers" or draw(st.booleans()):
        tiers: dict[str, Any] = {
            "period": draw(st.sampled_from(["annual", "monthly"])),
            "prorate": draw(st.sampled_from(["months", "none"])),
        }
        step = draw(st.sampled_from([None, "1", "0.1", "0.01"]))
        if step:
            tiers["prorate_step"] = step
        if tiers["period"] == "monthly" and draw(st.booleans()):
            tiers["seasons"] = [
                {"name": "夏季", "months": [5, 6, 7, 8, 9, 10], "bands": draw(bands_doc(kind))},
                {"name": "非夏季", "months": [11, 12, 1, 2, 3, 4], "bands": draw(bands_doc(kind))},
            ]
        else:
            tiers["bands"] = draw(bands_doc(kind))
        version["tiers"] = tiers
    adders = draw(st.integers(min_value=0, max_value=2))
    if adders:
        version["adders"] = [{"name": f"附加{i}", "price": _price(draw, -300, 3000, 5)} for i in range(adders)]
    versions = [version]
    if draw(st.integers(0, 4)) == 0:  # a price change: periods across it are split by days
        later = dict(version, effective_from="2024-07-01")
        versions.append(later)
    return {
        "id": "generated",
        "name": "generated",
        "rounding": {
            "step": draw(st.sampled_from(["0.01", "0.01", "0.01", "0.1"])),
            "mode": draw(st.sampled_from(["half_up", "half_even", "down"])),
            "per": draw(st.sampled_from(["line", "bill"])),
        },
        "versions": versions,
    }


@st.composite
def period(draw: Any) -> tuple[dt.date, dt.date]:
    if draw(st.booleans()):
        return YEAR
    first = draw(st.integers(1, 12))
    last = draw(st.integers(first, 12))
    end = (dt.date(2024, last, 28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    return dt.date(2024, first, 1), end


def _boundaries(doc: dict[str, Any]) -> list[int]:
    """Band limits in Wh, and one Wh either side: where an off-by-one in the ladder shows."""
    tiers = doc["versions"][0].get("tiers", {})
    band_lists = [s["bands"] for s in tiers.get("seasons", [])] or [tiers.get("bands", [])]
    out = []
    for bands in band_lists:
        for band in bands:
            if "upto" in band:
                wh = int(D(str(band["upto"])) * 1000)
                out += [wh - 1, wh, wh + 1]
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tariff_doc(), period(), st.data())
def test_vectorised_bills_equal_the_decimal_engine_to_the_fen(doc: dict[str, Any], span: Any, data: Any) -> None:
    tariff = load_tariff(doc)
    start, end = span
    n = 24
    kwh_wh = data.draw(st.lists(st.integers(0, 90_000_000), min_size=n, max_size=n))
    edges = _boundaries(doc)
    kwh_wh[0] = 0
    for i, wh in enumerate(edges[: n - 1]):
        kwh_wh[i + 1] = max(wh, 0)
    months = np.asarray(data.draw(st.lists(st.integers(1, 12), min_size=n, max_size=n)), dtype=np.int64)
    totals = np.asarray(kwh_wh, dtype=np.int64)
    tou = tariff.versions[0].tou
    kwargs: dict[str, Any]
    if tou is not None:
        names = sorted(tou.season_for(start.month).prices)
        weights = np.asarray(data.draw(st.lists(st.integers(0, 9), min_size=len(names), max_size=len(names))))
        weights = weights if weights.sum() else np.ones(len(names), dtype=np.int64)
        parts = {p: totals * int(w) // int(weights.sum()) for p, w in zip(names, weights, strict=True)}
        parts[names[0]] += totals - sum(parts.values())  # the periods add up to the total, Wh for Wh
        kwargs = {"kwh_by_period": {p: a / 1000 for p, a in parts.items()}}
    else:
        kwargs = {"kwh": totals / 1000}
    try:
        expected = bills_fen(tariff, start=start, end=end, months=months, engine="decimal", **kwargs)
    except BillError:
        with pytest.raises(BillError):
            bills_fen(tariff, start=start, end=end, months=months, **kwargs)
        return
    got = bills_fen(tariff, start=start, end=end, months=months, **kwargs)
    assert got.fen.tolist() == expected.fen.tolist()


def test_rounding_at_half_a_fen_follows_the_tariff_mode() -> None:
    doc = {"id": "t", "name": "t", "versions": [{"effective_from": "2020-01-01", "energy": {"price": "0.5"}}]}
    kwh = [0.01, 0.03, 0.0]  # 0.005 and 0.015 yuan: exactly half a fen
    for mode, fen in (("half_up", [1, 2, 0]), ("half_even", [0, 2, 0]), ("down", [0, 1, 0])):
        tariff = load_tariff(dict(doc, rounding={"mode": mode}))
        got = bills_fen(tariff, start=YEAR[0], end=YEAR[1], kwh=kwh)
        assert got.fen.tolist() == fen and got.vectorised == 3
        assert bills_fen(tariff, start=YEAR[0], end=YEAR[1], kwh=kwh, engine="decimal").fen.tolist() == fen


def test_tou_with_tier_surcharges_is_billed_by_the_vectorised_engine() -> None:
    tariff = shipped_tariffs()["beijing-resident-tou-tiered"]
    got = bills_fen(tariff, start=YEAR[0], end=YEAR[1], kwh_by_period={"peak": [2000, 4000], "valley": [1000, 1500]})
    assert got.vectorised == 2 and got.fallback is None
    # 2000 × 0.5383 + 1000 × 0.2983 + (3000 − 2880) × 0.05; 4000 × 0.5383 + 1500 × 0.2983 + 1920 × 0.05 + 700 × 0.30
    assert got.fen.tolist() == [107660 + 29830 + 600, 215320 + 44745 + 9600 + 21000]


@pytest.mark.parametrize(
    ("without_basic", "reason"),
    [(False, "the basic charge of a two-part tariff"), (True, "the power-factor adjustment")],
)
def test_components_the_vectorised_engine_leaves_to_the_decimal_one_are_named(without_basic: bool, reason: str) -> None:
    tariff = shipped_tariffs()["example-large-industry"]
    if without_basic:
        tariff = dataclasses.replace(
            tariff, versions=tuple(dataclasses.replace(v, basic=None) for v in tariff.versions)
        )
    start = tariff.versions[-1].effective_from
    wh = {"peak": np.asarray([1000], dtype=np.int64)}
    with pytest.raises(Unsupported, match=reason):
        energy_bills_fen(tariff, start=start, end=start, wh_by_period=wh, months=np.asarray([1]))


def test_a_period_spanning_a_price_change_and_repeating_thresholds_fall_back_and_say_why() -> None:
    version = {
        "effective_from": "2020-01-01",
        "tiers": {"period": "annual", "bands": [{"upto": 2000, "price": "0.5"}, {"price": "0.7"}]},
    }
    split = load_tariff({"id": "s", "name": "s", "versions": [version, dict(version, effective_from="2024-07-01")]})
    got = bills_fen(split, start=YEAR[0], end=YEAR[1], kwh=[3000.0])
    assert got.vectorised == 0 and got.fallback == "the period spans a price change (split by days)"
    one = load_tariff({"id": "o", "name": "o", "versions": [version]})
    got = bills_fen(one, start=YEAR[0], end=YEAR[1], kwh=[3000.0, 3000.0], months=[5, 6])  # 2000 × 5/12 repeats
    assert got.vectorised == 1 and got.fallback == "pro-rated tier thresholds that are repeating decimals"
    assert (
        got.fen.tolist()
        == bills_fen(
            one, start=YEAR[0], end=YEAR[1], kwh=[3000.0, 3000.0], months=[5, 6], engine="decimal"
        ).fen.tolist()
    )


def test_ranked_audience_is_the_same_through_the_vectorised_and_the_decimal_path() -> None:
    tariffs = shipped_tariffs()
    rng = np.random.default_rng(7)
    customers = {
        int(i): {"peak": D(int(p)).scaleb(-1), "valley": D(int(v)).scaleb(-1)}
        for i, p, v in zip(range(300), rng.integers(0, 60000, 300), rng.integers(0, 60000, 300), strict=True)
    }
    args = {"current": tariffs["beijing-resident-tiered"], "option": tariffs["beijing-resident-tou-tiered"]}
    vectorised = rank_savers(**args, customers=customers, start=YEAR[0], end=YEAR[1], share=D("0.15"), limit=50)
    # a kWh value finer than the Wh sends the whole audience down the Decimal path
    finer = {**customers, 999: {"peak": D("0.0001"), "valley": D(0)}}
    decimal = rank_savers(**args, customers=finer, start=YEAR[0], end=YEAR[1], share=D("0.15"), limit=50)
    assert len(vectorised) == 50 and vectorised == decimal


def test_a_customer_beyond_the_int64_range_is_billed_by_the_decimal_engine() -> None:
    tariff = shipped_tariffs()["beijing-resident-tiered"]
    kwh = [3000.0, 50_000_000.0]  # a 50 GWh year would overflow the integer products
    got = bills_fen(tariff, start=YEAR[0], end=YEAR[1], kwh=kwh)
    assert got.vectorised == 1 and got.fallback == "more than 10,000,000 kWh"
    assert got.fen.tolist() == bills_fen(tariff, start=YEAR[0], end=YEAR[1], kwh=kwh, engine="decimal").fen.tolist()


def test_a_share_with_many_digits_takes_the_decimal_path_with_the_same_audience() -> None:
    tariffs = shipped_tariffs()
    customers = {1: {"peak": D("2500.123"), "valley": D("300")}, 2: {"peak": D("400"), "valley": D("2600.5")}}
    args = {"current": tariffs["beijing-resident-tiered"], "option": tariffs["beijing-resident-tou-tiered"]}
    fine = rank_savers(**args, customers=customers, start=YEAR[0], end=YEAR[1], share=D("0.1234567"))
    coarse = rank_savers(**args, customers=customers, start=YEAR[0], end=YEAR[1], share=D("0.123457"))
    assert [c for c, _ in fine] == [c for c, _ in coarse] == [2, 1]
