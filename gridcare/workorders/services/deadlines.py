"""Deadlines (时限): made at intake from the SLA policy, met at milestones, paused, and rescheduled when the
calendar changes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from gridcare.core.audit import record_event
from gridcare.core.calendar import load_calendar
from gridcare.core.errors import ServiceError
from gridcare.core.workdays import working_seconds_between
from gridcare.customers.models import Customer
from gridcare.grid.models import AreaClass
from gridcare.workorders import sla
from gridcare.workorders.models import (
    Category,
    Deadline,
    DeadlineState,
    Priority,
    SlaPolicy,
    Status,
    SupplyClass,
    TimeUnit,
    WorkOrder,
)
from gridcare.workorders.reference import reference
from gridcare.workorders.services._base import TIMED_MILESTONES, Actor, _now


def _supply_class(customer: Customer | None, params: dict[str, Any]) -> str:
    if params.get("supply_class") in SupplyClass.values:
        return str(params["supply_class"])
    if customer is None:
        return ""
    if customer.customer_type == "hv":
        return SupplyClass.HV_DUAL if params.get("dual_source") else SupplyClass.HV_SINGLE
    return SupplyClass.LV_RESIDENT if customer.customer_type == "lv_resident" else SupplyClass.LV_BUSINESS


def _targets(policy: SlaPolicy | None) -> list[sla.Target]:
    if policy is None:
        return []
    cached = reference().targets.get(policy.pk)
    if cached is not None:
        return cached
    return [
        sla.Target(t.milestone, t.amount, t.unit, t.priority, t.area_class, t.supply_class)
        for t in policy.targets.all()
    ]


def _make_deadline(
    order: WorkOrder,
    *,
    milestone: str,
    amount: int,
    unit: str,
    started_at: dt.datetime,
    now: dt.datetime,
    policy: SlaPolicy | None,
    step_code: str = "",
) -> Deadline:
    cal = load_calendar()
    computed = sla.due_at(started_at, amount, unit, cal)
    warn = sla.warn_at(
        started_at,
        computed.at,
        lead_minutes=policy.warn_lead_minutes if policy else None,
        share=policy.warn_share if policy else Decimal("0.25"),
    )
    if computed.warnings and not order.calendar_warning:
        order.calendar_warning = computed.warnings[0][:200]
        if not order._state.adding:  # a new order is written afterwards, warning included
            WorkOrder.objects.filter(pk=order.pk).update(calendar_warning=order.calendar_warning)
    return Deadline(
        order=order,
        milestone=milestone,
        step_code=step_code,
        amount=amount,
        unit=unit,
        started_at=started_at,
        due_at=computed.at,
        warn_at=warn,
        next_check_at=warn if warn > now else computed.at,
    )


def _intake_deadlines(order: WorkOrder, now: dt.datetime) -> list[Deadline]:
    """The new order's deadlines, unsaved (intake writes them with the order)."""
    policy = order.category.sla_policy
    targets = _targets(policy)
    rows = []
    for milestone in TIMED_MILESTONES:
        target = sla.resolve_target(
            targets,
            milestone=milestone,
            priority=order.priority,
            area_class=order.area_class,
            supply_class=order.supply_class,
        )
        if target is not None:
            rows.append(
                _make_deadline(
                    order,
                    milestone=milestone,
                    amount=target.amount,
                    unit=target.unit,
                    started_at=order.accepted_at,
                    now=now,
                    policy=policy,
                )
            )
    return rows


def deadlines_preview(
    *,
    category: Category,
    accepted_at: dt.datetime,
    customer: Customer | None = None,
    priority: str | None = None,
    area_class: str | None = None,
    supply_class: str | None = None,
) -> tuple[list[Deadline], str]:
    """The deadlines an order would get if accepted at `accepted_at`, and the calendar's warning for a year it
    has no data for ("" when none): the same computation as intake, on an order that is never written. What
    an agent tells a caller ("we will contact you by …"), and how anyone can check the SLA rules for any date."""
    if priority is not None and priority not in Priority.values:
        raise ServiceError(f"未知的优先级 {priority!r}；可选：{', '.join(Priority.values)}", field="priority")
    if area_class is not None and area_class not in AreaClass.values:
        raise ServiceError(f"未知的城乡类别 {area_class!r}；可选：{', '.join(AreaClass.values)}", field="area_class")
    if supply_class and supply_class not in SupplyClass.values:
        known = ", ".join(v for v in SupplyClass.values if v)
        raise ServiceError(f"未知的供电类别 {supply_class!r}；可选：{known}", field="supply_class")
    if timezone.is_naive(accepted_at):
        accepted_at = timezone.make_aware(accepted_at)  # read as the service's local time (Beijing)
    order = WorkOrder(
        category=category,
        priority=priority or category.priority,
        customer=customer,
        area_class=area_class or (customer.area_class if customer else AreaClass.URBAN),
        supply_class=supply_class or _supply_class(customer, {}),
        accepted_at=accepted_at,
    )
    return _intake_deadlines(order, accepted_at), order.calendar_warning


def _meet(order: WorkOrder, milestones: list[str], now: dt.datetime, step_code: str | None = None) -> None:
    qs = Deadline.objects.filter(order=order, milestone__in=milestones, met_at__isnull=True).exclude(
        state=DeadlineState.CANCELLED
    )
    if step_code is not None:
        qs = qs.filter(step_code=step_code)
    qs.update(met_at=now, state=DeadlineState.MET, next_check_at=None)


def _pause_deadlines(order: WorkOrder) -> None:
    Deadline.objects.filter(order=order, met_at__isnull=True).exclude(state=DeadlineState.CANCELLED).update(
        next_check_at=None
    )


def _resume_deadlines(order: WorkOrder, paused_from: dt.datetime, now: dt.datetime) -> None:
    cal = load_calendar()
    policy = order.category.sla_policy
    for d in Deadline.objects.filter(order=order, met_at__isnull=True).exclude(state=DeadlineState.CANCELLED):
        pause = (
            (now - paused_from).total_seconds()
            if d.unit == TimeUnit.MINUTES
            else working_seconds_between(paused_from, now, cal)
        )
        d.paused_seconds += pause
        _reschedule(d, cal, policy, now)
        d.save(update_fields=["paused_seconds", "due_at", "warn_at", "next_check_at", "state", "escalation_level"])


def _reschedule(d: Deadline, cal: Any, policy: SlaPolicy | None, now: dt.datetime) -> tuple[str, ...]:
    """Move the deadline to what the calendar now says; returns the calendar's warnings for its span."""
    computed = sla.due_at(d.started_at, d.amount, d.unit, cal, d.paused_seconds)
    d.due_at = computed.at
    d.warn_at = sla.warn_at(
        d.started_at,
        d.due_at,
        lead_minutes=policy.warn_lead_minutes if policy else None,
        share=policy.warn_share if policy else Decimal("0.25"),
    )
    if d.due_at > now and d.state == DeadlineState.OVERDUE:
        # The deadline moved back into the future: supervision starts over from the new due time.
        d.state, d.escalation_level = DeadlineState.PENDING, 0
    if d.state == DeadlineState.PENDING:
        d.next_check_at = d.warn_at if d.warn_at > now else d.due_at
    elif d.state == DeadlineState.WARNED:
        d.next_check_at = d.due_at
    else:
        d.next_check_at = now
    return tuple(computed.warnings)


def _paused_seconds_from_events(order: WorkOrder, unit: str, cal: Any, now: dt.datetime) -> float:
    from gridcare.core.models import Event

    total = 0.0
    started: dt.datetime | None = None
    for action, at in (
        Event.objects.filter(
            subject_type="workorders.workorder",
            subject_id=str(order.pk),
            action__in=["workorder.suspend", "workorder.resume"],
        )
        .order_by("at", "id")
        .values_list("action", "at")
    ):
        if action == "workorder.suspend":
            started = at
        elif started is not None:
            total += (
                (at - started).total_seconds()
                if unit == TimeUnit.MINUTES
                else working_seconds_between(started, at, cal)
            )
            started = None
    return total


def deadlines_recompute(
    *, policy: SlaPolicy, actor: Actor, now: dt.datetime | None = None, orders_between: tuple[int, int] | None = None
) -> int:
    """After a policy or calendar change: recompute every open deadline from the policy and the event history.

    `orders_between=(after, upto)` limits it to orders with after < id <= upto: one batch of a background task."""
    now = _now(now)
    cal = load_calendar(fresh=True)
    reference(fresh=True)  # the policy was just edited: read it anew
    targets = _targets(policy)
    changed = 0
    orders: dict[int, WorkOrder] = {}
    warnings: dict[int, str] = {}
    with transaction.atomic():
        open_deadlines = (
            Deadline.objects.select_related("order")
            .filter(order__category__sla_policy=policy, met_at__isnull=True, step_code="")
            .exclude(state=DeadlineState.CANCELLED)
        )
        if orders_between is not None:
            open_deadlines = open_deadlines.filter(order_id__gt=orders_between[0], order_id__lte=orders_between[1])
        for d in open_deadlines:
            order = d.order
            target = sla.resolve_target(
                targets,
                milestone=d.milestone,
                priority=order.priority,
                area_class=order.area_class,
                supply_class=order.supply_class,
            )
            if target is None:
                continue
            before = (d.amount, d.unit, d.due_at)
            d.amount, d.unit = target.amount, target.unit
            d.paused_seconds = _paused_seconds_from_events(order, d.unit, cal, now)
            orders[order.pk] = order
            for warning in _reschedule(d, cal, policy, now):
                warnings.setdefault(order.pk, warning[:200])
            if order.status == Status.SUSPENDED:
                d.next_check_at = None
            if (d.amount, d.unit, d.due_at) != before:
                d.save()
                changed += 1
                record_event(
                    actor=actor,
                    action="workorder.deadline_recompute",
                    subject=order,
                    # Both instants in the service's time zone: the old one was read back in UTC.
                    old={"milestone": d.milestone, "due_at": timezone.localtime(before[2])},
                    new={
                        "milestone": d.milestone,
                        "due_at": timezone.localtime(d.due_at),
                        "amount": d.amount,
                        "unit": d.unit,
                    },
                )
        # An order's calendar warning follows the calendar: gone once the year has been entered.
        for pk, order in orders.items():
            if order.calendar_warning != warnings.get(pk, ""):
                WorkOrder.objects.filter(pk=pk).update(calendar_warning=warnings.get(pk, ""))
    return changed


def deadlines_recompute_all(*, actor: Actor, now: dt.datetime | None = None) -> int:
    """After a change to the holiday calendar: every policy's open deadlines, recomputed. Returns how many moved."""
    return sum(deadlines_recompute(policy=policy, actor=actor, now=now) for policy in SlaPolicy.objects.order_by("pk"))
