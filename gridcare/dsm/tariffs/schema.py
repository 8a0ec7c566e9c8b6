"""Tariffs as data: the dataclasses the engine computes with, and the strict reader of tariff files.

The file format is documented in docs/dsm.md. Every refusal names the line, the field and the reason.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from gridcare.dsm.tariffs.source import Node, SourceError, parse_document

# TOU periods in the order bills list them, with their Chinese names.
PERIODS: dict[str, str] = {
    "critical": "尖峰",
    "peak": "高峰",
    "flat": "平段",
    "valley": "低谷",
    "deep_valley": "深谷",
}
ROUNDING_MODES = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN, "down": ROUND_DOWN}
SLOTS_PER_DAY = 96  # 15-minute slots; TOU hours must fall on quarter hours
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class Rounding:
    step: Decimal = Decimal("0.01")
    mode: str = "half_up"
    per: str = "line"  # "line": every line item is rounded and the total is their sum; "bill": only the total

    def apply(self, amount: Decimal) -> Decimal:
        return amount.quantize(self.step, rounding=ROUNDING_MODES[self.mode])


@dataclass(frozen=True)
class Band:
    """One tier: kWh up to and including `upto` (None = no upper limit), at `price` or plus `surcharge`."""

    upto: Decimal | None
    price: Decimal | None
    surcharge: Decimal | None
    line: int | None = None


@dataclass(frozen=True)
class TierSeason:
    """Monthly bands that apply in some months only (Guangdong: wider bands May–October)."""

    name: str
    months: frozenset[int]
    bands: tuple[Band, ...]


@dataclass(frozen=True)
class Tiers:
    period: str  # "annual" or "monthly"
    prorate: str  # "months" (thresholds × months / period months) or "none"
    prorate_step: Decimal | None  # round pro-rated thresholds to this many kWh (None = exact)
    bands: tuple[Band, ...]  # with seasons: the first season's bands
    seasons: tuple[TierSeason, ...] = ()

    @property
    def period_months(self) -> int:
        return 12 if self.period == "annual" else 1

    def season_for(self, month: int) -> TierSeason:
        for season in self.seasons:
            if month in season.months:
                return season
        raise LookupError(month)  # validation guarantees every month is covered

    def in_season(self, season: TierSeason) -> Tiers:
        """These tiers with one season's bands, as if they had no seasons."""
        return Tiers(self.period, self.prorate, self.prorate_step, season.bands)

    @property
    def uses_surcharge(self) -> bool:
        return self.bands[0].surcharge is not None


@dataclass(frozen=True)
class Season:
    name: str
    months: frozenset[int]
    prices: dict[str, Decimal]
    # The TOU period of each 15-minute slot of the day (0 = 00:00–00:15).
    slots: tuple[str, ...]


@dataclass(frozen=True)
class TimeOfUse:
    seasons: tuple[Season, ...]

    def season_for(self, month: int) -> Season:
        for season in self.seasons:
            if month in season.months:
                return season
        raise LookupError(month)  # validation guarantees every month is covered

    @property
    def periods(self) -> list[str]:
        used = {p for s in self.seasons for p in s.prices}
        return [p for p in PERIODS if p in used]


@dataclass(frozen=True)
class Adder:
    """A per-kWh charge outside the energy price (government funds, 代征基金): not TOU-floated."""

    name: str
    price: Decimal
    pf_adjusted: bool


@dataclass(frozen=True)
class Basic:
    """The capacity part of a two-part tariff (基本电费)."""

    method: str  # capacity | demand | either
    capacity_price: Decimal | None  # 元/kVA·月
    demand_price: Decimal | None  # 元/kW·月
    demand_floor_ratio: Decimal  # billing demand is at least this share of contract capacity
    suspension_min_days: int  # suspensions shorter than this are not deducted
    days_per_month: int  # a day's basic charge is the month's divided by this
    # Demand above `demand_excess_threshold` × the declared (contracted) demand is charged at
    # `demand_excess_multiplier` × demand_price (China: above 105 %, double).
    demand_excess_threshold: Decimal = Decimal("1.05")
    demand_excess_multiplier: Decimal = Decimal(2)
    # Up to the threshold: bill the actual maximum demand ("actual") or the declared demand ("declared").
    demand_within: str = "declared"


@dataclass(frozen=True)
class VersionSplit:
    """How a usage period that spans a price change is billed (see docs/dsm.md)."""

    method: str = "days"  # days: usage shared by days in each version's part | none: first day's version
    step: Decimal = Decimal(1)  # round each part's pro-rated kWh (and tier thresholds) to this many kWh


@dataclass(frozen=True)
class PowerFactor:
    standard: Decimal  # 0.90, 0.85 or 0.80
    applies_to: frozenset[str]  # line kinds the percentage applies to: energy, basic, adder


@dataclass(frozen=True)
class Version:
    effective_from: dt.date
    effective_to: dt.date | None  # inclusive; None = until the next version
    flat_price: Decimal | None
    tou: TimeOfUse | None
    tiers: Tiers | None
    adders: tuple[Adder, ...]
    basic: Basic | None
    power_factor: PowerFactor | None
    line: int | None = None


@dataclass(frozen=True)
class Tariff:
    id: str
    name: str
    category: str
    rounding: Rounding
    versions: tuple[Version, ...]
    version_split: VersionSplit = field(default_factory=VersionSplit)
    source: str = ""
    notes: str = ""
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def version_on(self, day: dt.date) -> Version:
        chosen: Version | None = None
        for version in self.versions:
            if version.effective_from <= day and (version.effective_to is None or day <= version.effective_to):
                chosen = version
        if chosen is None:
            spans = ", ".join(f"{v.effective_from}–{v.effective_to or '…'}" for v in self.versions)
            raise SourceError(f"tariff {self.id} has no version in effect on {day} (versions: {spans})")
        return chosen


# --- reading ----------------------------------------------------------------------------------------


def _price(node: Node) -> Decimal:
    return node.decimal(minimum=Decimal(0))


def _read_rounding(node: Node | None) -> Rounding:
    if node is None:
        return Rounding()
    node.check_keys({"step", "mode", "per"})
    step = node.get("step")
    mode = node.get("mode")
    per = node.get("per")
    return Rounding(
        step=step.decimal(positive=True) if step else Decimal("0.01"),
        mode=mode.choice(set(ROUNDING_MODES)) if mode else "half_up",
        per=per.choice({"line", "bill"}) if per else "line",
    )


def _read_tiers(node: Node) -> Tiers:
    node.check_keys({"period", "prorate", "prorate_step", "bands", "seasons"})
    period = node.req("period").choice({"annual", "monthly"})
    prorate_node = node.get("prorate")
    prorate = prorate_node.choice({"months", "none"}) if prorate_node else "months"
    step_node = node.get("prorate_step")
    step = step_node.decimal(positive=True) if step_node else None
    seasons_node = node.get("seasons")
    if seasons_node is None:
        return Tiers(period=period, prorate=prorate, prorate_step=step, bands=_read_bands(node.req("bands")))
    if node.get("bands") is not None:
        raise seasons_node.error("give either 'bands' or 'seasons' (each with its own bands), not both")
    if period != "monthly":
        raise seasons_node.error("bands that change with the season are monthly: use period: monthly")
    seasons: list[TierSeason] = []
    seen: dict[int, str] = {}
    for i, season_node in enumerate(seasons_node.as_list()):
        season_node.check_keys({"name", "months", "bands"})
        name_node = season_node.get("name")
        name = name_node.text() if name_node else f"season {i + 1}"
        months: set[int] = set()
        for month_node in season_node.req("months").as_list():
            month = month_node.integer(minimum=1, maximum=12)
            if month in seen or month in months:
                raise month_node.error(f"month {month} is already in season {seen.get(month, name)!r}")
            months.add(month)
            seen[month] = name
        bands = _read_bands(season_node.req("bands"))
        if seasons and (bands[0].surcharge is None) != (seasons[0].bands[0].surcharge is None):
            raise season_node.error("every season's bands must use the same kind of value as the first season's")
        seasons.append(TierSeason(name, frozenset(months), bands))
    missing = sorted(set(range(1, 13)) - set(seen))
    if missing:
        raise seasons_node.error(f"months {missing} are in no season (the seasons must cover all 12 months)")
    return Tiers(period=period, prorate=prorate, prorate_step=step, bands=seasons[0].bands, seasons=tuple(seasons))


def _read_bands(bands_node: Node) -> tuple[Band, ...]:
    band_nodes = bands_node.as_list()
    if len(band_nodes) < 2:
        raise bands_node.error("a tiered tariff needs at least two bands")
    bands: list[Band] = []
    previous: Decimal | None = None
    kind: str | None = None
    for i, band_node in enumerate(band_nodes):
        band_node.check_keys({"upto", "price", "surcharge", "name"})
        upto_node = band_node.get("upto")
        last = i == len(band_nodes) - 1
        if last and upto_node is not None:
            raise upto_node.error("the last band has no upper limit: leave 'upto' out")
        if not last and upto_node is None:
            raise band_node.error("'upto' is required on every band but the last (the kWh where the band ends)")
        upto = upto_node.decimal(positive=True) if upto_node else None
        if upto_node is not None and upto is not None and previous is not None and upto <= previous:
            raise upto_node.error(f"must be greater than the previous band's upto ({previous})")
        price_node, surcharge_node = band_node.get("price"), band_node.get("surcharge")
        if (price_node is None) == (surcharge_node is None):
            raise band_node.error("give each band either 'price' (yuan/kWh) or 'surcharge' (yuan/kWh on top)")
        this_kind = "price" if price_node else "surcharge"
        if kind is not None and this_kind != kind:
            raise band_node.error(f"all bands must use the same kind of value; the first uses '{kind}'")
        kind = this_kind
        bands.append(
            Band(
                upto=upto,
                price=_price(price_node) if price_node else None,
                surcharge=surcharge_node.decimal() if surcharge_node else None,
                line=band_node.line,
            )
        )
        previous = upto
    return tuple(bands)


def _parse_range(node: Node) -> tuple[int, int]:
    match = _RANGE.match(node.text())
    if not match:
        raise node.error(f"expected a time range like '08:00-11:30', got {node.value!r}")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    for h, m in ((h1, m1), (h2, m2)):
        if h > 24 or m > 59 or (h == 24 and m != 0):
            raise node.error(f"{h:02d}:{m:02d} is not a time of day")
        if m % 15:
            raise node.error(f"times must fall on quarter hours (96 points a day); {h:02d}:{m:02d} does not")
    start, end = (h1 * 60 + m1) // 15, (h2 * 60 + m2) // 15
    if start == end or (start == SLOTS_PER_DAY and end == 0):
        raise node.error("the range is empty")
    return start % SLOTS_PER_DAY, end % SLOTS_PER_DAY


def _read_prices(node: Node, base: Decimal | None, price_step: Decimal | None, where: str) -> dict[str, Decimal]:
    """A season's prices from 'prices' (yuan/kWh) or 'ratios' (× base_price)."""
    node.check_keys(set(PERIODS))
    prices: dict[str, Decimal] = {}
    for period, value in node.as_map().items():
        if value.value is None:
            continue
        if where == "ratios":
            if base is None:
                raise value.error("'ratios' need 'base_price' (the flat price the ratios multiply)")
            price = base * value.decimal(positive=True)
            if price_step is not None:
                price = price.quantize(price_step, rounding=ROUND_HALF_UP)
            prices[period] = price
        else:
            prices[period] = _price(value)
    return prices


def _read_tou(node: Node) -> TimeOfUse:
    node.check_keys({"base_price", "price_step", "prices", "ratios", "seasons"})
    base_node = node.get("base_price")
    base = _price(base_node) if base_node else None
    step_node = node.get("price_step")
    step = step_node.decimal(positive=True) if step_node else None

    def prices_of(holder: Node, inherited: dict[str, Decimal] | None) -> dict[str, Decimal]:
        prices_node, ratios_node = holder.get("prices"), holder.get("ratios")
        if prices_node and ratios_node:
            raise holder.error("give either 'prices' or 'ratios', not both")
        if prices_node:
            return _read_prices(prices_node, base, step, "prices")
        if ratios_node:
            return _read_prices(ratios_node, base, step, "ratios")
        return dict(inherited or {})

    default_prices = prices_of(node, None)
    seasons_node = node.req("seasons")
    seasons: list[Season] = []
    seen_months: dict[int, str] = {}
    for i, season_node in enumerate(seasons_node.as_list()):
        season_node.check_keys({"name", "months", "prices", "ratios", "periods"})
        name_node = season_node.get("name")
        name = name_node.text() if name_node else f"season {i + 1}"
        months_node = season_node.req("months")
        months: set[int] = set()
        for month_node in months_node.as_list():
            month = month_node.integer(minimum=1, maximum=12)
            if month in seen_months or month in months:
                raise month_node.error(f"month {month} is already in season {seen_months.get(month, name)!r}")
            months.add(month)
            seen_months[month] = name
        prices = prices_of(season_node, default_prices)
        periods_node = season_node.req("periods")
        periods_node.check_keys(set(PERIODS))
        slots: list[str | None] = [None] * SLOTS_PER_DAY
        for period, ranges_node in periods_node.as_map().items():
            if ranges_node.value is None:
                continue
            if period not in prices:
                raise ranges_node.error(f"period '{period}' has hours but no price (add it to prices or ratios)")
            range_nodes = ranges_node.as_list() if ranges_node.is_list() else [ranges_node]
            for range_node in range_nodes:
                start, end = _parse_range(range_node)
                slot = start
                while True:
                    if slots[slot] is not None:
                        hh, mm = divmod(slot * 15, 60)
                        raise range_node.error(f"{hh:02d}:{mm:02d} is already in the '{slots[slot]}' period")
                    slots[slot] = period
                    slot = (slot + 1) % SLOTS_PER_DAY
                    if slot == end:
                        break
        if any(s is None for s in slots):
            if "flat" in periods_node.as_map() and periods_node.as_map()["flat"].value is not None:
                missing = next(i for i, s in enumerate(slots) if s is None)
                hh, mm = divmod(missing * 15, 60)
                raise periods_node.error(f"{hh:02d}:{mm:02d} is in no period (list every hour, or leave 'flat' out)")
            if "flat" not in prices:
                raise periods_node.error("hours not listed are flat, but there is no flat price")
            slots = [s or "flat" for s in slots]
        used = set(slots)
        seasons.append(
            Season(
                name=name,
                months=frozenset(months),
                prices={p: v for p, v in prices.items() if p in used},
                slots=tuple(s for s in slots if s is not None),
            )
        )
    missing_months = sorted(set(range(1, 13)) - set(seen_months))
    if missing_months:
        raise seasons_node.error(f"months {missing_months} are in no season (the seasons must cover all 12 months)")
    return TimeOfUse(seasons=tuple(seasons))


def _read_basic(node: Node) -> Basic:
    node.check_keys(
        {
            "method",
            "capacity_price",
            "demand_price",
            "demand_floor_ratio",
            "suspension_min_days",
            "days_per_month",
            "demand_excess_threshold",
            "demand_excess_multiplier",
            "demand_within",
        }
    )
    method = node.req("method").choice({"capacity", "demand", "either"})
    cap = node.get("capacity_price")
    dem = node.get("demand_price")
    if method in ("capacity", "either") and cap is None:
        raise node.error(f"method '{method}' needs 'capacity_price' (yuan per kVA per month)")
    if method in ("demand", "either") and dem is None:
        raise node.error(f"method '{method}' needs 'demand_price' (yuan per kW per month)")
    floor = node.get("demand_floor_ratio")
    floor_value = floor.decimal(minimum=Decimal(0)) if floor else Decimal("0.40")
    if floor is not None and floor_value > 1:
        raise floor.error("a share of contract capacity: between 0 and 1 (0.40 = 40 %)")
    min_days = node.get("suspension_min_days")
    per_month = node.get("days_per_month")
    threshold = node.get("demand_excess_threshold")
    threshold_value = threshold.decimal(positive=True) if threshold else Decimal("1.05")
    if threshold is not None and threshold_value < 1:
        raise threshold.error("a multiple of the declared demand, at least 1 (1.05 = 105 %)")
    multiplier = node.get("demand_excess_multiplier")
    multiplier_value = multiplier.decimal(positive=True) if multiplier else Decimal(2)
    within = node.get("demand_within")
    return Basic(
        method=method,
        capacity_price=_price(cap) if cap else None,
        demand_price=_price(dem) if dem else None,
        demand_floor_ratio=floor_value,
        suspension_min_days=min_days.integer(minimum=0) if min_days else 15,
        days_per_month=per_month.integer(minimum=1) if per_month else 30,
        demand_excess_threshold=threshold_value,
        demand_excess_multiplier=multiplier_value,
        demand_within=within.choice({"actual", "declared"}) if within else "declared",
    )


def _read_version_split(node: Node | None) -> VersionSplit:
    if node is None:
        return VersionSplit()
    node.check_keys({"method", "step"})
    method = node.get("method")
    step = node.get("step")
    return VersionSplit(
        method=method.choice({"days", "none"}) if method else "days",
        step=step.decimal(positive=True) if step else Decimal(1),
    )


def _read_power_factor(node: Node) -> PowerFactor:
    node.check_keys({"standard", "applies_to"})
    standard_node = node.req("standard")
    standard = standard_node.decimal()
    if standard not in (Decimal("0.90"), Decimal("0.85"), Decimal("0.80")):
        raise standard_node.error("the national standards are 0.90, 0.85 and 0.80")
    applies = {"energy", "basic"}
    applies_node = node.get("applies_to")
    if applies_node:
        applies = {item.choice({"energy", "basic", "adder"}) for item in applies_node.as_list()}
    return PowerFactor(standard=standard.quantize(Decimal("0.01")), applies_to=frozenset(applies))


def _read_version(node: Node) -> Version:
    node.check_keys({"effective_from", "effective_to", "energy", "tiers", "adders", "basic", "power_factor", "note"})
    effective_from = node.req("effective_from").date()
    to_node = node.get("effective_to")
    effective_to = to_node.date() if to_node else None
    if to_node is not None and effective_to is not None and effective_to < effective_from:
        raise to_node.error(f"ends before it starts ({effective_from})")
    energy = node.get("energy")
    price_node = tou_node = None
    if energy is not None:
        energy.check_keys({"price", "tou"})
        price_node, tou_node = energy.get("price"), energy.get("tou")
    tiers_node = node.get("tiers")
    tiers = _read_tiers(tiers_node) if tiers_node else None
    if energy is not None and price_node and tou_node:
        raise energy.error("give either 'price' (one price) or 'tou' (time-of-use), not both")
    if not price_node and not tou_node and not (tiers and not tiers.uses_surcharge):
        raise (energy or node).error("needs energy.price or energy.tou (or tiers with a 'price' on every band)")
    if tiers is not None and tiers_node is not None:
        if tiers.uses_surcharge and not (price_node or tou_node):
            raise tiers_node.error("surcharge bands add to an energy price: give energy.price or energy.tou")
        if not tiers.uses_surcharge and (price_node or tou_node):
            raise tiers_node.error(
                "with energy.price or energy.tou, bands give a 'surcharge' on top (the first usually 0), not a 'price'"
            )
    adders: list[Adder] = []
    adders_node = node.get("adders")
    for adder_node in adders_node.as_list() if adders_node else []:
        adder_node.check_keys({"name", "price", "pf_adjusted"})
        pf_node = adder_node.get("pf_adjusted")
        adders.append(
            Adder(
                name=adder_node.req("name").text(),
                price=adder_node.req("price").decimal(),
                pf_adjusted=pf_node.boolean() if pf_node else False,
            )
        )
    basic_node = node.get("basic")
    pf_node = node.get("power_factor")
    return Version(
        effective_from=effective_from,
        effective_to=effective_to,
        flat_price=_price(price_node) if price_node else None,
        tou=_read_tou(tou_node) if tou_node else None,
        tiers=tiers,
        adders=tuple(adders),
        basic=_read_basic(basic_node) if basic_node else None,
        power_factor=_read_power_factor(pf_node) if pf_node else None,
        line=node.line,
    )


def read_tariff(root: Node) -> Tariff:
    root.check_keys({"id", "name", "category", "rounding", "version_split", "versions", "notes", "source"})
    id_node = root.req("id")
    tariff_id = id_node.text().strip()
    if not _ID.match(tariff_id):
        raise id_node.error("letters, digits, '-', '_' and '.' only (e.g. beijing-resident-tiered)")
    versions_node = root.req("versions")
    version_nodes = versions_node.as_list()
    if not version_nodes:
        raise versions_node.error("at least one version is needed")
    versions = sorted((_read_version(v) for v in version_nodes), key=lambda v: v.effective_from)
    for earlier, later in itertools.pairwise(versions):
        if earlier.effective_from == later.effective_from:
            raise SourceError(
                f"two versions take effect on {later.effective_from}",
                line=later.line,
                path="versions",
                source=root.source,
            )
        if earlier.effective_to is not None and earlier.effective_to >= later.effective_from:
            raise SourceError(
                f"overlaps the version from {earlier.effective_from} (which runs to {earlier.effective_to})",
                line=later.line,
                path="versions",
                source=root.source,
            )
    category = root.get("category")
    notes = root.get("notes")
    return Tariff(
        id=tariff_id,
        name=root.req("name").text(),
        category=category.text() if category else "",
        rounding=_read_rounding(root.get("rounding")),
        versions=tuple(versions),
        version_split=_read_version_split(root.get("version_split")),
        source=root.source,
        notes=notes.text() if notes else "",
    )


def load_tariff(data: str | bytes | dict[str, Any], *, source: str = "") -> Tariff:
    """Parse and validate a tariff document (YAML text, bytes, or a JSON object)."""
    return read_tariff(parse_document(data, source=source))


def load_tariff_file(path: Path) -> Tariff:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"cannot read: {exc.strerror}", source=str(path)) from None
    return load_tariff(data, source=str(path))
