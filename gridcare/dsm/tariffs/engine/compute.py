"""One bill: each version's lines over its part of the period, then the total."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from gridcare.dsm.tariffs.engine.basic import _basic
from gridcare.dsm.tariffs.engine.bill import Bill, BillError, BillPart, _Builder, _plain, _Share
from gridcare.dsm.tariffs.engine.energy import _energy
from gridcare.dsm.tariffs.engine.power_factor import _power_factor
from gridcare.dsm.tariffs.engine.split import SPLIT_METHODS, _split_usage, version_parts
from gridcare.dsm.tariffs.schema import Tariff, Version
from gridcare.dsm.tariffs.source import SourceError
from gridcare.dsm.tariffs.usage import Usage


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
