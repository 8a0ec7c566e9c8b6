"""The lifecycle of an order after intake: dispatch, transfer, recall, take, reply, archive, suspend, cancel."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import F

from gridcare.core.audit import record_event
from gridcare.core.errors import Conflict, ServiceError
from gridcare.org.models import OrgUnit, User
from gridcare.workorders import sla
from gridcare.workorders.kinds import handler_for
from gridcare.workorders.models import (
    Deadline,
    DeadlineState,
    Milestone,
    ReturnVisit,
    Status,
    WorkOrder,
)
from gridcare.workorders.services._base import Actor, _actor_unit, _fresh, _now, _transition
from gridcare.workorders.services.deadlines import (
    _make_deadline,
    _meet,
    _pause_deadlines,
    _resume_deadlines,
    _targets,
)
from gridcare.workorders.services.routing import route
from gridcare.workorders.states import InvalidTransition


def workorder_dispatch(
    *, order: WorkOrder, actor: Actor, unit: OrgUnit | None = None, now: dt.datetime | None = None
) -> WorkOrder:
    now = _now(now)
    with transaction.atomic():
        order = _fresh(order)
        unit = unit or route(category=order.category, customer=order.customer, area_class=order.area_class)
        if unit is None:
            raise ServiceError("没有匹配的派单规则，请选择处理单位", field="unit")
        sender = _actor_unit(actor) or order.sender_unit
        order = _transition(order, "dispatch", actor, now, unit=unit, sender_unit=sender, handler=None)
        handler_for(order.category).on_dispatched(order, unit=unit, actor=actor, now=now)
        return order


def workorder_transfer(
    *, order: WorkOrder, actor: Actor, unit: OrgUnit, reason: str, now: dt.datetime | None = None
) -> WorkOrder:
    now = _now(now)
    if not reason.strip():
        raise ServiceError("转派须说明原因", field="reason")
    with transaction.atomic():
        order = _fresh(order)
        if unit.pk == order.unit_id:
            raise ServiceError("工单已在该单位", field="unit")
        handler_for(order.category).on_transferring(order, unit=unit, actor=actor, now=now)
        return _transition(order, "transfer", actor, now, note=reason, unit=unit, sender_unit=order.unit, handler=None)


def workorder_recall(*, order: WorkOrder, actor: Actor, reason: str, now: dt.datetime | None = None) -> WorkOrder:
    """The sender takes back an order sent to the wrong unit, at once."""
    now = _now(now)
    with transaction.atomic():
        order = _fresh(order)
        back_to = order.sender_unit
        order = _transition(order, "recall", actor, now, note=reason or "派错单位，撤回", unit=back_to, handler=None)
        handler_for(order.category).on_recalled(order, actor=actor, now=now)
        return order


def workorder_return(*, order: WorkOrder, actor: Actor, reason: str, now: dt.datetime | None = None) -> WorkOrder:
    """退单: the unit sends the order back to whoever sent it, with a reason."""
    now = _now(now)
    if not reason.strip():
        raise ServiceError("退单须说明原因", field="reason")
    with transaction.atomic():
        order = _fresh(order)
        return _transition(order, "return", actor, now, note=reason, unit=order.sender_unit, handler=None)


def workorder_take(*, order: WorkOrder, actor: Actor, now: dt.datetime | None = None) -> WorkOrder:
    now = _now(now)
    with transaction.atomic():
        order = _fresh(order)
        return _transition(order, "take", actor, now, handler=actor if isinstance(actor, User) else None)


def workorder_start(*, order: WorkOrder, actor: Actor, now: dt.datetime | None = None) -> WorkOrder:
    now = _now(now)
    with transaction.atomic():
        return _transition(_fresh(order), "start", actor, now)


def workorder_contact(*, order: WorkOrder, actor: Actor, note: str = "", now: dt.datetime | None = None) -> WorkOrder:
    """The handler has spoken to the customer: meets the contact deadline (complaints: 1 working day)."""
    now = _now(now)
    with transaction.atomic():
        order = _transition(_fresh(order), "contact", actor, now, note=note)
        _meet(order, [Milestone.CONTACT], now)
        return order


def workorder_reply(*, order: WorkOrder, actor: Actor, text: str, now: dt.datetime | None = None) -> WorkOrder:
    now = _now(now)
    if not text.strip():
        raise ServiceError("请填写答复内容", field="text")
    with transaction.atomic():
        order = _fresh(order)
        # Repair calls grouped under one outage are answered together when power is back.
        if order.status == Status.ACCEPTED and not (
            order.category.answerable_at_intake or handler_for(order.category).reply_while_accepted
        ):
            raise InvalidTransition("reply", order.status)
        if order.category.is_application and order.steps.filter(done_at__isnull=True).exists():
            raise ServiceError("业务环节尚未全部完成，不能答复办结", field="text")
        order = _transition(order, "reply", actor, now, reply_text=text.strip(), replied_at=now)
        _meet(order, [Milestone.CONTACT, Milestone.REPLY, Milestone.COMPLETE], now)
        # An answered order has no clock left to run: a milestone it will now never reach (a crew's arrival at a
        # call answered without sending one) is cancelled, not left pending to be supervised as overdue.
        Deadline.objects.filter(order=order, met_at__isnull=True).exclude(state=DeadlineState.CANCELLED).update(
            state=DeadlineState.CANCELLED, next_check_at=None
        )
        handler_for(order.category).on_replied(order, actor=actor, text=text.strip(), now=now)
        if order.category.return_visit_required:
            ReturnVisit.objects.create(order=order, created_at=now)
            return _to_visit(order, actor, now)
        return _transition(order, "archive", actor, now, closed_at=now, note="无需回访，自动归档")


def _to_visit(order: WorkOrder, actor: Actor, now: dt.datetime) -> WorkOrder:
    rows = WorkOrder.objects.filter(pk=order.pk, status=Status.REPLIED, version=order.version).update(
        status=Status.RETURN_VISIT, version=F("version") + 1
    )
    if rows != 1:
        raise Conflict("工单已被他人更新，请刷新后重试")
    record_event(
        actor=actor,
        action="workorder.await_visit",
        subject=order,
        at=now,
        old={"status": Status.REPLIED},
        new={"status": Status.RETURN_VISIT},
    )
    order.refresh_from_db()
    return order


def workorder_archive(*, order: WorkOrder, actor: Actor, now: dt.datetime | None = None) -> WorkOrder:
    now = _now(now)
    with transaction.atomic():
        return _transition(_fresh(order), "archive", actor, now, closed_at=now)


def workorder_reopen(*, order: WorkOrder, actor: Actor, reason: str, now: dt.datetime | None = None) -> WorkOrder:
    """Back to the unit that handled it, with a fresh reply deadline (after an unsatisfied return visit)."""
    now = _now(now)
    with transaction.atomic():
        order = _fresh(order)
        order = _transition(order, "reopen", actor, now, note=reason, replied_at=None, closed_at=None, handler=None)
        policy = order.category.sla_policy
        target = sla.resolve_target(
            _targets(policy),
            milestone=Milestone.REPLY,
            priority=order.priority,
            area_class=order.area_class,
            supply_class=order.supply_class,
        )
        if target is not None:
            _make_deadline(
                order,
                milestone=Milestone.REPLY,
                amount=target.amount,
                unit=target.unit,
                started_at=now,
                now=now,
                policy=policy,
            ).save()
        return order


def workorder_suspend(*, order: WorkOrder, actor: Actor, reason: str, now: dt.datetime | None = None) -> WorkOrder:
    """挂起: the SLA clock stops until the order is resumed (e.g. the customer asked to wait)."""
    now = _now(now)
    if not reason.strip():
        raise ServiceError("挂起须说明原因", field="reason")
    with transaction.atomic():
        order = _fresh(order)
        order = _transition(
            order, "suspend", actor, now, note=reason, paused_at=now, pause_reason=reason, resume_status=order.status
        )
        _pause_deadlines(order)
        return order


def workorder_resume(*, order: WorkOrder, actor: Actor, now: dt.datetime | None = None) -> WorkOrder:
    now = _now(now)
    with transaction.atomic():
        order = _fresh(order)
        paused_from = order.paused_at or now
        order = _transition(
            order,
            "resume",
            actor,
            now,
            to=order.resume_status or Status.IN_PROGRESS,
            paused_at=None,
            pause_reason="",
            resume_status="",
            extra={"paused_minutes": round((now - paused_from).total_seconds() / 60, 1)},
        )
        _resume_deadlines(order, paused_from, now)
        return order


def workorder_cancel(*, order: WorkOrder, actor: Actor, reason: str, now: dt.datetime | None = None) -> WorkOrder:
    now = _now(now)
    if not reason.strip():
        raise ServiceError("撤销须说明原因", field="reason")
    with transaction.atomic():
        order = _transition(_fresh(order), "cancel", actor, now, note=reason, closed_at=now)
        Deadline.objects.filter(order=order, met_at__isnull=True).update(
            state=DeadlineState.CANCELLED, next_check_at=None
        )
        handler_for(order.category).on_cancelled(order, actor=actor, reason=reason, now=now)
        return order


def workorder_supervise(*, order: WorkOrder, actor: Actor, note: str, now: dt.datetime | None = None) -> WorkOrder:
    """督办 by hand: quality staff can supervise any open order."""
    now = _now(now)
    if not note.strip():
        raise ServiceError("请填写督办意见", field="note")
    with transaction.atomic():
        return _transition(
            _fresh(order), "supervise", actor, now, note=note, is_supervised=True, extra={"manual": True}
        )
