"""A bill as line items with their arithmetic (as the API prints it), and the builder that rounds each line."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from gridcare.dsm.tariffs.schema import Rounding
from gridcare.dsm.tariffs.source import SourceError


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
