"""JSON API of the dsm app (mounted at /api/v1/dsm) and the tariff engine (mounted at /api/v1/tariffs)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from gridcare.core.errors import ServiceError
from gridcare.dsm import billing, selectors

router = Router(tags=["dsm"])

# Mounted at /api/v1/tariffs (the issue names that path): bills from the tariff engine.
tariffs_router = Router(tags=["tariffs"])


class BillIn(Schema):
    tariff_id: str | None = Field(None, description="a tariff id from GET /api/v1/tariffs")
    tariff: dict[str, Any] | str | None = Field(None, description="an inline tariff: the YAML text or its JSON object")
    usage: dict[str, Any] | str = Field(..., description="the period's usage (docs/dsm.md): JSON object or YAML text")


class LineOut(Schema):
    kind: str
    code: str
    label: str
    quantity: str
    unit: str
    rate: str
    amount: str
    formula: str


class BillOut(Schema):
    tariff_id: str
    tariff_name: str
    version_effective_from: str
    start: str
    end: str
    kwh: str
    lines: list[LineOut]
    total: str
    notes: list[str]


class TariffBrief(Schema):
    id: str
    name: str
    category: str
    versions: list[str]


@tariffs_router.get("", response=list[TariffBrief], summary="可用电价")
def tariff_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        {
            "id": t.id,
            "name": t.name,
            "category": t.category,
            "versions": [v.effective_from.isoformat() for v in t.versions],
        }
        for t in billing.tariffs_available().values()
    ]


@tariffs_router.post("/bill", response=BillOut, summary="按电价计算电费（逐项列出算式）")
def bill(request: HttpRequest, payload: BillIn) -> dict[str, Any]:
    if (payload.tariff_id is None) == (payload.tariff is None):
        raise ServiceError(
            "请给出 tariff_id 或 tariff 之一 / give either tariff_id or an inline tariff", field="tariff"
        )
    tariff = (
        billing.tariff_get(payload.tariff_id)
        if payload.tariff_id is not None
        else billing.tariff_from_document(payload.tariff or "")
    )
    usage = billing.usage_from_document(payload.usage)
    return billing.bill_compute(tariff=tariff, usage=usage).as_dict()


class DayStats(Schema):
    day: str
    points: int
    max_kw: float | None
    min_kw: float | None
    avg_kw: float | None
    kwh: float
    load_rate: float | None
    peak_valley_kw: float | None
    peak_valley_rate: float | None


class CustomerLoadOut(Schema):
    account_no: str
    days: list[DayStats]
    typical_day_kw: list[float | None] | None
    curves: dict[str, list[float | None]]


@router.get("/customers/{account_no}/load", response=CustomerLoadOut, summary="客户 96 点负荷与日统计")
def customer_load(request: HttpRequest, account_no: str, day: str | None = None, days: int = 7) -> dict[str, Any]:
    day_to = _parse_day(day)
    load = selectors.customer_load(
        user=request.auth,  # type: ignore[attr-defined]
        account_no=account_no,
        day_to=day_to,
        days=max(1, min(days, 62)),
    )
    return {
        "account_no": account_no,
        "days": [{**s, "day": s["day"].isoformat()} for s in load.stats],
        "typical_day_kw": load.typical,
        "curves": {d.isoformat(): c for d, c in zip(load.days, load.curves, strict=True)},
    }


class FeederLoadOut(Schema):
    feeder: str
    day: str | None
    capacity_kva: float
    total_kw: list[float] | None
    warnings: list[dict[str, Any]]


@router.get("/feeders/{code}/load", response=FeederLoadOut, summary="线路与台区负荷、过载告警")
def feeder_load(request: HttpRequest, code: str, day: str | None = None) -> dict[str, Any]:
    load = selectors.feeder_load(user=request.auth, code=code, day=_parse_day(day))  # type: ignore[attr-defined]
    return {
        "feeder": load.feeder.code,
        "day": load.day.isoformat() if load.day else None,
        "capacity_kva": load.capacity_kva,
        "total_kw": load.total,
        "warnings": [{**w, "day": w["day"].isoformat()} for w in load.warnings],
    }


def _parse_day(day: str | None) -> dt.date | None:
    if not day:
        return None
    try:
        return dt.date.fromisoformat(day)
    except ValueError:
        raise ServiceError(
            f"日期格式应为 2024-07-01 / day must look like 2024-07-01, got {day!r}", field="day"
        ) from None
