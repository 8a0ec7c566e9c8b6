"""Storm mode (暴雨模式): switched by a shift lead or by the call rate (the worker, once a minute), and the one-line
call that records a known-outage caller as a repair order joined to that outage in one step."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q

from gridcare.core.audit import record_event
from gridcare.core.errors import Conflict, ServiceError
from gridcare.customers.models import Customer
from gridcare.org.models import User
from gridcare.repair.models import ProbableOutage, RepairTicket, StormMode
from gridcare.repair.services._base import Actor, _now
from gridcare.repair.services.placing import covering
from gridcare.repair.storm_selectors import call_windows, storm_on, storm_rule, storm_state
from gridcare.repair.stormrule import decide
from gridcare.workorders import services as wo
from gridcare.workorders.models import Category, CategoryKind, Channel, WorkOrder

AUTOMATIC = "暴雨模式自动切换"  # the actor named on the worker's switches
EVERY = dt.timedelta(minutes=1)


def _row() -> None:
    """The single storm-mode row exists (created on first use; a concurrent first use is harmless)."""
    if StormMode.objects.filter(pk=1).exists():
        return
    try:
        with transaction.atomic():
            StormMode.objects.create(pk=1)
    except IntegrityError:
        pass


def _label(on: bool) -> str:
    return "开启" if on else "关闭"


def storm_mode_set(
    *, on: bool, reason: str, actor: Actor, automatic: bool = False, now: dt.datetime | None = None
) -> StormMode:
    """Switch storm mode on or off. A shift lead gives a reason; the worker passes `automatic=True` and its rule's
    reason. A shift lead switching to the state the worker already set takes it over: it then stays until a
    shift lead changes it (repair.stormrule.decide never overrules a person)."""
    now = _now(now)
    reason = reason.strip()
    if not automatic and not reason:
        raise ServiceError("请填写切换暴雨模式的原因", field="reason")
    if len(reason) > 200:
        raise ServiceError("原因不能超过 200 个字", field="reason")
    _row()
    with transaction.atomic():
        mode = StormMode.objects.select_for_update().get(pk=1)
        if mode.on == on and (automatic or not mode.automatic):
            if automatic:
                return mode
            raise Conflict(f"暴雨模式已经是{_label(on)}状态")
        old = {"on": mode.on, "automatic": mode.automatic, "since": mode.since, "reason": mode.reason}
        taking_over = mode.on == on
        if not taking_over:
            mode.since = now
        mode.on, mode.automatic, mode.reason = on, automatic, reason
        mode.switched_by = actor if isinstance(actor, User) else None
        mode.save(update_fields=["on", "since", "automatic", "reason", "switched_by"])
        record_event(
            actor=actor or AUTOMATIC,
            action="storm.confirm" if taking_over else ("storm.on" if on else "storm.off"),
            subject_type="repair.stormmode",
            subject_id="1",
            subject_label="暴雨模式",
            at=now,
            old=old,
            new={"on": on, "automatic": automatic, "since": mode.since, "reason": reason},
            note=reason,
        )
        return mode


def storm_mode_evaluate(*, now: dt.datetime) -> int:
    """The worker's look at the call rate, once a minute whoever runs it (the row's next_evaluation_at is claimed
    by compare-and-swap): record calls per 10 minutes and switch when the rule says so. Returns 1 when it
    switched, else 0."""
    _row()
    claimed = (
        StormMode.objects.filter(pk=1)
        .filter(Q(next_evaluation_at__isnull=True) | Q(next_evaluation_at__lte=now))
        .update(next_evaluation_at=now + EVERY)
    )
    if not claimed:
        return 0
    rule = storm_rule()
    windows = call_windows(now, windows=rule.quiet_windows)
    with transaction.atomic():
        mode = StormMode.objects.select_for_update().get(pk=1)
        StormMode.objects.filter(pk=1).update(calls_per_10min=windows[0], evaluated_at=now)
        decision = decide(storm_state(mode), windows, now=now, rule=rule)
        if decision is None:
            return 0
        storm_mode_set(on=decision.on, reason=decision.reason, actor=None, automatic=True, now=now)
        return 1


PHONE = re.compile(r"^\+?[0-9][0-9 -]{4,23}$")


def _repair_category() -> Category:
    category = (
        Category.objects.filter(kind=CategoryKind.REPAIR, is_active=True).order_by("parent_id", "sort_order").first()
    )
    if category is None:
        raise ServiceError("没有启用的故障报修分类，请联系系统管理员", field="category")
    return category


def storm_call_record(
    *,
    customer: Customer,
    phone: str,
    actor: Actor,
    channel: str = Channel.PHONE,
    note: str = "",
    outage: ProbableOutage | None = None,
    now: dt.datetime | None = None,
) -> tuple[WorkOrder, RepairTicket, ProbableOutage]:
    """一键报修: in storm mode, a caller whose outage is already known is recorded in one line (their number and an
    optional note) as a repair order that joins that outage, through the ordinary intake (`workorder_create`,
    whose repair handler opens the ticket and places it). `outage`, when given, is the one the caller was told of
    (the IVR's lookup): it must still cover them. Returns the order, its ticket and the outage told."""
    now = _now(now)
    phone, note = phone.strip(), note.strip()
    if not PHONE.match(phone):
        raise ServiceError("请填写来电号码（5–24 位数字，可含空格、- 和开头的 +）", field="phone")
    if len(note) > 200:
        raise ServiceError("备注不能超过 200 个字", field="note")
    if not storm_on():
        raise Conflict("暴雨模式未开启：请按正常流程受理报修工单")
    sp = customer.service_point
    # The outage intake tells this caller of (repair.selectors.outage_for_customer): the same definition.
    known = covering(sp.transformer_area_id, sp.code) if sp is not None else None
    if outage is not None and (known is None or known.pk != outage.pk):
        raise Conflict(f"故障 {outage.pk} 已不在抢修中或不再覆盖该客户，请重新查询")
    if known is None:
        raise Conflict("该客户所在区域没有已知故障，请按正常流程受理报修工单")
    told = f"（已告知：故障 {known.pk}）"
    description = f"暴雨模式一键报修：{note}{told}" if note else f"暴雨模式一键报修：客户报告停电{told}"
    with transaction.atomic():
        order = wo.workorder_create(
            actor=actor,
            channel=channel,
            category=_repair_category(),
            customer=customer,
            caller_phone=phone,
            description=description,
            dispatch=False,
            now=now,
        )
        ticket = RepairTicket.objects.select_related("outage").get(workorder=order)
        known.refresh_from_db()
        # Intake places the call (repair.services.intake); it joins the outage the caller was told of unless the
        # analysis moved on meanwhile (a roll-up to the feeder, or a window that had closed): said, not hidden.
        joined = ticket.outage_id in {known.pk, known.merged_into_id}
        record_event(
            actor=actor,
            action="repair.quick_call",
            subject=order,
            at=now,
            new={"told_outage": known.pk, "outage": ticket.outage_id, "joined": joined, "channel": channel},
            note=note,
        )
        order.refresh_from_db()
        return order, ticket, known


def quick_call_summary(order: WorkOrder, ticket: RepairTicket, told: ProbableOutage) -> dict[str, Any]:
    """What the agent or the IVR is answered after a one-line call."""
    joined = ticket.outage_id in {told.pk, told.merged_into_id}
    return {
        "number": order.number,
        "outage": ticket.outage_id,
        "told_outage": told.pk,
        "joined": joined,
        "call_count": order.call_count,
    }
