"""The tariff engine: a bill as line items with their arithmetic, from a tariff and a period's usage.

Pure functions over Decimal; nothing here touches the database or the clock. Order of a bill:
energy (flat, tiered or time-of-use), tier surcharges, per-kWh adders, the basic charge of a two-part
tariff, then the power-factor adjustment on the lines it applies to. With `rounding.per: line` (the
default, as printed bills do) each line is rounded to the fen and the total is the sum of the lines.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from gridcare.dsm.tariffs.powerfactor import adjustment_percent, monthly_factor
from gridcare.dsm.tariffs.schema import PERIODS, Basic, Rounding, Tariff, Tiers, TimeOfUse, Version
from gridcare.dsm.tariffs.source import SourceError
from gridcare.dsm.tariffs.usage import TRANSFORMER_STATUSES, Usage

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
        }


def _plain(value: Decimal) -> str:
    """Decimal as text without exponent (1E+3 → 1000), keeping the scale money was rounded to."""
    if value == value.to_integral_value() and value.as_tuple().exponent > 0:  # type: ignore[operator]
        return str(value.quantize(Decimal(1)))
    return format(value, "f")


class _Builder:
    def __init__(self, rounding: Rounding):
        self.rounding = rounding
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
        amount = self.rounding.apply(exact) if self.rounding.per == "line" else exact
        shown = f"{_plain(exact)} → {_plain(amount)}" if amount != exact else _plain(amount)
        line = Line(kind, code, label, quantity, unit, rate, amount, f"{formula} = {shown}")
        self.lines.append(line)
        return line


def _thresholds(tiers: Tiers, usage: Usage, notes: list[str]) -> list[Decimal | None]:
    """Band upper limits, pro-rated by months when the period is not the tier period."""
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


def _band_kwh(total: Decimal, thresholds: list[Decimal | None]) -> list[tuple[int, Decimal, Decimal, Decimal | None]]:
    """(band index, kWh in band, lower, upper) — the boundary kWh itself falls in the lower band."""
    out = []
    lower = Decimal(0)
    for i, upper in enumerate(thresholds):
        top = total if upper is None else min(total, upper)
        out.append((i, max(top - lower, Decimal(0)), lower, upper))
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
        months = []
        day = usage.start.replace(day=1)
        while day <= usage.end:
            months.append(day.month)
            day = (day + dt.timedelta(days=32)).replace(day=1)
        seasons = {tou.season_for(m).name: tou.season_for(m) for m in months}
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
    thresholds = _thresholds(tiers, usage, b.notes)
    for i, kwh, lower, upper in _band_kwh(total, thresholds):
        band = tiers.bands[i]
        label = _band_label(i)
        span = _band_range(lower, upper)
        if band.price is not None:
            if kwh == 0 and not (i == 0 and total == 0):
                continue
            b.add(
                "energy",
                f"tier{i + 1}",
                f"{label}电费（{span}）",
                kwh,
                "kWh",
                band.price,
                f"{_plain(kwh)} kWh × {_plain(band.price)} 元/kWh",
            )
        elif band.surcharge and kwh > 0:
            b.add(
                "surcharge",
                f"tier{i + 1}.surcharge",
                f"{label}加价（{span}）",
                kwh,
                "kWh",
                band.surcharge,
                f"{_plain(kwh)} kWh × {_plain(band.surcharge)} 元/kWh",
            )


def _basic(basic: Basic, usage: Usage, b: _Builder) -> None:
    method = basic.method
    if method == "either":
        if usage.basic_method is None:
            raise BillError("this tariff bills basic charge by capacity or by demand: say which in 'basic_method'")
        method = usage.basic_method
    if method == "demand":
        if basic.demand_price is None:
            raise BillError("the tariff gives no demand_price for a demand-based basic charge")
        if usage.max_demand_kw is None:
            raise BillError("a demand-based basic charge needs 'max_demand_kw' (the month's maximum demand)")
        billed = usage.max_demand_kw
        formula = f"{_plain(billed)} kW"
        if usage.contract_kva is not None:
            floor = usage.contract_kva * basic.demand_floor_ratio
            if floor > billed:
                formula = (
                    f"max(实际最大需量 {_plain(usage.max_demand_kw)} kW, {_plain(basic.demand_floor_ratio * 100)}% × "
                    f"合同容量 {_plain(usage.contract_kva)} kVA = {_plain(floor)}) = {_plain(floor)} kW"
                )
                billed = floor
                b.notes.append(
                    f"最大需量低于合同容量的 {_plain(basic.demand_floor_ratio * 100)}%，按 {_plain(floor)} kW 计收"
                )
        else:
            b.notes.append("未提供合同容量 contract_kva，未校核需量下限")
        price = basic.demand_price
        b.add(
            "basic",
            "basic.demand",
            "基本电费（按最大需量）",
            billed,
            "kW",
            price,
            f"{formula} × {_plain(price)} 元/kW·月",
        )
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


def compute_bill(tariff: Tariff, usage: Usage) -> Bill:
    """The bill for `usage` under the tariff version in effect on the first day of its period."""
    try:
        version = tariff.version_on(usage.start)
    except SourceError as exc:
        raise BillError(exc.reason) from None
    b = _Builder(tariff.rounding)
    if usage.end > usage.start and any(
        v.effective_from > usage.start and v.effective_from <= usage.end for v in tariff.versions
    ):
        b.notes.append("本期内电价有调整，按期初执行的版本计算（split the usage at the change to bill each part）")
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
    total = sum((line.amount for line in b.lines), Decimal(0))
    if tariff.rounding.per == "bill":
        total = tariff.rounding.apply(total)
    return Bill(
        tariff_id=tariff.id,
        tariff_name=tariff.name,
        version_from=version.effective_from,
        start=usage.start,
        end=usage.end,
        kwh=total_kwh,
        lines=tuple(b.lines),
        total=total,
        notes=tuple(b.notes),
    )
