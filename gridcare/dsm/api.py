"""JSON API of the dsm app (mounted at /api/v1/dsm: load, orderly-use plans, demand-response events) and the
tariff engine (mounted at /api/v1/tariffs)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema
from ninja.responses import Status
from pydantic import Field

from gridcare.core.apitypes import Day, Instant, Limit, ObjectId, Offset
from gridcare.core.calendar import load_calendar
from gridcare.core.errors import ServiceError
from gridcare.dsm import billing, selectors, services
from gridcare.dsm.models import DemandResponseEvent, OrderlyUsePlan
from gridcare.dsm.permissions import OPT_RECORDERS, PLANNERS, require
from gridcare.grid.models import Feeder
from gridcare.grid.selectors import feeders_visible

router = Router(tags=["dsm"])

# Mounted at /api/v1/tariffs (the issue names that path): bills from the tariff engine.
tariffs_router = Router(tags=["tariffs"])


class BillIn(Schema):
    tariff_id: str | None = Field(None, description="a tariff id from GET /api/v1/tariffs")
    tariff: dict[str, Any] | str | None = Field(None, description="an inline tariff: the YAML text or its JSON object")
    usage: dict[str, Any] | str = Field(..., description="the period's usage (docs/dsm.md): JSON object or YAML text")
    version_split: str | None = Field(
        None, description="a period spanning a price change: days (split by days, default) | none (first day's version)"
    )


class LineOut(Schema):
    kind: str
    code: str
    label: str
    quantity: str
    unit: str
    rate: str
    amount: str
    formula: str
    part: int | None = None


class BillPartOut(Schema):
    part: int
    start: str
    end: str
    days: int
    version_effective_from: str
    kwh: str


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
    parts: list[BillPartOut]


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
    return billing.bill_compute(tariff=tariff, usage=usage, version_split=payload.version_split).as_dict()


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
def customer_load(request: HttpRequest, account_no: str, day: Day | None = None, days: int = 7) -> dict[str, Any]:
    load = selectors.customer_load(
        user=request.auth,  # type: ignore[attr-defined]
        account_no=account_no,
        day_to=day,
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
def feeder_load(request: HttpRequest, code: str, day: Day | None = None) -> dict[str, Any]:
    load = selectors.feeder_load(user=request.auth, code=code, day=day)  # type: ignore[attr-defined]
    return {
        "feeder": load.feeder.code,
        "day": load.day.isoformat() if load.day else None,
        "capacity_kva": load.capacity_kva,
        "total_kw": load.total,
        "warnings": [{**w, "day": w["day"].isoformat()} for w in load.warnings],
    }


# --- orderly-use plans (有序用电) and demand-response events -----------------------------------------


class PlanIn(Schema):
    name: str = Field(..., description="方案名称")
    target_mw: Decimal = Field(..., description="削减目标（MW），如 1.5")
    window_start: Instant = Field(..., description="开始时间，ISO 8601；不带时区按 Asia/Shanghai")
    window_end: Instant = Field(..., description="结束时间")
    feeders: list[str] = Field(..., description="线路编码，见 GET /api/v1/grid/feeders")


class AllocationOut(Schema):
    account_no: str
    name: str
    category: str
    reduction_kw: str
    cost: str


class PlanOut(Schema):
    id: int
    name: str
    status: str
    status_label: str
    target_kw: str
    target_mw: str
    planned_kw: str
    shortfall_kw: str
    feasible: bool
    cost: str
    window_start: dt.datetime
    window_end: dt.datetime
    feeders: list[str]
    created_at: dt.datetime
    created_by: str
    allocations: list[AllocationOut]
    events: list[str]


class PlanPage(Schema):
    count: int
    results: list[PlanOut]


class ParticipantOut(Schema):
    account_no: str
    name: str
    opt: str
    planned_kw: str
    baseline_kw: str | None
    actual_kw: str | None
    delivered_kw: str | None
    delivered_ratio: str | None


class EventOut(Schema):
    event_id: str
    plan: int | None
    status: str
    status_label: str
    signal_name: str
    signal_type: str
    start: dt.datetime
    end: dt.datetime
    intervals: list[dict[str, Any]]
    targets: dict[str, Any]
    modification_number: int
    created_at: dt.datetime
    allowed_status: list[str]
    notices: list[int]
    participants: list[ParticipantOut]


class StatusIn(Schema):
    status: str = Field(..., description="far | near | active | completed | cancelled")
    reason: str = Field("", description="取消时必填")


class OptIn(Schema):
    opt: str = Field(..., description="opt_in | opt_out")


class ReportOut(Schema):
    event_id: str
    status: str
    baseline_rule: str
    planned_kw: str
    planned_opted_in_kw: str
    delivered_kw: str
    delivered_ratio: str | None
    measured: int
    participants: list[ParticipantOut]


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _plan_out(plan: OrderlyUsePlan) -> dict[str, Any]:
    return {
        "id": plan.pk,
        "name": plan.name,
        "status": plan.status,
        "status_label": plan.get_status_display(),
        "target_kw": str(plan.target_kw),
        "target_mw": format((plan.target_kw / 1000).normalize(), "f"),
        "planned_kw": str(plan.planned_kw),
        "shortfall_kw": str(plan.shortfall_kw),
        "feasible": plan.shortfall_kw == 0,
        "cost": str(plan.cost),
        "window_start": plan.window_start,
        "window_end": plan.window_end,
        "feeders": sorted(plan.feeders.values_list("code", flat=True)),
        "created_at": plan.created_at,
        "created_by": plan.created_by,
        "allocations": [
            {
                "account_no": a.customer.account_no,
                "name": a.customer.name,
                "category": a.customer.category,
                "reduction_kw": str(a.reduction_kw),
                "cost": str(a.cost),
            }
            for a in selectors.plan_allocations(plan)
        ],
        "events": list(DemandResponseEvent.objects.filter(plan=plan).values_list("event_id", flat=True)),
    }


def _rows(report: selectors.ResponseReport) -> list[dict[str, Any]]:
    return [
        {
            "account_no": r.account_no,
            "name": r.name,
            "opt": r.opt,
            "planned_kw": str(r.planned_kw),
            "baseline_kw": _s(r.baseline_kw),
            "actual_kw": _s(r.actual_kw),
            "delivered_kw": _s(r.delivered_kw),
            "delivered_ratio": _s(r.ratio),
        }
        for r in report.rows
    ]


def _event_out(event: DemandResponseEvent) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "plan": event.plan_id,
        "status": event.status,
        "status_label": event.get_status_display(),
        "signal_name": event.signal_name,
        "signal_type": event.signal_type,
        "start": event.start,
        "end": event.end,
        "intervals": event.intervals,
        "targets": event.targets,
        "modification_number": event.modification_number,
        "created_at": event.created_at,
        "allowed_status": sorted(services.DR_TRANSITIONS[event.status]),
        "notices": sorted(event.notices.values_list("pk", flat=True)),
        "participants": _rows(selectors.event_report(event)),
    }


def _report_out(report: selectors.ResponseReport) -> dict[str, Any]:
    return {
        "event_id": report.event.event_id,
        "status": report.event.status,
        "baseline_rule": BASELINE_RULE,
        "planned_kw": str(report.planned_kw),
        "planned_opted_in_kw": str(report.planned_opted_in_kw),
        "delivered_kw": str(report.delivered_kw),
        "delivered_ratio": _s(report.ratio),
        "measured": report.measured,
        "participants": _rows(report),
    }


MAX_TARGET_MW = Decimal(100_000)  # far above any province's peak: anything larger is a typing mistake
BASELINE_RULE = "基线：事件时段在此前 5 个同类（工作日/非工作日）无事件日的平均负荷；实际削减 = 基线 − 实际"


def _aware(value: dt.datetime) -> dt.datetime:
    if timezone.is_naive(value):
        return timezone.make_aware(value, zoneinfo.ZoneInfo(settings.TIME_ZONE))
    return value


def _feeders(user: Any, codes: list[str]) -> list[Feeder]:
    wanted = list(dict.fromkeys(c.strip() for c in codes if c.strip()))
    if not wanted:
        raise ServiceError("请选择至少一条线路 / choose at least one feeder", field="feeders")
    found = {f.code: f for f in feeders_visible(user=user).filter(code__in=wanted)}
    missing = [c for c in wanted if c not in found]
    if missing:
        raise ServiceError(
            f"线路不存在或不在您的数据范围内：{'、'.join(missing[:10])} / unknown feeders", field="feeders"
        )
    return [found[c] for c in wanted]


@router.get("/plans", response=PlanPage, summary="有序用电方案列表")
def plan_list(request: HttpRequest, status: str = "", limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
    user = request.auth  # type: ignore[attr-defined]
    require(user, PLANNERS, "查看有序用电方案")
    qs = selectors.plan_list(user=user, status=status)
    limit = min(limit, 200)  # a plan carries its allocations: pages stay small
    return {"count": qs.count(), "results": [_plan_out(p) for p in qs[offset : offset + limit]]}


@router.post("/plans", response={201: PlanOut}, summary="编制有序用电方案（MILP 求解；目标不可达时给出缺口）")
def plan_create(request: HttpRequest, payload: PlanIn) -> Status[dict[str, Any]]:
    user = request.auth  # type: ignore[attr-defined]
    require(user, PLANNERS, "编制有序用电方案")
    if not 0 < payload.target_mw <= MAX_TARGET_MW:
        raise ServiceError(
            f"削减目标应在 0 到 {MAX_TARGET_MW} MW 之间 / target_mw must be above 0 and at most {MAX_TARGET_MW}",
            field="target_mw",
        )
    plan = services.orderly_plan_create(
        name=payload.name,
        target_kw=(payload.target_mw * 1000).quantize(Decimal("0.1")),
        window_start=_aware(payload.window_start),
        window_end=_aware(payload.window_end),
        feeders=_feeders(user, payload.feeders),
        actor=user,
        now=timezone.now(),
    )
    return Status(201, _plan_out(plan))


@router.get("/plans/{pk}", response=PlanOut, summary="有序用电方案详情")
def plan_detail(request: HttpRequest, pk: ObjectId) -> dict[str, Any]:
    user = request.auth  # type: ignore[attr-defined]
    require(user, PLANNERS, "查看有序用电方案")
    return _plan_out(selectors.plan_get(user=user, pk=pk))


@router.post("/plans/{pk}/event", response={201: EventOut}, summary="由方案生成需求响应事件并通知入选客户")
def plan_to_event(request: HttpRequest, pk: ObjectId) -> Status[dict[str, Any]]:
    user = request.auth  # type: ignore[attr-defined]
    require(user, PLANNERS, "下发需求响应事件")
    event = services.dr_event_create(
        plan=selectors.plan_get(user=user, pk=pk, act=True), actor=user, now=timezone.now()
    )
    return Status(201, _event_out(event))


@router.get("/events", response=list[EventOut], summary="需求响应事件列表")
def event_list(request: HttpRequest, status: str = "", limit: Limit = 50) -> list[dict[str, Any]]:
    user = request.auth  # type: ignore[attr-defined]
    require(user, PLANNERS, "查看需求响应事件")
    qs = selectors.events_visible(user=user)
    if status:
        qs = qs.filter(status=status)
    return [_event_out(e) for e in qs[: min(limit, 200)]]


@router.get("/events/{event_id}", response=EventOut, summary="需求响应事件详情（含参与客户）")
def event_detail(request: HttpRequest, event_id: str) -> dict[str, Any]:
    user = request.auth  # type: ignore[attr-defined]
    require(user, OPT_RECORDERS, "查看需求响应事件")
    return _event_out(selectors.event_get(user=user, event_id=event_id))


@router.post("/events/{event_id}/status", response=EventOut, summary="更改事件状态（非法变更返回 409）")
def event_status(request: HttpRequest, event_id: str, payload: StatusIn) -> dict[str, Any]:
    user = request.auth  # type: ignore[attr-defined]
    require(user, PLANNERS, "更改需求响应事件状态")
    event = services.dr_event_set_status(
        event=selectors.event_get(user=user, event_id=event_id, act=True),
        status=payload.status,
        reason=payload.reason,
        actor=user,
        now=timezone.now(),
    )
    return _event_out(event)


@router.post("/events/{event_id}/participants/{account_no}", response=ParticipantOut, summary="登记客户参与/不参与")
def event_opt(request: HttpRequest, event_id: str, account_no: str, payload: OptIn) -> dict[str, Any]:
    user = request.auth  # type: ignore[attr-defined]
    require(user, OPT_RECORDERS, "登记客户响应意向")
    event = selectors.event_get(user=user, event_id=event_id, act=True)
    part = selectors.participation_get(event=event, account_no=account_no)
    services.participation_set_opt(participation=part, opt=payload.opt, actor=user, now=timezone.now())
    report = selectors.event_report(event)
    return next(r for r in _rows(report) if r["account_no"] == account_no)


@router.post("/events/{event_id}/measure", response=ReportOut, summary="事件结束后测量各客户实际响应")
def event_measure(request: HttpRequest, event_id: str) -> dict[str, Any]:
    user = request.auth  # type: ignore[attr-defined]
    require(user, PLANNERS, "测量需求响应")
    event = selectors.event_get(user=user, event_id=event_id, act=True)
    services.dr_event_measure(event=event, actor=user, now=timezone.now(), is_workday=load_calendar().is_working_day)
    event.refresh_from_db()
    return _report_out(selectors.event_report(event))


@router.get("/events/{event_id}/report", response=ReportOut, summary="响应评估：实际削减与计划对比")
def event_report(request: HttpRequest, event_id: str) -> dict[str, Any]:
    user = request.auth  # type: ignore[attr-defined]
    require(user, PLANNERS, "查看需求响应评估")
    return _report_out(selectors.event_report(selectors.event_get(user=user, event_id=event_id)))
