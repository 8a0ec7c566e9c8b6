"""Every write of the dsm app: interval imports, load limits and events, orderly-use plans, DR events."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from gridcare.core.audit import record_event
from gridcare.core.errors import Conflict, ServiceError
from gridcare.customers.models import Customer, CustomerStatus
from gridcare.customers.selectors import customer_ids_under
from gridcare.dsm import analytics, intervals, orderly, store
from gridcare.dsm.models import (
    DemandResponseEvent,
    IntervalBatch,
    LoadControlEvent,
    LoadLimit,
    OrderlyUsePlan,
    Participation,
    PlanAllocation,
)
from gridcare.grid.models import Feeder
from gridcare.notices import services as notice_services
from gridcare.notices.audiences import Audience
from gridcare.notices.models import Notice


class ImportRefused(ServiceError):
    """The file has errors; nothing was written. `report` lists them per line and series."""

    def __init__(self, message: str, report: intervals.Report):
        super().__init__(message, field="file")
        self.report = report


def interval_import(
    *,
    path: Path,
    actor: Any,
    fill_gaps: bool = False,
    register_digits: int | None = None,
    check_customers: bool = True,
    progress: Callable[[int], None] | None = None,
    root: Path | None = None,
) -> tuple[IntervalBatch, intervals.Report]:
    """Validate a CSV/Parquet file of 96-point or daily readings and add it to the interval store.

    All or nothing: any error refuses the file (ImportRefused, with the report) and writes nothing.
    """
    accounts: dict[str, int] | None = None
    if check_customers:
        accounts = dict(Customer.objects.values_list("account_no", "id"))
    opts = intervals.Options(
        tz=zoneinfo.ZoneInfo(settings.TIME_ZONE),
        fill_gaps=fill_gaps,
        register_modulus=float(10**register_digits) if register_digits else None,
    )
    if not path.exists():
        raise ServiceError(f"{path}: 文件不存在 / no such file", field="file")
    try:
        result = intervals.validate_file(path, accounts=accounts, opts=opts, progress=progress)
    except intervals.IntervalFileError as exc:
        raise ServiceError(f"{path}: {exc}", field="file") from None
    report = result.report
    if not report.ok:
        first = report.errors[0].describe(str(path)) if report.errors else ""
        raise ImportRefused(
            f"{path}: {report.error_count} 处错误，未导入任何数据 / {report.error_count} error(s), nothing imported; "
            f"first: {first}",
            report,
        )
    overlap = store.overlapping_rows(report.kind, result.table, root)
    if overlap:
        raise ServiceError(
            f"{path}: {overlap} 行与已导入的数据重复（同一客户同一天）/ {overlap} rows repeat customer-days "
            "already in the store; nothing imported",
            field="file",
        )
    written = store.write_batch(report.kind, result.table, root)
    try:
        with transaction.atomic():
            batch = IntervalBatch.objects.create(
                kind=report.kind,
                source=str(path)[:300],
                path=str(written)[:300],
                rows=report.rows,
                series=report.series,
                filled=report.filled,
                warnings=report.warning_count,
                first_day=report.first_day,
                last_day=report.last_day,
                imported_at=timezone.now(),
                imported_by=getattr(actor, "username", None) or str(actor or "系统"),
            )
            record_event(
                actor=actor,
                action="dsm.interval_import",
                subject=batch,
                new={
                    "kind": report.kind,
                    "rows": batch.rows,
                    "series": batch.series,
                    "filled": batch.filled,
                    "warnings": batch.warnings,
                    "first_day": str(report.first_day),
                    "last_day": str(report.last_day),
                },
            )
    except Exception:
        written.unlink(missing_ok=True)  # the batch row failed: take the file back out, so nothing half-lands
        raise
    return batch, report


# --- orderly use of power and demand response ---------------------------------------------------------

# Share of contract capacity a customer of each category can shed, and what a shed kW costs (元/kW per
# event); residents are protected by rule, like important customers. Operators tune these per province.
CURTAILABLE_SHARE = {"large_industry": 0.5, "commercial": 0.3, "agriculture": 0.2, "other": 0.2}
COST_PER_KW = {"large_industry": 1.0, "commercial": 3.0, "agriculture": 2.0, "other": 2.5}


def plan_candidates(customers: list[Customer]) -> list[orderly.Candidate]:
    out = []
    for c in customers:
        protected = bool(c.important_level) or c.category == "resident"
        share = CURTAILABLE_SHARE.get(c.category, 0.0)
        cap = float(c.contract_kva) * 0.9 * share
        out.append(
            orderly.Candidate(
                customer_id=c.pk,
                curtailable_kw=cap,
                cost_per_kw=COST_PER_KW.get(c.category, 5.0),
                min_kw=cap * 0.2,
                fixed_cost=20.0,
                protected=protected,
            )
        )
    return out


def orderly_plan_create(
    *,
    name: str,
    target_kw: Decimal,
    window_start: dt.datetime,
    window_end: dt.datetime,
    feeders: list[Feeder],
    actor: Any,
    now: dt.datetime,
    candidates: list[orderly.Candidate] | None = None,
) -> OrderlyUsePlan:
    """Solve an orderly-use plan for the customers under `feeders` and store it with its allocations."""
    name = name.strip()
    if not name:
        raise ServiceError("请填写方案名称 / the plan needs a name", field="name")
    if timezone.is_naive(window_start) or timezone.is_naive(window_end):
        raise ServiceError("时间必须带时区 / times need a time zone", field="window_start")
    if window_end <= window_start:
        raise ServiceError("结束时间必须晚于开始时间 / the window must end after it starts", field="window_end")
    if target_kw <= 0:
        raise ServiceError("削减目标必须大于 0 / the target must be above 0 kW", field="target_kw")
    if not feeders:
        raise ServiceError("请选择至少一条线路 / choose at least one feeder", field="feeders")
    customers = list(customer_ids_under(feeder_ids=[f.pk for f in feeders]).exclude(status=CustomerStatus.CLOSED))
    pool = candidates if candidates is not None else plan_candidates(customers)
    plan = orderly.solve_plan(pool, float(target_kw))
    with transaction.atomic():
        record = OrderlyUsePlan.objects.create(
            name=name[:100],
            target_kw=target_kw,
            window_start=window_start,
            window_end=window_end,
            status=OrderlyUsePlan.Status.SOLVED,
            planned_kw=Decimal(str(round(plan.planned_kw, 1))),
            shortfall_kw=Decimal(str(round(plan.shortfall_kw, 1))),
            cost=Decimal(str(round(plan.cost, 2))).quantize(Decimal("0.01")),
            created_by=getattr(actor, "username", None) or str(actor or "系统"),
            created_at=now,
        )
        record.feeders.set(feeders)
        by_id = {c.customer_id: c for c in pool}
        PlanAllocation.objects.bulk_create(
            [
                PlanAllocation(
                    plan=record,
                    customer_id=cid,
                    reduction_kw=Decimal(str(round(kw, 1))),
                    # The customer's whole share of the plan's cost — per kW and the fixed cost of involving
                    # them — so the column adds up to the plan's total.
                    cost=Decimal(str(round(kw * by_id[cid].cost_per_kw + by_id[cid].fixed_cost, 2))),
                )
                for cid, kw in plan.reductions.items()
            ]
        )
        record_event(
            actor=actor,
            action="dsm.plan_create",
            subject=record,
            new={
                "target_kw": str(target_kw),
                "planned_kw": str(record.planned_kw),
                "shortfall_kw": str(record.shortfall_kw),
                "customers": len(plan.reductions),
            },
            at=now,
        )
    return record


def dr_event_create(
    *, plan: OrderlyUsePlan, actor: Any, now: dt.datetime, channels: list[str] | None = None
) -> DemandResponseEvent:
    """A demand-response event from a plan, with OpenADR-like fields; each selected customer is asked to opt in
    and is told through the notices app (one notice to exactly the plan's customers)."""
    with transaction.atomic():
        plan = OrderlyUsePlan.objects.select_for_update().get(pk=plan.pk)
        allocations = list(plan.allocations.select_related("customer"))
        if not allocations:
            raise Conflict("方案没有需要削减的客户，无法生成需求响应事件 / the plan curtails nobody", field="plan")
        existing = (
            DemandResponseEvent.objects.filter(plan=plan).exclude(status=DemandResponseEvent.Status.CANCELLED).first()
        )
        if existing is not None:
            raise Conflict(
                f"该方案已生成需求响应事件 {existing.event_id}（{existing.get_status_display()}），"
                "如需重新下发请先取消该事件 / the plan already has a live event",
                field="plan",
            )
        minutes = int((plan.window_end - plan.window_start).total_seconds() // 60)
        event = DemandResponseEvent.objects.create(
            event_id=f"DR-{now:%Y%m%d}-{uuid.uuid4().hex[:8]}",
            plan=plan,
            status=_dr_status(plan.window_start, plan.window_end, now),
            signal_name="LOAD_DISPATCH",
            signal_type="delta",
            start=plan.window_start,
            end=plan.window_end,
            intervals=[{"uid": 0, "duration_minutes": minutes, "payload_kw": -float(plan.planned_kw)}],
            targets={"feeders": list(plan.feeders.values_list("code", flat=True))},
            created_at=now,
        )
        Participation.objects.bulk_create(
            [Participation(event=event, customer=a.customer, planned_kw=a.reduction_kw) for a in allocations]
        )
        plan.status = OrderlyUsePlan.Status.ISSUED
        plan.save(update_fields=["status"])
        notice = _notify_participants(event=event, cancelled=False, actor=actor, now=now, channels=channels)
        record_event(
            actor=actor,
            action="dsm.dr_event_create",
            subject=event,
            new={"plan": plan.pk, "status": event.status, "notice": notice.pk, "told": notice.recipients},
            at=now,
        )
    return event


def _local(value: dt.datetime) -> str:
    return value.astimezone(zoneinfo.ZoneInfo(settings.TIME_ZONE)).strftime("%Y-%m-%d %H:%M")


def _notify_participants(
    *, event: DemandResponseEvent, cancelled: bool, actor: Any, now: dt.datetime, channels: list[str] | None
) -> Notice:
    """One notice (an explicit account list) to exactly the event's selected customers, through the notices app."""
    accounts = list(event.participants.order_by("pk").values_list("customer__account_no", flat=True))
    window = f"{_local(event.start)} 至 {_local(event.end)}"
    if cancelled:
        title = f"需求响应取消：{event.event_id}"
        text = f"原定于 {window} 执行的需求响应（有序用电）事件 {event.event_id} 已取消，请按正常方式用电。"
    else:
        title = f"需求响应邀约：{event.event_id}"
        text = (
            f"根据有序用电方案，请于 {window} 按约定削减用电负荷（需求响应事件 {event.event_id}）。"
            "请通过客户经理或服务热线确认是否参与。"
        )
    notice = notice_services.announcement_send(
        title=title,
        text=text,
        audience=Audience(account_nos=accounts, labels=[f"需求响应 {event.event_id} 参与客户"]),
        actor=actor,
        channels=channels,
        # within a day of the event (or calling it off) the message must not wait for the end of quiet hours
        urgent=cancelled or event.start - now <= dt.timedelta(hours=24),
        now=now,
    )
    event.notices.add(notice)
    return notice


# Status changes a person may make (OpenADR event states); the measurement also completes an ended event.
DR_TRANSITIONS: dict[str, set[str]] = {
    DemandResponseEvent.Status.FAR: {
        DemandResponseEvent.Status.NEAR,
        DemandResponseEvent.Status.ACTIVE,
        DemandResponseEvent.Status.CANCELLED,
    },
    DemandResponseEvent.Status.NEAR: {DemandResponseEvent.Status.ACTIVE, DemandResponseEvent.Status.CANCELLED},
    DemandResponseEvent.Status.ACTIVE: {DemandResponseEvent.Status.COMPLETED, DemandResponseEvent.Status.CANCELLED},
    DemandResponseEvent.Status.COMPLETED: set(),
    DemandResponseEvent.Status.CANCELLED: set(),
}


def dr_event_set_status(
    *,
    event: DemandResponseEvent,
    status: str,
    actor: Any,
    now: dt.datetime,
    reason: str = "",
    channels: list[str] | None = None,
) -> DemandResponseEvent:
    """Move an event to `status` (far → near → active → completed, or cancelled before it completes).

    An invalid change is refused with Conflict (409) naming both states. Cancelling tells every selected
    customer; completing needs the event's end to have passed."""
    if status not in DemandResponseEvent.Status.values:
        raise ServiceError(
            f"未知状态 {status!r}；可用：{', '.join(DemandResponseEvent.Status.values)} / unknown status",
            field="status",
        )
    with transaction.atomic():
        locked = DemandResponseEvent.objects.select_for_update().get(pk=event.pk)
        old = locked.status
        if status not in DR_TRANSITIONS[old]:
            allowed = "、".join(str(DemandResponseEvent.Status(s).label) for s in sorted(DR_TRANSITIONS[old])) or "无"
            raise Conflict(
                f"事件 {locked.event_id} 当前为「{locked.get_status_display()}」，不能改为"
                f"「{DemandResponseEvent.Status(status).label}」（可改为：{allowed}）"
                f" / cannot go from {old} to {status}",
                field="status",
            )
        if status == DemandResponseEvent.Status.COMPLETED and now < locked.end:
            raise Conflict(
                f"事件要到 {_local(locked.end)} 才结束，不能标记为已完成 / the event has not ended yet", field="status"
            )
        if status == DemandResponseEvent.Status.CANCELLED and not reason.strip():
            raise ServiceError("请填写取消原因 / give the reason for cancelling", field="reason")
        locked.status = status
        locked.modification_number += 1
        locked.save(update_fields=["status", "modification_number"])
        notice = None
        if status == DemandResponseEvent.Status.CANCELLED:
            notice = _notify_participants(event=locked, cancelled=True, actor=actor, now=now, channels=channels)
        record_event(
            actor=actor,
            action="dsm.dr_event_status",
            subject=locked,
            old={"status": old},
            new={"status": status, "notice": notice.pk if notice else None},
            note=reason.strip(),
            at=now,
        )
    return locked


def _dr_status(start: dt.datetime, end: dt.datetime, now: dt.datetime) -> str:
    if now >= end:
        return DemandResponseEvent.Status.COMPLETED
    if now >= start:
        return DemandResponseEvent.Status.ACTIVE
    if start - now <= dt.timedelta(hours=24):
        return DemandResponseEvent.Status.NEAR
    return DemandResponseEvent.Status.FAR


def participation_set_opt(*, participation: Participation, opt: str, actor: Any, now: dt.datetime) -> Participation:
    if opt not in (Participation.Opt.IN, Participation.Opt.OUT):
        raise ServiceError("opt 必须是 opt_in（参与）或 opt_out（不参与）/ opt must be opt_in or opt_out", field="opt")
    with transaction.atomic():
        locked = Participation.objects.select_for_update().select_related("event").get(pk=participation.pk)
        if locked.event.status in (DemandResponseEvent.Status.COMPLETED, DemandResponseEvent.Status.CANCELLED):
            raise Conflict(
                f"事件 {locked.event.event_id} 已{locked.event.get_status_display()}，不能再更改参与意向"
                " / the event is over",
                field="opt",
            )
        old = locked.opt
        locked.opt = opt
        locked.save(update_fields=["opt"])
        record_event(
            actor=actor, action="dsm.participation_opt", subject=locked, old={"opt": old}, new={"opt": opt}, at=now
        )
    return locked


def dr_event_measure(
    *,
    event: DemandResponseEvent,
    actor: Any,
    now: dt.datetime,
    is_workday: Callable[[dt.date], bool] = orderly.weekday_is_workday,
    source: str | None = None,
) -> list[Participation]:
    """After the event: each participant's delivered reduction against its baseline (last 5 similar days)."""
    tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    start, end = event.start.astimezone(tz), event.end.astimezone(tz)
    if event.status == DemandResponseEvent.Status.CANCELLED:
        raise Conflict("事件已取消，无需测量 / a cancelled event is not measured", field="event")
    if now < event.end:
        raise Conflict("事件尚未结束 / the event has not ended yet", field="event")
    if start.date() != (end - dt.timedelta(seconds=1)).date():
        raise ServiceError("只支持单日事件 / events spanning midnight are not measured yet", field="event")
    first = (start.hour * 60 + start.minute) // 15
    last = ((end - dt.timedelta(seconds=1)).hour * 60 + (end - dt.timedelta(seconds=1)).minute) // 15
    slots = list(range(first, last + 1))
    event_days = {
        e.start.astimezone(tz).date()
        for e in DemandResponseEvent.objects.exclude(status=DemandResponseEvent.Status.CANCELLED)
    }
    participants = list(event.participants.select_related("customer"))
    src = source or (analytics.store_source(store.glob("interval")) if store.has_data("interval") else None)
    if src is None:
        raise ServiceError("尚无负荷数据 / no interval data imported", field="event")
    con = analytics.connect()
    frame = analytics.load_frame(
        con,
        src,
        day_from=start.date() - dt.timedelta(days=60),
        day_to=start.date(),
        customers=[p.customer_id for p in participants],
    )
    histories: dict[int, dict[dt.date, list[float | None]]] = {}
    for cid, day, row in zip(frame.customer_id.tolist(), frame.dates(), frame.kw.tolist(), strict=True):
        histories.setdefault(cid, {})[day] = [None if v != v else v for v in row]
    with transaction.atomic():
        for p in participants:
            response = orderly.measure(
                histories.get(p.customer_id, {}),
                event_day=start.date(),
                slots=slots,
                event_days=event_days,
                is_workday=is_workday,
            )
            if response is None:
                continue
            p.baseline_kw = Decimal(str(round(response.baseline_kw, 2)))
            p.actual_kw = Decimal(str(round(response.actual_kw, 2)))
            p.delivered_kw = Decimal(str(round(response.delivered_kw, 2)))
            p.save(update_fields=["baseline_kw", "actual_kw", "delivered_kw"])
        DemandResponseEvent.objects.filter(pk=event.pk).update(status=DemandResponseEvent.Status.COMPLETED)
        record_event(
            actor=actor,
            action="dsm.dr_event_measure",
            subject=event,
            new={
                "planned_kw": str(sum((p.planned_kw for p in participants), Decimal(0))),
                "delivered_kw": str(sum((p.delivered_kw or Decimal(0) for p in participants), Decimal(0))),
            },
            at=now,
        )
    return participants


def load_limit_set(
    *, customer: Customer, kind: str, limit_kw: Decimal, valid_from: dt.datetime, actor: Any, now: dt.datetime
) -> LoadLimit:
    if limit_kw <= 0:
        raise ServiceError("限额必须大于 0 / the limit must be above 0 kW", field="limit_kw")
    if kind not in LoadLimit.Kind.values:
        raise ServiceError(f"未知的限额类型 {kind!r}", field="kind")
    with transaction.atomic():
        limit = LoadLimit.objects.create(customer=customer, kind=kind, limit_kw=limit_kw, valid_from=valid_from)
        record_event(
            actor=actor,
            action="dsm.load_limit_set",
            subject=limit,
            new={"kind": kind, "limit_kw": str(limit_kw)},
            at=now,
        )
    return limit


def load_limit_check_one(*, now: dt.datetime, source: str | None = None) -> int:
    """Claim one limit whose data has not been checked through yesterday, raise an event for every day
    with readings above it, and move its high-water mark. Returns the events raised (−1: nothing due)."""
    tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    yesterday = now.astimezone(tz).date() - dt.timedelta(days=1)
    src = source or (analytics.store_source(store.glob("interval")) if store.has_data("interval") else None)
    if src is None:
        return -1
    with transaction.atomic():
        limit = (
            LoadLimit.objects.select_for_update(skip_locked=True)
            .filter(valid_from__lte=now)
            .exclude(valid_to__lt=now)
            .exclude(checked_through__gte=yesterday)
            .select_related("customer")
            .order_by("checked_through", "pk")
            .first()
        )
        if limit is None:
            return -1
        start = (
            limit.checked_through + dt.timedelta(days=1)
            if limit.checked_through
            else limit.valid_from.astimezone(tz).date()
        )
        frame = analytics.load_frame(
            analytics.connect(), src, day_from=start, day_to=yesterday, customers=[limit.customer_id]
        )
        threshold = float(limit.limit_kw)
        raised = 0
        for day, row in sorted(zip(frame.dates(), frame.kw, strict=True), key=lambda r: r[0]):
            over = np.flatnonzero(np.nan_to_num(row) > threshold)
            if len(over) == 0:
                continue
            first = dt.datetime.combine(day, dt.time(), tz) + dt.timedelta(minutes=15 * int(over[0]))
            event, created = LoadControlEvent.objects.get_or_create(
                limit=limit,
                day=day,
                defaults={
                    "customer": limit.customer,
                    "unit": limit.customer.service_unit,
                    "account_manager": limit.customer.account_manager,
                    "first_over_at": first,
                    "intervals_over": len(over),
                    "peak_kw": Decimal(str(round(float(np.nanmax(row)), 1))),
                    "limit_kw": limit.limit_kw,
                    "created_at": now,
                },
            )
            if created:
                raised += 1
                record_event(
                    actor=None,
                    action="dsm.load_over_limit",
                    subject=event,
                    new={"day": day.isoformat(), "peak_kw": str(event.peak_kw), "limit_kw": str(limit.limit_kw)},
                    at=now,
                )
        limit.checked_through = yesterday
        limit.save(update_fields=["checked_through"])
    return raised
