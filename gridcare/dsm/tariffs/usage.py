"""What a bill is computed from: a period's metered quantities, read strictly from YAML/JSON (docs/dsm.md)."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from gridcare.dsm.tariffs.schema import PERIODS
from gridcare.dsm.tariffs.source import Node, SourceError, parse_document

TRANSFORMER_STATUSES = {
    "running": "运行",
    "standby_hot": "热备用",
    "standby_cold_unsealed": "冷备用（未加封）",
    "standby_cold_sealed": "冷备用（已加封）",
}


@dataclass(frozen=True)
class Transformer:
    name: str
    kva: Decimal
    status: str
    suspended_days: int = 0
    days_in_service: int | None = None  # for the month it was connected or removed


@dataclass(frozen=True)
class MonthUsage:
    month: dt.date  # first day of the month
    kwh: Decimal | None
    kwh_by_period: dict[str, Decimal] | None


@dataclass(frozen=True)
class Usage:
    start: dt.date
    end: dt.date  # inclusive
    months: int  # the number of months thresholds are pro-rated by
    kwh: Decimal | None = None
    kwh_by_period: dict[str, Decimal] | None = None
    by_month: tuple[MonthUsage, ...] = ()
    kvarh: Decimal | None = None
    power_factor: Decimal | None = None
    basic_method: str | None = None
    contract_kva: Decimal | None = None
    max_demand_kw: Decimal | None = None
    declared_demand_kw: Decimal | None = None  # 合同（核定）最大需量: the excess-demand threshold's base
    tier_kwh_before: Decimal | None = None  # kWh already on the ladder this tier period (e.g. the year so far)
    transformers: tuple[Transformer, ...] = field(default_factory=tuple)

    @property
    def total_kwh(self) -> Decimal:
        if self.kwh is not None:
            return self.kwh
        if self.kwh_by_period is not None:
            return sum(self.kwh_by_period.values(), Decimal(0))
        return sum((m.kwh or sum((m.kwh_by_period or {}).values(), Decimal(0)) for m in self.by_month), Decimal(0))


def months_touched(start: dt.date, end: dt.date) -> int:
    """Calendar months the period touches: a partial month counts as one, as the pro-rating rules do."""
    return (end.year - start.year) * 12 + end.month - start.month + 1


def _add_months(day: dt.date, months: int) -> dt.date:
    """The same day of the month `months` later, or that month's last day when it is shorter."""
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def billing_months(start: dt.date, end: dt.date) -> int:
    """How many months a period's thresholds cover: a meter-reading cycle of whole months counts its months
    (15 June – 14 July is one month, not the two calendar months it touches); anything else counts the calendar
    months it touches, a partial month as one."""
    for months in range(1, months_touched(start, end) + 1):
        try:
            if _add_months(start, months) - dt.timedelta(days=1) == end:
                return months
        except ValueError:  # a cycle ending in December 9999 would close in year 10000: not whole months
            break
    return months_touched(start, end)


def _period_kwh(node: Node) -> dict[str, Decimal]:
    node.check_keys(set(PERIODS))
    result = {}
    for key, value in node.as_map().items():
        if value.value is not None:
            result[key] = value.decimal(minimum=Decimal(0))
    if not result:
        raise node.error("give the kWh of at least one period (critical, peak, flat, valley, deep_valley)")
    return result


def _month(node: Node) -> dt.date:
    raw = node.value
    if isinstance(raw, dt.date):
        return raw.replace(day=1)
    text = node.text().strip()
    try:
        return dt.date.fromisoformat(f"{text}-01" if len(text) == 7 else text).replace(day=1)
    except ValueError:
        raise node.error(f"expected a month like 2024-07, got {text!r}") from None


def read_usage(root: Node) -> Usage:
    root.check_keys(
        {
            "start",
            "end",
            "months",
            "kwh",
            "kwh_by_period",
            "by_month",
            "kvarh",
            "power_factor",
            "basic_method",
            "contract_kva",
            "max_demand_kw",
            "declared_demand_kw",
            "tier_kwh_before",
            "transformers",
            "account_no",
            "note",
        }
    )
    start = root.req("start").date()
    end_node = root.req("end")
    end = end_node.date()
    if end < start:
        raise end_node.error(f"the period ends before it starts ({start})")
    months_node = root.get("months")
    months = months_node.integer(minimum=1, maximum=1200) if months_node else billing_months(start, end)
    kwh_node, periods_node, by_month_node = root.get("kwh"), root.get("kwh_by_period"), root.get("by_month")
    given = [n for n in (kwh_node, periods_node, by_month_node) if n is not None]
    if not given:
        raise root.error("give the energy used: 'kwh', 'kwh_by_period' or 'by_month'")
    if len(given) > 1 and by_month_node is not None:
        raise by_month_node.error("with 'by_month', leave 'kwh' and 'kwh_by_period' out (they are its sums)")
    by_month: list[MonthUsage] = []
    for month_node in by_month_node.as_list() if by_month_node else []:
        month_node.check_keys({"month", "kwh", "kwh_by_period"})
        month_kwh, month_periods = month_node.get("kwh"), month_node.get("kwh_by_period")
        if (month_kwh is None) == (month_periods is None):
            raise month_node.error("give either 'kwh' or 'kwh_by_period' for each month")
        month = _month(month_node.req("month"))
        if not (start.replace(day=1) <= month <= end):
            raise month_node.error(f"month {month:%Y-%m} is outside the period {start} – {end}")
        by_month.append(
            MonthUsage(
                month=month,
                kwh=month_kwh.decimal(minimum=Decimal(0)) if month_kwh else None,
                kwh_by_period=_period_kwh(month_periods) if month_periods else None,
            )
        )
    kwh = kwh_node.decimal(minimum=Decimal(0)) if kwh_node else None
    kwh_by_period = _period_kwh(periods_node) if periods_node else None
    if kwh is not None and kwh_by_period is not None and kwh_node is not None:
        total = sum(kwh_by_period.values(), Decimal(0))
        if total != kwh:
            raise kwh_node.error(f"differs from the sum of kwh_by_period ({total})")
    pf_node = root.get("power_factor")
    power_factor = None
    if pf_node is not None:
        power_factor = pf_node.decimal(minimum=Decimal(0))
        if power_factor > 1:
            raise pf_node.error("a power factor lies between 0 and 1")
    kvarh_node = root.get("kvarh")
    transformers: list[Transformer] = []
    transformers_node = root.get("transformers")
    for i, t_node in enumerate(transformers_node.as_list() if transformers_node else []):
        t_node.check_keys({"name", "kva", "status", "suspended_days", "days_in_service"})
        status_node = t_node.get("status")
        suspended = t_node.get("suspended_days")
        in_service = t_node.get("days_in_service")
        name_node = t_node.get("name")
        transformers.append(
            Transformer(
                name=name_node.text() if name_node else f"{i + 1}号变压器",
                kva=t_node.req("kva").decimal(positive=True),
                status=status_node.choice(set(TRANSFORMER_STATUSES)) if status_node else "running",
                suspended_days=suspended.integer(minimum=0, maximum=31) if suspended else 0,
                days_in_service=in_service.integer(minimum=0, maximum=31) if in_service else None,
            )
        )
    method_node = root.get("basic_method")
    contract = root.get("contract_kva")
    demand = root.get("max_demand_kw")
    declared = root.get("declared_demand_kw")
    before = root.get("tier_kwh_before")
    return Usage(
        start=start,
        end=end,
        months=months,
        kwh=kwh,
        kwh_by_period=kwh_by_period,
        by_month=tuple(sorted(by_month, key=lambda m: m.month)),
        kvarh=kvarh_node.decimal(minimum=Decimal(0)) if kvarh_node else None,
        power_factor=power_factor,
        basic_method=method_node.choice({"capacity", "demand"}) if method_node else None,
        contract_kva=contract.decimal(positive=True) if contract else None,
        max_demand_kw=demand.decimal(minimum=Decimal(0)) if demand else None,
        declared_demand_kw=declared.decimal(positive=True) if declared else None,
        tier_kwh_before=before.decimal(minimum=Decimal(0)) if before else None,
        transformers=tuple(transformers),
    )


def load_usage(data: str | bytes | dict[str, Any], *, source: str = "") -> Usage:
    return read_usage(parse_document(data, source=source))


def load_usage_file(path: Path) -> Usage:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"cannot read: {exc.strerror}", source=str(path)) from None
    return load_usage(data, source=str(path))
