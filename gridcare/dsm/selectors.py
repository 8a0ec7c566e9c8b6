"""Reads of the dsm app, always within the reader's data scope: a customer's load, a feeder's load, orderly-use
plans and demand-response events with their measured response."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from gridcare.core.errors import NotFound
from gridcare.customers.models import Customer
from gridcare.customers.selectors import customer_get, customers_under_feeder
from gridcare.dsm import analytics, store
from gridcare.dsm.models import DemandResponseEvent, LoadControlEvent, OrderlyUsePlan, Participation, PlanAllocation
from gridcare.grid.models import Feeder
from gridcare.grid.selectors import feeder_get, feeders_visible

DEFAULT_DAYS = 7


def interval_source() -> str | None:
    """The interval store as a DuckDB source, or None when nothing has been imported yet."""
    if not store.has_data("interval"):
        return None
    return analytics.store_source(store.glob("interval"))


def _last_day(con: Any, source: str, where: str = "") -> dt.date | None:
    row = con.sql(f"select max(day) from {source} {where}").fetchall()  # noqa: S608
    return row[0][0] if row and row[0][0] else None


@dataclass
class CustomerLoad:
    customer: Customer
    days: list[dt.date]
    curves: list[list[float | None]]
    stats: list[dict[str, Any]]
    typical: list[float] | None
    events: list[LoadControlEvent]
    day_from: dt.date | None
    day_to: dt.date | None


def customer_load(
    *, user: Any, account_no: str, day_to: dt.date | None = None, days: int = DEFAULT_DAYS
) -> CustomerLoad:
    """The customer's last `days` days of 96-point load, their statistics, typical day and load events."""
    customer = customer_get(user=user, account_no=account_no)
    events = list(LoadControlEvent.objects.filter(customer=customer).order_by("-day")[:20])
    source = interval_source()
    empty = CustomerLoad(customer, [], [], [], None, events, None, None)
    if source is None:
        return empty
    con = analytics.connect()
    if day_to is None:
        day_to = _last_day(con, source, f"where customer_id = {int(customer.pk)}")
        if day_to is None:
            return empty
    day_from = day_to - dt.timedelta(days=days - 1)
    frame = analytics.load_frame(con, source, day_from=day_from, day_to=day_to, customers=[customer.pk])
    if frame.rows == 0:
        return CustomerLoad(customer, [], [], [], None, events, day_from, day_to)
    stats = sorted(analytics.customer_day_stats(frame).to_pylist(), key=lambda r: r["day"])
    typical = analytics.typical_day(frame).get(str(customer.pk))
    order = frame.day.argsort()
    dates = frame.dates()
    curves = [[None if v != v else round(float(v), 3) for v in frame.kw[i].tolist()] for i in order]
    return CustomerLoad(customer, [dates[i] for i in order], curves, stats, typical, events, day_from, day_to)


@dataclass
class FeederLoad:
    feeder: Feeder
    day: dt.date | None
    areas: list[dict[str, Any]]  # code, name, rated_kva, curve, peak_kw, load_ratio, level
    total: list[float] | None
    capacity_kva: float
    warnings: list[dict[str, Any]]


def feeder_load(*, user: Any, code: str, day: dt.date | None = None, power_factor: float = 0.9) -> FeederLoad:
    """The feeder's and each 台区's summed curve on one day against rated capacity, with overload warnings.

    A feeder's capacity is the sum of its 台区 ratings (the model carries no feeder rating)."""
    feeder = feeder_get(user=user, code=code)
    rows = list(
        customers_under_feeder(user=user, feeder=feeder).values_list("pk", "service_point__transformer_area__code")
    )
    areas = {a.code: a for a in feeder.areas.all()}
    capacity = {c: float(a.rated_kva) for c, a in areas.items()}
    total_capacity = sum(capacity.values())
    source = interval_source()
    if source is None or not rows:
        return FeederLoad(feeder, day, [], None, total_capacity, [])
    con = analytics.connect()
    ids = [pk for pk, _ in rows]
    if day is None:
        ids_sql = ",".join(str(int(i)) for i in ids)
        day = _last_day(con, source, f"where customer_id in ({ids_sql})")
        if day is None:
            return FeederLoad(feeder, None, [], None, total_capacity, [])
    frame = analytics.load_frame(con, source, day_from=day, day_to=day, customers=ids)
    groups = analytics.Groups(customer_group={pk: area for pk, area in rows}, capacity_kva=capacity)
    curves = analytics.group_curves(frame, groups)
    warnings = analytics.overloads(curves, groups, power_factor=power_factor)
    by_area = {g: curves.kw[i].tolist() for i, g in enumerate(curves.group)}
    feeder_groups = analytics.Groups(
        customer_group={pk: feeder.code for pk, _ in rows}, capacity_kva={feeder.code: total_capacity}
    )
    feeder_curves = analytics.group_curves(frame, feeder_groups)
    warnings += analytics.overloads(feeder_curves, feeder_groups, power_factor=power_factor)
    level = {w["grp"]: w for w in warnings}
    out = []
    for area_code, area in sorted(areas.items()):
        curve = by_area.get(area_code)
        peak = max(curve) if curve else None
        out.append(
            {
                "code": area_code,
                "name": area.name,
                "rated_kva": area.rated_kva,
                "curve": [round(v, 2) for v in curve] if curve else None,
                "peak_kw": peak,
                "load_ratio": (peak / (area.rated_kva * power_factor)) if peak is not None and area.rated_kva else None,
                "level": level.get(area_code, {}).get("level", ""),
            }
        )
    total = [round(v, 2) for v in feeder_curves.kw[0].tolist()] if feeder_curves.group else None
    return FeederLoad(feeder, day, out, total, total_capacity, warnings)


def analytics_dir() -> str:
    return str(settings.ANALYTICS_DIR)


# --- orderly-use plans and demand-response events ----------------------------------------------------

PLAN_SORTS = {"created_at", "-created_at", "window_start", "-window_start", "target_kw", "-target_kw", "name", "-name"}


def plans_visible(*, user: Any) -> QuerySet[OrderlyUsePlan]:
    """Plans with at least one feeder in the user's data scope."""
    ids = OrderlyUsePlan.feeders.through.objects.filter(feeder_id__in=feeders_visible(user=user).values("pk")).values(
        "orderlyuseplan_id"
    )
    return OrderlyUsePlan.objects.filter(pk__in=ids)


def plan_list(*, user: Any, status: str = "", sort: str = "-created_at") -> QuerySet[OrderlyUsePlan]:
    qs = plans_visible(user=user)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by(sort if sort in PLAN_SORTS else "-created_at", "-pk")


def _whole_plan_in_scope(user: Any, plan_id: int | None) -> bool:
    """A plan curtails customers on each of its feeders: only someone whose scope covers every one of them may
    act on it (issue its event, change its status, measure it). One feeder in scope is enough to read it."""
    if plan_id is None or getattr(user, "sees_everything", False):
        return plan_id is not None or getattr(user, "sees_everything", False)
    through = OrderlyUsePlan.feeders.through.objects.filter(orderlyuseplan_id=plan_id)
    return not through.exclude(feeder_id__in=feeders_visible(user=user).values("pk")).exists()


def plan_get(*, user: Any, pk: int, act: bool = False) -> OrderlyUsePlan:
    plan = plans_visible(user=user).filter(pk=pk).first()
    if plan is None or (act and not _whole_plan_in_scope(user, plan.pk)):
        raise NotFound(f"有序用电方案 {pk} 不存在或不在您的数据范围内")
    return plan


def plan_allocations(plan: OrderlyUsePlan) -> list[PlanAllocation]:
    return list(plan.allocations.select_related("customer").order_by("-reduction_kw", "customer__account_no"))


def events_visible(*, user: Any) -> QuerySet[DemandResponseEvent]:
    return DemandResponseEvent.objects.filter(plan__in=plans_visible(user=user))


def event_get(*, user: Any, event_id: str, act: bool = False) -> DemandResponseEvent:
    event = events_visible(user=user).filter(event_id=event_id).select_related("plan").first()
    if event is None or (act and not _whole_plan_in_scope(user, event.plan_id)):
        raise NotFound(f"需求响应事件 {event_id} 不存在或不在您的数据范围内")
    return event


def participation_get(*, event: DemandResponseEvent, account_no: str) -> Participation:
    part = event.participants.filter(customer__account_no=account_no).select_related("customer").first()
    if part is None:
        raise NotFound(f"户号 {account_no} 不是事件 {event.event_id} 的参与客户")
    return part


@dataclass
class ReportRow:
    participation: Participation
    account_no: str
    name: str
    opt: str
    planned_kw: Decimal
    baseline_kw: Decimal | None
    actual_kw: Decimal | None
    delivered_kw: Decimal | None

    @property
    def ratio(self) -> Decimal | None:
        """Delivered as a share of planned (1 = as planned)."""
        if self.delivered_kw is None or not self.planned_kw:
            return None
        return (self.delivered_kw / self.planned_kw).quantize(Decimal("0.001"))


@dataclass
class ResponseReport:
    """Delivered against planned per customer and in total (baseline: last 5 similar non-event days)."""

    event: DemandResponseEvent
    rows: list[ReportRow]
    planned_kw: Decimal
    planned_opted_in_kw: Decimal
    delivered_kw: Decimal
    measured: int

    @property
    def ratio(self) -> Decimal | None:
        if not self.measured or not self.planned_kw:
            return None
        return (self.delivered_kw / self.planned_kw).quantize(Decimal("0.001"))


def event_report(event: DemandResponseEvent) -> ResponseReport:
    rows = [
        ReportRow(
            participation=p,
            account_no=p.customer.account_no,
            name=p.customer.name,
            opt=p.opt,
            planned_kw=p.planned_kw,
            baseline_kw=p.baseline_kw,
            actual_kw=p.actual_kw,
            delivered_kw=p.delivered_kw,
        )
        for p in event.participants.select_related("customer").order_by("-planned_kw", "customer__account_no")
    ]
    zero = Decimal(0)
    return ResponseReport(
        event=event,
        rows=rows,
        planned_kw=sum((r.planned_kw for r in rows), zero),
        planned_opted_in_kw=sum((r.planned_kw for r in rows if r.opt == Participation.Opt.IN), zero),
        delivered_kw=sum((r.delivered_kw for r in rows if r.delivered_kw is not None), zero),
        measured=sum(1 for r in rows if r.delivered_kw is not None),
    )
