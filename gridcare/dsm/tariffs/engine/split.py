"""A period spanning a price change: cut where the version changes, and the usage shared by days."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from decimal import ROUND_HALF_UP, Decimal

from gridcare.dsm.tariffs.engine.bill import BillError, _plain, _show
from gridcare.dsm.tariffs.powerfactor import monthly_factor
from gridcare.dsm.tariffs.schema import PERIODS, Tariff, Version
from gridcare.dsm.tariffs.source import SourceError
from gridcare.dsm.tariffs.usage import MonthUsage, Usage

SPLIT_METHODS = ("days", "none")


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
