"""The tariff engine: a bill as line items with their arithmetic, from a tariff and a period's usage.

Pure functions over Decimal; nothing here touches the database or the clock. Order of a bill:
energy (flat, tiered or time-of-use), tier surcharges, per-kWh adders, the basic charge of a two-part
tariff, then the power-factor adjustment on the lines it applies to. With `rounding.per: line` (the
default, as printed bills do) each line is rounded to the fen and the total is the sum of the lines.

A period that spans a price change is split (tariff `version_split`, default `days`): each version's part
of the period gets the usage pro-rated by its days and is billed with that version, its lines marked with
the part. See docs/dsm.md for the rule.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from gridcare.dsm.tariffs.powerfactor import adjustment_percent, monthly_factor
from gridcare.dsm.tariffs.schema import PERIODS, Band, Basic, Rounding, Tariff, Tiers, TimeOfUse, Version
from gridcare.dsm.tariffs.source import SourceError
from gridcare.dsm.tariffs.usage import TRANSFORMER_STATUSES, MonthUsage, Usage

SPLIT_METHODS = ("days", "none")

BAND_NAMES = ["第一档", "第二档", "第三档", "第四档", "第五档", "第六档"]


class BillError(SourceError):
    """The usage does not fit the tariff (e.g. TOU prices but only a total kWh)."""


@dataclass(frozen=True)
class Line:
    kind: str  # energy | surcharge | adder | basic | power_factor
    code: str
    label: str
    quantity: Decimal
    unit: str
    rate: Decimal
    amount: Decimal
    formula: str
    part: int | None = None  # the bill part (1, 2 …) when the period was split at a price change

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "code": self.code,
            "label": self.label,
            "quantity": _plain(self.quantity),
            "unit": self.unit,
            "rate": _plain(self.rate),
            "amount": _plain(self.amount),
            "formula": self.formula,
            "part": self.part,
        }


@dataclass(frozen=True)
class BillPart:
    """One tariff version's share of the period: its dates, days and the kWh billed with it."""

    index: int
    start: dt.date
    end: dt.date
    days: int
    version_from: dt.date
    kwh: Decimal

    def as_dict(self) -> dict[str, Any]:
        return {
            "part": self.index,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "days": self.days,
            "version_effective_from": self.version_from.isoformat(),
            "kwh": _plain(self.kwh),
        }


@dataclass(frozen=True)
class Bill:
    tariff_id: str
    tariff_name: str
    version_from: dt.date
    start: dt.date
    end: dt.date
    kwh: Decimal
    lines: tuple[Line, ...]
    total: Decimal
    notes: tuple[str, ...] = field(default_factory=tuple)
    parts: tuple[BillPart, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        return {
            "tariff_id": self.tariff_id,
            "tariff_name": self.tariff_name,
            "version_effective_from": self.version_from.isoformat(),
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "kwh": _plain(self.kwh),
            "lines": [line.as_dict() for line in self.lines],
            "total": _plain(self.total),
            "notes": list(self.notes),
            "parts": [p.as_dict() for p in self.parts],
        }


def _plain(value: Decimal) -> str:
    """Decimal as text without exponent (1E+3 → 1000), keeping the scale money was rounded to."""
    if value == value.to_integral_value() and value.as_tuple().exponent > 0:  # type: ignore[operator]
        return str(value.quantize(Decimal(1)))
    return format(value, "f")


def _pct(ratio: Decimal) -> str:
    """0.40 → "40", 1.05 → "105": a ratio as a percentage without trailing zeros."""
    return _plain((ratio * 100).normalize())


def _show(value: Decimal) -> str:
    """An intermediate result as the bills print it: four decimals."""
    return _plain(value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class _Share:
    """A part's share of a split period: `days` of `total` days; thresholds and basic charges follow it."""

    days: int
    total: int
    step: Decimal

    def of(self, value: Decimal) -> Decimal:
        return value * self.days / self.total


class _Builder:
    def __init__(self, rounding: Rounding, share: _Share | None = None):
        self.rounding = rounding
        self.share = share
        self.lines: list[Line] = []
        self.notes: list[str] = []

    def add(
        self,
        kind: str,
        code: str,
        label: str,
        quantity: Decimal,
        unit: str,
        rate: Decimal,
        formula: str,
        *,
        exact: Decimal | None = None,
    ) -> Line:
        # `exact` lets a caller keep the order of published arithmetic (kVA × price × days / 30).
        exact = quantity * rate if exact is None else exact
        if kind == "basic" and self.share is not None:
            # a monthly charge, shared by days between the versions of a split period
            exact = self.share.of(exact)
            formula = f"{formula} × {self.share.days}/{self.share.total} 天"
        amount = self.rounding.apply(exact) if self.rounding.per == "line" else exact
        # an exact result with many decimals (a share by days) is shown to four, as bills print it
        exact_text = _show(exact) if exact.as_tuple().exponent < -4 else _plain(exact)  # type: ignore[operator]
        shown = f"{exact_text} → {_plain(amount)}" if amount != exact else _plain(amount)
        line = Line(kind, code, label, quantity, unit, rate, amount, f"{formula} = {shown}")
        self.lines.append(line)
        return line


def _thresholds(tiers: Tiers, usage: Usage, notes: list[str], share: _Share | None = None) -> list[Decimal | None]:
    """Band upper limits, pro-rated by months when the period is not the tier period, and by days when the
    period was split at a price change."""
    result = _month_thresholds(tiers, usage, notes)
    if share is None:
        return result
    shared: list[Decimal | None] = []
    shown = []
    for limit in result:
        if limit is None:
            shared.append(None)
            continue
        exact = share.of(limit)
        rounded = exact.quantize(share.step, rounding=ROUND_HALF_UP)
        shared.append(rounded)
        shown.append(f"{_plain(limit)} × {share.days}/{share.total} = {_show(exact)} → {_plain(rounded)}")
    notes.append(f"阶梯分档按天数折算（thresholds shared by days）：{'；'.join(shown)} kWh")
    return shared


def _month_thresholds(tiers: Tiers, usage: Usage, notes: list[str]) -> list[Decimal | None]:
    if tiers.prorate == "none" or usage.months == tiers.period_months:
        return [b.upto for b in tiers.bands]
    result: list[Decimal | None] = []
    for band in tiers.bands:
        if band.upto is None:
            result.append(None)
            continue
        limit = band.upto * usage.months / tiers.period_months
        if tiers.prorate_step is not None:
            limit = limit.quantize(tiers.prorate_step, rounding=ROUND_HALF_UP)
        result.append(limit)
    shown = " / ".join(_plain(t) for t in result if t is not None)
    notes.append(
        f"阶梯分档按 {usage.months} 个月折算（{tiers.period} tiers pro-rated by {usage.months}/"
        f"{tiers.period_months} months）：{shown} kWh"
    )
    return result


def _band_kwh(
    total: Decimal, thresholds: list[Decimal | None], before: Decimal = Decimal(0)
) -> list[tuple[int, Decimal, Decimal, Decimal | None]]:
    """(band index, kWh in band, lower, upper) — the boundary kWh itself falls in the lower band. `before`: kWh
    already counted on the ladder this tier period (the year so far), so this bill's kWh start there."""
    out = []
    lower = Decimal(0)
    end = before + total
    for i, upper in enumerate(thresholds):
        top = end if upper is None else min(end, upper)
        out.append((i, max(top - max(lower, before), Decimal(0)), lower, upper))
        if upper is not None:
            lower = upper
    return out


def _band_label(i: int) -> str:
    return BAND_NAMES[i] if i < len(BAND_NAMES) else f"第{i + 1}档"


def _band_range(lower: Decimal, upper: Decimal | None) -> str:
    return f"{_plain(lower)}–{_plain(upper)} kWh" if upper is not None else f"> {_plain(lower)} kWh"


def _tou_energy(tou: TimeOfUse, usage: Usage, b: _Builder) -> None:
    """One line per season and period: the period's kWh × its price in that season."""
    # (season name, period) → kWh, in month order
    buckets: dict[tuple[str, str], Decimal] = {}
    seasons_by_name = {s.name: s for s in tou.seasons}
    if usage.by_month:
        for month in usage.by_month:
            if month.kwh_by_period is None:
                raise BillError(f"{month.month:%Y-%m}: time-of-use prices need kwh_by_period for every month")
            season = tou.season_for(month.month.month)
            for period, kwh in month.kwh_by_period.items():
                if period not in season.prices:
                    raise BillError(f"{month.month:%Y-%m}: season '{season.name}' has no '{period}' period")
                buckets[(season.name, period)] = buckets.get((season.name, period), Decimal(0)) + kwh
    else:
        if usage.kwh_by_period is None:
            raise BillError("time-of-use prices need the kWh of each period: give 'kwh_by_period' or 'by_month'")
        seasons = {tou.season_for(m).name: tou.season_for(m) for m in _months_of(usage)}
        price_sets = {tuple(sorted(s.prices.items())) for s in seasons.values()}
        if len(price_sets) > 1:
            raise BillError(
                f"the period spans seasons with different prices ({', '.join(seasons)}): "
                "give the kWh of each month in 'by_month'"
            )
        season = next(iter(seasons.values()))
        for period, kwh in usage.kwh_by_period.items():
            if period not in season.prices:
                raise BillError(f"season '{season.name}' has no '{period}' period")
            buckets[(season.name, period)] = kwh
    multi = len({name for name, _ in buckets}) > 1
    order = {p: i for i, p in enumerate(PERIODS)}
    for (season_name, period), kwh in sorted(
        buckets.items(), key=lambda kv: ([s.name for s in tou.seasons].index(kv[0][0]), order[kv[0][1]])
    ):
        price = seasons_by_name[season_name].prices[period]
        label = f"{PERIODS[period]}电费" if not multi else f"{season_name}{PERIODS[period]}电费"
        b.add("energy", f"tou.{period}", label, kwh, "kWh", price, f"{_plain(kwh)} kWh × {_plain(price)} 元/kWh")


def _months_of(usage: Usage) -> list[int]:
    """The calendar months (1–12) the period touches, in order."""
    months = []
    day = usage.start.replace(day=1)
    while day <= usage.end:
        months.append(day.month)
        day = (day + dt.timedelta(days=32)).replace(day=1)
    return months


def _seasonal_tiers(tiers: Tiers, usage: Usage, b: _Builder) -> None:
    """Bands that change with the season: one season's bands for a period inside it; month by month (each
    month on its own season's ladder) for a period given `by_month`."""
    if not usage.by_month:
        seasons = {tiers.season_for(m).name: tiers.season_for(m) for m in _months_of(usage)}
        if len(seasons) > 1:
            raise BillError(
                f"the period spans tier seasons ({', '.join(seasons)}): give the kWh of each month in 'by_month'"
            )
        season = next(iter(seasons.values()))
        b.notes.append(f"阶梯按{season.name}分档（tier season {season.name}）")
        _tier_lines(tiers.in_season(season), usage, usage.total_kwh, b, prefix=season.name)
        return
    if usage.tier_kwh_before is not None:
        raise BillError("'tier_kwh_before' is for yearly ladders; seasonal bands are monthly")
    per_line: dict[tuple[str, int], Decimal] = {}
    shown: dict[tuple[str, int], tuple[Decimal, Decimal | None]] = {}
    for month in usage.by_month:
        season = tiers.season_for(month.month.month)
        kwh = month.kwh if month.kwh is not None else sum((month.kwh_by_period or {}).values(), Decimal(0))
        for i, in_band, lower, upper in _band_kwh(kwh, [band.upto for band in season.bands]):
            if in_band > 0:
                per_line[(season.name, i)] = per_line.get((season.name, i), Decimal(0)) + in_band
                shown[(season.name, i)] = (lower, upper)
    b.notes.append("阶梯按月、按各月所属季节分档（monthly bands of each month's season）")
    order = {s.name: n for n, s in enumerate(tiers.seasons)}
    for (name, i), kwh in sorted(per_line.items(), key=lambda kv: (order[kv[0][0]], kv[0][1])):
        band = next(s for s in tiers.seasons if s.name == name).bands[i]
        _band_line(b, i, band, kwh, *shown[(name, i)], prefix=name)


def _band_line(
    b: _Builder, i: int, band: Band, kwh: Decimal, lower: Decimal, upper: Decimal | None, prefix: str = ""
) -> None:
    label = prefix + _band_label(i)
    span = _band_range(lower, upper)
    code = f"{prefix}.tier{i + 1}" if prefix else f"tier{i + 1}"
    if band.price is not None:
        b.add(
            "energy",
            code,
            f"{label}电费（{span}）",
            kwh,
            "kWh",
            band.price,
            f"{_plain(kwh)} kWh × {_plain(band.price)} 元/kWh",
        )
    elif band.surcharge and kwh > 0:
        b.add(
            "surcharge",
            f"{code}.surcharge",
            f"{label}加价（{span}）",
            kwh,
            "kWh",
            band.surcharge,
            f"{_plain(kwh)} kWh × {_plain(band.surcharge)} 元/kWh",
        )


def _energy(version: Version, usage: Usage, b: _Builder) -> None:
    total = usage.total_kwh
    tiers = version.tiers
    if version.tou is not None:
        _tou_energy(version.tou, usage, b)
    elif version.flat_price is not None:
        price = version.flat_price
        b.add("energy", "energy", "电度电费", total, "kWh", price, f"{_plain(total)} kWh × {_plain(price)} 元/kWh")
    if tiers is None:
        return
    if tiers.seasons:
        _seasonal_tiers(tiers, usage, b)
        return
    _tier_lines(tiers, usage, total, b)


def _tier_lines(tiers: Tiers, usage: Usage, total: Decimal, b: _Builder, prefix: str = "") -> None:
    before = usage.tier_kwh_before
    if before is None:
        thresholds = _thresholds(tiers, usage, b.notes, b.share)
        bands = _band_kwh(total, thresholds)
    else:
        # A monthly bill on a yearly ladder (浙江、北京 …): the year's kWh so far decide where this month's
        # kWh fall; the published thresholds apply as they are, not pro-rated.
        if b.share is not None:
            raise BillError("'tier_kwh_before' cannot be used on a period split by a price change: bill each part")
        span = f"{_plain(before)}–{_plain(before + total)} kWh"
        b.notes.append(
            f"阶梯按{'年' if tiers.period == 'annual' else '月'}累计（{tiers.period} ladder, kWh before this bill）："
            f"本期前已用 {_plain(before)} kWh，本期 {_plain(total)} kWh 计入 {span}"
        )
        bands = _band_kwh(total, [band.upto for band in tiers.bands], before)
    for i, kwh, lower, upper in bands:
        band = tiers.bands[i]
        if band.price is not None and kwh == 0 and not (i == 0 and total == 0):
            continue
        _band_line(b, i, band, kwh, lower, upper, prefix)


def _basic(basic: Basic, usage: Usage, b: _Builder) -> None:
    method = basic.method
    if method == "either":
        if usage.basic_method is None:
            raise BillError("this tariff bills basic charge by capacity or by demand: say which in 'basic_method'")
        method = usage.basic_method
    if method == "demand":
        _demand(basic, usage, b)
        return
    if basic.capacity_price is None:
        raise BillError("the tariff gives no capacity_price for a capacity-based basic charge")
    if not usage.transformers:
        raise BillError("a capacity-based basic charge needs 'transformers' (each with its kva and status)")
    price = basic.capacity_price
    per_day = basic.days_per_month
    for i, t in enumerate(usage.transformers):
        code = f"basic.capacity.{i + 1}"
        status = TRANSFORMER_STATUSES[t.status]
        if t.status == "standby_cold_sealed":
            b.add(
                "basic",
                code,
                f"基本电费 {t.name}（{status}，不计收）",
                t.kva,
                "kVA",
                Decimal(0),
                f"{_plain(t.kva)} kVA 已加封冷备用 × 0",
            )
            continue
        if t.days_in_service is not None and t.days_in_service < per_day:
            days = Decimal(t.days_in_service)
            b.add(
                "basic",
                code,
                f"基本电费 {t.name}（{status}，实用 {t.days_in_service} 天）",
                t.kva,
                "kVA",
                price * days / per_day,
                f"{_plain(t.kva)} kVA × {_plain(price)} 元/kVA·月 × {t.days_in_service}/{per_day}",
                exact=t.kva * price * days / per_day,
            )
        else:
            b.add(
                "basic",
                code,
                f"基本电费 {t.name}（{status}）",
                t.kva,
                "kVA",
                price,
                f"{_plain(t.kva)} kVA × {_plain(price)} 元/kVA·月",
            )
        if t.suspended_days:
            if t.suspended_days < basic.suspension_min_days:
                b.notes.append(
                    f"{t.name} 暂停 {t.suspended_days} 天，少于 {basic.suspension_min_days} 天，基本电费照收"
                    f"（suspension shorter than {basic.suspension_min_days} days is not deducted）"
                )
            else:
                b.add(
                    "basic",
                    f"{code}.suspension",
                    f"暂停减收 {t.name}（{t.suspended_days} 天）",
                    t.kva,
                    "kVA",
                    -(price * t.suspended_days / per_day),
                    f"-{_plain(t.kva)} kVA × {_plain(price)} 元/kVA·月 × {t.suspended_days}/{per_day}",
                    exact=-(t.kva * price * t.suspended_days / per_day),
                )


def _demand(basic: Basic, usage: Usage, b: _Builder) -> None:
    """Basic charge by maximum demand (按最大需量).

    The floor comes first: billed demand is at least `demand_floor_ratio` × contract capacity. Above it,
    with a declared (contracted) demand, the part of the actual maximum demand above
    `demand_excess_threshold` × declared is charged at `demand_excess_multiplier` × the demand price; up to
    the threshold the declared demand is billed (按合同确定值收取), or the actual one with `demand_within: actual`.
    """
    if basic.demand_price is None:
        raise BillError("the tariff gives no demand_price for a demand-based basic charge")
    if usage.max_demand_kw is None:
        raise BillError("a demand-based basic charge needs 'max_demand_kw' (the month's maximum demand)")
    actual = usage.max_demand_kw
    price = basic.demand_price
    label = "基本电费（按最大需量）"
    floor = usage.contract_kva * basic.demand_floor_ratio if usage.contract_kva is not None else None
    if floor is None:
        b.notes.append("未提供合同容量 contract_kva，未校核需量下限")
    if floor is not None and floor > actual:
        formula = (
            f"max(实际最大需量 {_plain(actual)} kW, {_pct(basic.demand_floor_ratio)}% × "
            f"合同容量 {_plain(usage.contract_kva or Decimal(0))} kVA = {_plain(floor)}) = {_plain(floor)} kW"
        )
        b.notes.append(f"最大需量低于合同容量的 {_pct(basic.demand_floor_ratio)}%，按 {_plain(floor)} kW 计收")
        b.add("basic", "basic.demand", label, floor, "kW", price, f"{formula} × {_plain(price)} 元/kW·月")
        return
    declared = usage.declared_demand_kw
    if declared is None:
        b.add("basic", "basic.demand", label, actual, "kW", price, f"{_plain(actual)} kW × {_plain(price)} 元/kW·月")
        return
    if floor is not None and declared < floor:
        # A declared demand may not be below the floor either: the excess is measured from the floor, else
        # declaring less would cost more (600 kW declared on 2,000 kVA, 820 kW used: 40,400 instead of 32,000).
        ratio = _pct(basic.demand_floor_ratio)
        b.notes.append(f"核定需量 {_plain(declared)} kW 低于合同容量的 {ratio}%，按 {_plain(floor)} kW 核定")
        declared = floor
    limit = declared * basic.demand_excess_threshold
    pct = _pct(basic.demand_excess_threshold)
    if actual <= limit:
        if basic.demand_within == "declared":
            billed = max(declared, floor) if floor is not None else declared
            b.add(
                "basic",
                "basic.demand",
                f"{label}（未超核定需量 {pct}%，按核定需量）",
                billed,
                "kW",
                price,
                f"核定需量 {_plain(billed)} kW（实际 {_plain(actual)} kW ≤ {pct}% × {_plain(declared)} = "
                f"{_plain(limit)} kW）× {_plain(price)} 元/kW·月",
            )
        else:
            b.add(
                "basic",
                "basic.demand",
                label,
                actual,
                "kW",
                price,
                f"实际最大需量 {_plain(actual)} kW（≤ {pct}% × 核定需量 {_plain(declared)} = {_plain(limit)} kW）"
                f" × {_plain(price)} 元/kW·月",
            )
        return
    excess = actual - limit
    multiplier = basic.demand_excess_multiplier
    b.add(
        "basic",
        "basic.demand",
        f"{label}（核定需量 {pct}% 以内）",
        limit,
        "kW",
        price,
        f"{pct}% × 核定需量 {_plain(declared)} kW = {_plain(limit)} kW × {_plain(price)} 元/kW·月",
    )
    b.add(
        "basic",
        "basic.demand.excess",
        f"超核定需量 {pct}% 部分（按 {_plain(multiplier)} 倍需量电价）",
        excess,
        "kW",
        price * multiplier,
        f"(实际 {_plain(actual)} − {_plain(limit)}) kW = {_plain(excess)} kW × {_plain(price)} 元/kW·月 × "
        f"{_plain(multiplier)}",
    )
    b.notes.append(
        f"实际最大需量 {_plain(actual)} kW 超过核定需量 {_plain(declared)} kW 的 {pct}%（{_plain(limit)} kW），"
        f"超出的 {_plain(excess)} kW 按 {_plain(multiplier)} 倍需量电价计收"
    )


def _power_factor(version: Version, usage: Usage, b: _Builder, adjusted_adders: set[str]) -> None:
    pf = version.power_factor
    if pf is None:
        return
    if usage.power_factor is not None:
        factor = usage.power_factor.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        source = f"功率因数 {_plain(factor)}"
    elif usage.kvarh is not None:
        total = usage.total_kwh
        if total <= 0:
            b.notes.append("有功电量为 0，不做功率因数调整")
            return
        factor = monthly_factor(total, usage.kvarh)
        source = f"功率因数 {_plain(total)}/√({_plain(total)}²+{_plain(usage.kvarh)}²) = {_plain(factor)}"
    else:
        raise BillError("this tariff adjusts for power factor: give 'power_factor' or 'kvarh' (reactive energy)")
    percent = adjustment_percent(factor, pf.standard)
    base = Decimal(0)
    for line in b.lines:
        kind = "energy" if line.kind == "surcharge" else line.kind
        if kind in pf.applies_to or (line.kind == "adder" and line.code in adjusted_adders):
            base += line.amount
    rate = percent / 100
    direction = "增收" if percent > 0 else ("减收" if percent < 0 else "不调整")
    b.add(
        "power_factor",
        "power_factor",
        f"功率因数调整电费（标准 {_plain(pf.standard)}，{direction} {_plain(abs(percent))}%）",
        base,
        "元",
        rate,
        f"{source}；{_plain(base)} 元 × {_plain(percent)}%",
    )


def _bill_version(version: Version, usage: Usage, b: _Builder) -> None:
    """The lines of one version over `usage`: energy, tier surcharges, adders, basic, power factor."""
    _energy(version, usage, b)
    total_kwh = usage.total_kwh
    adjusted_adders: set[str] = set()
    for i, adder in enumerate(version.adders):
        line = b.add(
            "adder",
            f"adder.{i + 1}",
            adder.name,
            total_kwh,
            "kWh",
            adder.price,
            f"{_plain(total_kwh)} kWh × {_plain(adder.price)} 元/kWh",
        )
        if adder.pf_adjusted:
            adjusted_adders.add(line.code)
    if version.basic is not None:
        _basic(version.basic, usage, b)
    if version.power_factor is not None:
        _power_factor(version, usage, b, adjusted_adders)


def version_parts(tariff: Tariff, start: dt.date, end: dt.date) -> list[tuple[dt.date, dt.date, Version]]:
    """The period cut where the version in effect changes: (first day, last day, version) in order."""
    cuts = {v.effective_from for v in tariff.versions if start < v.effective_from <= end}
    cuts |= {
        v.effective_to + dt.timedelta(days=1)
        for v in tariff.versions
        if v.effective_to is not None and start <= v.effective_to < end
    }
    bounds = [start, *sorted(cuts), end + dt.timedelta(days=1)]
    parts = []
    for first, after in itertools.pairwise(bounds):
        try:
            version = tariff.version_on(first)
        except SourceError as exc:
            raise BillError(exc.reason) from None
        parts.append((first, after - dt.timedelta(days=1), version))
    return parts


def _split(value: Decimal, days: list[int], step: Decimal) -> list[Decimal]:
    """`value` shared by days, each part rounded to `step`. The running total is rounded (not each share),
    so the parts always add up to `value` and none is negative; with two parts the second is the rest."""
    total = sum(days)
    out: list[Decimal] = []
    done = Decimal(0)
    running = 0
    for i, d in enumerate(days):
        running += d
        upto = value if i == len(days) - 1 else (value * running / total).quantize(step, rounding=ROUND_HALF_UP)
        out.append(upto - done)
        done = upto
    return out


def _split_note(what: str, value: Decimal, days: list[int], parts: list[Decimal], step: Decimal) -> str:
    total = sum(days)
    shown = []
    for i, (d, part) in enumerate(zip(days, parts, strict=True)):
        if i == len(days) - 1 and len(days) > 1:
            shown.append(f"{_plain(value)} − {' − '.join(_plain(p) for p in parts[:-1])} = {_plain(part)}")
        else:
            shown.append(f"{_plain(value)} × {d}/{total} = {_show(value * d / total)} → {_plain(part)}")
    return f"{what}按天数分摊（取整到 {_plain(step)} kWh，末段取余数）：{'；'.join(shown)}"


def _month_span(month: MonthUsage, start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    last = (month.month + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    return max(month.month, start), min(last, end)


def _split_usage(usage: Usage, spans: list[tuple[dt.date, dt.date]], step: Decimal, notes: list[str]) -> list[Usage]:
    """The usage of each part: energy shared by days (months wholly inside one part stay whole)."""
    days = [(e - s).days + 1 for s, e in spans]
    factor = usage.power_factor
    if factor is None and usage.kvarh is not None and usage.total_kwh > 0:
        # One factor for the whole month, so that rounding the shared kWh cannot move it.
        factor = monthly_factor(usage.total_kwh, usage.kvarh)
        notes.append(
            f"功率因数按全期计算：{_plain(usage.total_kwh)}/√({_plain(usage.total_kwh)}²+{_plain(usage.kvarh)}²)"
            f" = {_plain(factor)}"
        )
    common = {"power_factor": factor, "kvarh": None if factor is not None else usage.kvarh}
    if usage.by_month:
        months: list[list[MonthUsage]] = [[] for _ in spans]
        for m in usage.by_month:
            m_start, m_end = _month_span(m, usage.start, usage.end)
            overlap = [max(0, (min(e, m_end) - max(s, m_start)).days + 1) for s, e in spans]
            inside = [i for i, d in enumerate(overlap) if d > 0]
            if len(inside) == 1:
                months[inside[0]].append(m)
                continue
            weights = [overlap[i] for i in inside]
            label = f"{m.month:%Y-%m} "
            if m.kwh is not None:
                shares = _split(m.kwh, weights, step)
                notes.append(_split_note(f"{label}电量", m.kwh, weights, shares, step))
                for i, share in zip(inside, shares, strict=True):
                    months[i].append(MonthUsage(m.month, share, None))
            else:
                by_period: list[dict[str, Decimal]] = [{} for _ in inside]
                for period, kwh in (m.kwh_by_period or {}).items():
                    shares = _split(kwh, weights, step)
                    notes.append(_split_note(f"{label}{PERIODS[period]}电量", kwh, weights, shares, step))
                    for j, share in enumerate(shares):
                        by_period[j][period] = share
                for i, periods in zip(inside, by_period, strict=True):
                    months[i].append(MonthUsage(m.month, None, periods))
        return [
            dataclasses.replace(usage, start=s, end=e, by_month=tuple(ms), **common)  # type: ignore[arg-type]
            for (s, e), ms in zip(spans, months, strict=True)
        ]
    if usage.kwh_by_period is not None:
        per_part: list[dict[str, Decimal]] = [{} for _ in spans]
        for period, kwh in usage.kwh_by_period.items():
            shares = _split(kwh, days, step)
            notes.append(_split_note(f"{PERIODS[period]}电量", kwh, days, shares, step))
            for j, share in enumerate(shares):
                per_part[j][period] = share
        return [
            dataclasses.replace(usage, start=s, end=e, kwh=None, kwh_by_period=p, **common)  # type: ignore[arg-type]
            for (s, e), p in zip(spans, per_part, strict=True)
        ]
    total = usage.total_kwh
    shares = _split(total, days, step)
    notes.append(_split_note("电量", total, days, shares, step))
    return [
        dataclasses.replace(usage, start=s, end=e, kwh=k, **common)  # type: ignore[arg-type]
        for (s, e), k in zip(spans, shares, strict=True)
    ]


def compute_bill(tariff: Tariff, usage: Usage, *, version_split: str | None = None) -> Bill:
    """The bill for `usage`. A period that spans a price change is split by days and each part billed with
    its own version (`version_split` "days", the default of tariffs), or billed whole with the version in
    effect on its first day ("none"); the argument overrides the tariff's `version_split.method`."""
    method = version_split or tariff.version_split.method
    if method not in SPLIT_METHODS:
        raise BillError(f"version_split must be one of {', '.join(SPLIT_METHODS)}, got {method!r}")
    if method == "none":
        try:
            first = tariff.version_on(usage.start)
        except SourceError as exc:
            raise BillError(exc.reason) from None
        parts = [(usage.start, usage.end, first)]
    else:
        parts = version_parts(tariff, usage.start, usage.end)
    b = _Builder(tariff.rounding)
    if len(parts) == 1:
        version = parts[0][2]
        if method == "none" and any(usage.start < v.effective_from <= usage.end for v in tariff.versions):
            b.notes.append("本期内电价有调整，按期初执行的版本计算（version_split: none）")
        _bill_version(version, usage, b)
        bill_parts = [
            BillPart(
                1, usage.start, usage.end, (usage.end - usage.start).days + 1, version.effective_from, usage.total_kwh
            )
        ]
    else:
        step = tariff.version_split.step
        spans = [(s, e) for s, e, _ in parts]
        days = [(e - s).days + 1 for s, e in spans]
        b.notes.append(
            f"本期 {usage.start} 至 {usage.end} 共 {sum(days)} 天，期间电价调整，按天数分 {len(parts)} 段计费："
            + "；".join(
                f"第{i + 1}段 {s} 至 {e}（{d} 天，执行 {v.effective_from} 起的电价）"
                for i, ((s, e, v), d) in enumerate(zip(parts, days, strict=True))
            )
        )
        part_usages = _split_usage(usage, spans, step, b.notes)
        bill_parts = []
        for i, ((start, end, version), d, part_usage) in enumerate(zip(parts, days, part_usages, strict=True)):
            sub = _Builder(tariff.rounding, _Share(d, sum(days), step))
            _bill_version(version, part_usage, sub)
            prefix = f"{start:%Y-%m-%d}至{end:%Y-%m-%d} "
            b.lines += [
                dataclasses.replace(line, code=f"part{i + 1}.{line.code}", label=prefix + line.label, part=i + 1)
                for line in sub.lines
            ]
            b.notes += [f"第{i + 1}段：{note}" for note in sub.notes]
            bill_parts.append(BillPart(i + 1, start, end, d, version.effective_from, part_usage.total_kwh))
    total = sum((line.amount for line in b.lines), Decimal(0))
    if tariff.rounding.per == "bill":
        total = tariff.rounding.apply(total)
    return Bill(
        tariff_id=tariff.id,
        tariff_name=tariff.name,
        version_from=parts[0][2].effective_from,
        start=usage.start,
        end=usage.end,
        kwh=usage.total_kwh,
        lines=tuple(b.lines),
        total=total,
        notes=tuple(b.notes),
        parts=tuple(bill_parts),
    )
