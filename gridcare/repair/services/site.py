"""G–H and after: the crew departs, arrives, records the fault, repairs and restores power; callers are called back."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from gridcare.core.audit import record_event
from gridcare.core.errors import Conflict, ServiceError
from gridcare.repair.models import (
    AssignmentState,
    OutageState,
    ProbableOutage,
    RepairTicket,
    TicketState,
    VehicleAssignment,
)
from gridcare.repair.services._base import ACTIVE, Actor, _now, _stamp, _ticket
from gridcare.repair.services.outages import _notice_restore
from gridcare.repair.services.vehicles import _refresh_vehicle
from gridcare.workorders import services as wo
from gridcare.workorders.models import Milestone, Status


def _point(
    ticket: RepairTicket, point: str, state: str, actor: Actor, now: dt.datetime, lat: float | None, lon: float | None
) -> RepairTicket:
    with transaction.atomic():
        ticket = _ticket(ticket)
        before = {"G": "f_at", "H": "g_at"}[point]
        if getattr(ticket, before) is None:
            raise Conflict({"G": "请先接单", "H": "请先点“出发”"}[point])
        ticket = _stamp(ticket, point, now, actor, state=state, lat=lat, lon=lon)
        if ticket.vehicle:
            _refresh_vehicle(ticket.vehicle)
        return ticket


def repair_depart(
    *,
    ticket: RepairTicket,
    actor: Actor,
    now: dt.datetime | None = None,
    lat: float | None = None,
    lon: float | None = None,
) -> RepairTicket:
    return _point(ticket, "G", TicketState.DEPARTED, actor, _now(now), lat, lon)


def repair_arrive(
    *,
    ticket: RepairTicket,
    actor: Actor,
    now: dt.datetime | None = None,
    lat: float | None = None,
    lon: float | None = None,
) -> RepairTicket:
    now = _now(now)
    with transaction.atomic():
        ticket = _point(ticket, "H", TicketState.ARRIVED, actor, now, lat, lon)
        # H is the order's 到达现场 milestone: its deadline (and its followers') stops here.
        wo.workorder_milestone_met(order=ticket.workorder, milestone=Milestone.ARRIVE, now=now)
        return ticket


def repair_fault_record(
    *,
    ticket: RepairTicket,
    actor: Actor,
    fault_class: str,
    cause_class: str,
    equipment: str = "",
    ownership: str = "",
    notes: str = "",
) -> RepairTicket:
    """The crew writes the fault record back itself (故障大类/原因分类/设备/产权)."""
    if not fault_class.strip() or not cause_class.strip():
        missing = "fault_class" if not fault_class.strip() else "cause_class"
        raise ServiceError("请填写故障大类和原因分类", field=missing)
    if ownership not in ("", "utility", "customer"):
        raise ServiceError("设备产权须为 utility（供电公司）或 customer（客户）", field="ownership")
    with transaction.atomic():
        ticket = _ticket(ticket)
        RepairTicket.objects.filter(pk=ticket.pk).update(
            fault_class=fault_class[:50],
            cause_class=cause_class[:50],
            equipment=equipment[:100],
            ownership=ownership,
            fault_notes=notes,
        )
        record_event(
            actor=actor,
            action="repair.fault_record",
            subject=ticket.workorder,
            new={
                "fault_class": fault_class,
                "cause_class": cause_class,
                "equipment": equipment,
                "ownership": ownership,
            },
        )
        return _ticket(ticket)


def repair_done(
    *,
    ticket: RepairTicket,
    actor: Actor,
    now: dt.datetime | None = None,
    lat: float | None = None,
    lon: float | None = None,
) -> RepairTicket:
    now = _now(now)
    with transaction.atomic():
        ticket = _ticket(ticket)
        if ticket.h_at is None:
            raise Conflict("请先点“到达”")
        if not ticket.fault_class:
            raise ServiceError("请先填写故障记录", field="fault_class")
        rows = RepairTicket.objects.filter(pk=ticket.pk, repaired_at__isnull=True).update(
            repaired_at=now, state=TicketState.REPAIRED
        )
        if rows != 1:
            raise Conflict("已记录修复")
        record_event(
            actor=actor,
            action="repair.repaired",
            subject=ticket.workorder,
            at=now,
            new={"lat": lat, "lon": lon} if lat is not None else {},
        )
        return _ticket(ticket)


def repair_restore(*, ticket: RepairTicket, actor: Actor, now: dt.datetime | None = None) -> RepairTicket:
    """Power is back: every call of the outage is answered, callers are told, and each gets a return visit."""
    now = _now(now)

    with transaction.atomic():
        ticket = _ticket(ticket)
        if ticket.repaired_at is None:
            raise Conflict("请先记录修复")
        # Compare-and-set: of two presses (or two crew phones) one restores, the other is told it is done.
        rows = RepairTicket.objects.filter(pk=ticket.pk, restored_at__isnull=True).update(
            restored_at=now, state=TicketState.RESTORED
        )
        if rows != 1:
            raise Conflict("已恢复送电（复电已记录）")
        record_event(actor=actor, action="repair.restored", subject=ticket.workorder, at=now)
        VehicleAssignment.objects.filter(ticket=ticket, state__in=ACTIVE).update(
            state=AssignmentState.DONE, closed_at=now
        )
        if ticket.vehicle:
            _refresh_vehicle(ticket.vehicle)
        reply = f"故障已修复并恢复送电。故障：{ticket.fault_class}；原因：{ticket.cause_class}。"
        tickets = [ticket]
        outage = ticket.outage
        if outage is not None:
            ProbableOutage.objects.filter(pk=outage.pk).update(state=OutageState.RESTORED, restored_at=now)
            tickets = list(RepairTicket.objects.select_related("workorder").filter(outage=outage))
            RepairTicket.objects.filter(outage=outage, restored_at__isnull=True).update(
                restored_at=now, state=TicketState.RESTORED
            )
            if outage.notice_outage_id:
                _notice_restore(outage, actor, now)
        for t in tickets:  # 恢复送电 for every call of the fault, then each is answered
            wo.workorder_milestone_met(order=t.workorder, milestone=Milestone.RESTORE, now=now)
        for t in tickets:
            order = t.workorder
            order.refresh_from_db()
            if order.status in (Status.ACCEPTED, Status.TAKEN, Status.IN_PROGRESS, Status.DISPATCHED):
                if order.status == Status.DISPATCHED:
                    order = wo.workorder_take(order=order, actor=actor, now=now)
                wo.workorder_reply(order=order, actor=actor, text=reply, now=now)
        return _ticket(ticket)


def repair_callback(
    *, ticket: RepairTicket, power_on: bool, actor: Actor, note: str = "", now: dt.datetime | None = None
) -> RepairTicket | None:
    """After restoration the caller is called back; a caller still without power reopens the analysis
    for their own point (a new service-point outage and repair ticket)."""
    now = _now(now)
    with transaction.atomic():
        ticket = _ticket(ticket)
        record_event(
            actor=actor,
            action="repair.callback",
            subject=ticket.workorder,
            at=now,
            new={"power_on": power_on},
            note=note,
        )
        if power_on:
            return None
        order = ticket.workorder
        new_order = wo.workorder_create(
            actor=actor,
            channel=order.channel,
            category=order.category,
            customer=order.customer,
            caller_name=order.caller_name,
            caller_phone=order.caller_phone,
            description=f"回访时客户仍无电（原工单 {order.number}）。{note}".strip(),
            now=now,
            dispatch=False,
        )
        reopened = RepairTicket.objects.get(workorder=new_order)
        if reopened.outage_id and ticket.outage_id:
            ProbableOutage.objects.filter(pk=reopened.outage_id).update(reopened_from_id=ticket.outage_id)
        return reopened
