"""Energy lines: flat, time-of-use and tiered (pro-rated, seasonal, on a yearly ladder), and tier surcharges."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from gridcare.dsm.tariffs.engine.bill import BillError, _Builder, _plain, _Share, _show
from gridcare.dsm.tariffs.schema import PERIODS, Band, Tiers, TimeOfUse, Version
from gridcare.dsm.tariffs.usage import Usage

BAND_NAMES = ["第一档", "第二档", "第三档", "第四档", "第五档", "第六档"]


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


def calendar_months(start: dt.date, end: dt.date) -> list[int]:
    """The calendar months (1–12) a period touches, in order: what season checks look at."""
    months = []
    day = start.replace(day=1)
    while day <= end:
        months.append(day.month)
        day = (day + dt.timedelta(days=32)).replace(day=1)
    return months


def _months_of(usage: Usage) -> list[int]:
    return calendar_months(usage.start, usage.end)


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
