"""Reads of work orders, within the reader's data scope: lists with filters, detail, timeline, queues."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from gridcare.core.errors import NotFound
from gridcare.core.models import Event
from gridcare.customers.models import Customer
from gridcare.notices.selectors import customer_current_outages
from gridcare.org.scope import unit_filter
from gridcare.workorders.models import Category, Deadline, DeadlineState, ReturnVisit, Status, WorkOrder
from gridcare.workorders.states import OPEN

DUE_SOON = dt.timedelta(hours=24)


def orders_visible(*, user: Any) -> QuerySet[WorkOrder]:
    """Orders handled by, sent by, or about customers of the user's scope; administrators see all."""
    return WorkOrder.objects.filter(
        unit_filter(user, "unit")
        | unit_filter(user, "sender_unit")
        | unit_filter(user, "customer__service_unit")
        | unit_filter(user, "created_by__unit")
    )


def order_get(*, user: Any, number: str) -> WorkOrder:
    order = (
        orders_visible(user=user)
        .select_related(
            "category",
            "category__parent",
            "customer",
            "unit",
            "sender_unit",
            "handler",
            "main",
            "repeat_of",
            "created_by",
        )
        .filter(number=number)
        .first()
    )
    if order is None:
        raise NotFound(f"工单 {number} 不存在或不在您的数据范围内")
    return order


@dataclass
class OrderFilters:
    status: list[str]
    overdue: bool = False
    due_soon: bool = False
    category: str = ""
    unit: str = ""
    channel: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    q: str = ""
    sensitive_first: bool = True
    sort: str = "-accepted_at"


SORTS = {
    "accepted_at",
    "-accepted_at",
    "number",
    "-number",
    "status",
    "-status",
    "priority",
    "-priority",
    "call_count",
    "-call_count",
}


def order_list(*, user: Any, f: OrderFilters, now: dt.datetime | None = None) -> QuerySet[WorkOrder]:
    now = now or timezone.now()
    qs = orders_visible(user=user).select_related("category", "category__parent", "customer", "unit")
    statuses = [s for s in f.status if s in Status.values]
    if statuses:
        qs = qs.filter(status__in=statuses)
    if f.overdue:
        qs = qs.filter(is_overdue=True)
    if f.due_soon:
        soon = Deadline.objects.filter(
            order=OuterRef("pk"),
            met_at__isnull=True,
            state__in=[DeadlineState.PENDING, DeadlineState.WARNED],
            due_at__lte=now + DUE_SOON,
        )
        qs = qs.filter(Exists(soon), status__in=OPEN)
    if f.category:
        qs = qs.filter(Q(category__code=f.category) | Q(category__parent__code=f.category))
    if f.unit:
        qs = qs.filter(unit__code=f.unit)
    if f.channel:
        qs = qs.filter(channel=f.channel)
    tz = timezone.get_current_timezone()
    if f.date_from:
        qs = qs.filter(accepted_at__gte=dt.datetime.combine(f.date_from, dt.time(), tzinfo=tz))
    if f.date_to:
        qs = qs.filter(accepted_at__lt=dt.datetime.combine(f.date_to + dt.timedelta(days=1), dt.time(), tzinfo=tz))
    if f.q:
        qs = qs.filter(Q(number=f.q) | Q(customer__account_no=f.q) | Q(caller_phone=f.q) | Q(caller_name=f.q))
    order_by = [f.sort if f.sort in SORTS else "-accepted_at", "-id"]
    if f.sensitive_first:
        order_by.insert(0, "-customer__is_sensitive")
    return qs.order_by(*order_by)


def order_timeline(order: WorkOrder) -> QuerySet[Event]:
    return Event.objects.filter(subject_type="workorders.workorder", subject_id=str(order.pk)).order_by("at", "id")


def order_deadlines(order: WorkOrder) -> QuerySet[Deadline]:
    return order.deadlines.order_by("due_at")


def customer_orders(*, user: Any, customer: Customer, limit: int = 20) -> list[WorkOrder]:
    return list(
        orders_visible(user=user)
        .filter(customer=customer)
        .select_related("category", "category__parent", "unit")
        .order_by("-accepted_at")[:limit]
    )


def visits_pending(*, user: Any) -> QuerySet[ReturnVisit]:
    return (
        ReturnVisit.objects.filter(closed_at__isnull=True, order__in=orders_visible(user=user))
        .select_related("order", "order__customer", "order__category")
        .order_by("created_at")
    )


def categories_active() -> QuerySet[Category]:
    return Category.objects.filter(is_active=True).select_related("parent").order_by("sort_order", "code")


#: Apps above work orders that know of outages a caller may be in (repair: faults being analysed) register a
#: source here in their AppConfig.ready(). A source returns (what to tell the caller, the published outage notice it
#: already covers, if any) for each outage covering the customer. What to tell: kind, title, cause, etr, updated;
#: optionally etr_text (the ETR as a sentence) and quick_call ({url, outage}: a one-line call the agent's panel
#: offers first, posting account_no, outage, phone and note to that url).
OutageSource = Callable[[Customer], list[tuple[dict[str, Any], int | None]]]
OUTAGE_SOURCES: list[OutageSource] = []


def register_outage_source(source: OutageSource) -> None:
    if source not in OUTAGE_SOURCES:
        OUTAGE_SOURCES.append(source)


def known_outages(customer: Customer) -> list[dict[str, Any]]:
    """Known outages covering the customer — a fault being analysed (from the registered sources: repair) or a
    published planned/fault outage (notices) — with the ETR and when it was last updated, so whoever takes the
    call (the agent, the IVR) can tell the caller at once instead of opening another repair."""
    found: list[dict[str, Any]] = []
    covered: set[int] = set()
    for source in OUTAGE_SOURCES:
        for outage, notice_id in source(customer):
            found.append(outage)
            if notice_id is not None:
                covered.add(notice_id)
    for o in customer_current_outages(customer=customer):
        if o.pk in covered:
            continue
        found.append(
            {
                "kind": o.kind,
                "title": f"{o.get_kind_display()}：{o.title}",
                "cause": o.cause,
                "etr": o.etr or o.ends_at,
                "updated": o.updated_at,
            }
        )
    return found
