"""B–F: sent by the 95598 shift lead, received by the repair centre, queued on a vehicle, accepted by the crew;
and the ways back: decline, recall, transfer, cancel."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import F, Max

from gridcare.core.audit import record_event
from gridcare.core.errors import Conflict, ServiceError
from gridcare.org.models import OrgUnit
from gridcare.repair.models import (
    AssignmentState,
    OutageState,
    ProbableOutage,
    RepairTicket,
    TicketState,
    Vehicle,
    VehicleAssignment,
)
from gridcare.repair.services._base import ACTIVE, Actor, _assignment, _name, _now, _stamp, _targets, _ticket
from gridcare.repair.services.vehicles import _refresh_vehicle
from gridcare.workorders import services as wo


def repair_send(*, order: Any, unit: OrgUnit, actor: Actor, now: dt.datetime | None = None) -> RepairTicket | None:
    """B: the 95598 shift lead sends the order to a repair centre (called by workorder_dispatch)."""
    now = _now(now)
    ticket = RepairTicket.objects.select_related("workorder").filter(workorder=order).first()
    if ticket is None or ticket.state == TicketState.CHILD:
        return ticket
    accept = _targets(ticket.area_class).accept_minutes
    with transaction.atomic():
        if ticket.b_at is not None:  # re-sent after a recall: B and C start again
            RepairTicket.objects.filter(pk=ticket.pk).update(b_at=None, c_at=None, version=F("version") + 1)
            ticket.refresh_from_db()
        return _stamp(
            ticket,
            "B",
            now,
            actor,
            state=TicketState.SENT,
            b_by=_name(actor),
            repair_center=unit,
            waiting_on="repair_center",
            alert_level=0,
            next_check_at=now + dt.timedelta(minutes=accept),
            extra={"unit": unit.name},
        )


def repair_transfer(*, order: Any, unit: OrgUnit, actor: Actor, now: dt.datetime | None = None) -> None:
    """The order moves to another repair centre (转派): the ticket follows it, a vehicle of the old centre that
    holds it gets it recalled, and the new centre dispatches it afresh (D and E start again). C, the first
    receipt by a repair centre, stays: the minutes until the new centre sends a vehicle count in CD."""
    now = _now(now)
    ticket = RepairTicket.objects.filter(workorder=order).first()
    if ticket is None or ticket.state in (TicketState.CHILD, TicketState.RESTORED, TicketState.CANCELLED):
        return
    if ticket.f_at is not None:
        raise Conflict("班组已接单，不能转派；请先撤回车辆")
    held = _recall_assignments(ticket, now, f"转派至{unit.name}")
    for a in held:
        _refresh_vehicle(a.vehicle)
    accept = _targets(ticket.area_class).accept_minutes
    RepairTicket.objects.filter(pk=ticket.pk).update(
        repair_center=unit,
        d_at=None,
        e_at=None,
        d_by="",
        vehicle=None,
        crew=None,
        state=TicketState.RECEIVED if ticket.c_at else TicketState.SENT,
        waiting_on="repair_center",
        alert_level=0,
        next_check_at=now + dt.timedelta(minutes=accept),
        version=F("version") + 1,
    )
    record_event(
        actor=actor,
        action="repair.transfer",
        subject=order,
        at=now,
        new={"repair_center": unit.name, "recalled": [a.vehicle.plate for a in held]},
    )


def repair_receive(*, ticket: RepairTicket, actor: Actor, now: dt.datetime | None = None) -> RepairTicket:
    """C: the repair centre's system acknowledged delivery (its dispatcher screen or API fetched the order)."""
    now = _now(now)
    with transaction.atomic():
        ticket = _ticket(ticket)
        if ticket.b_at is None:
            raise Conflict("该抢修单尚未由 95598 派发")
        if ticket.c_at is not None:
            return ticket
        return _stamp(ticket, "C", now, actor, state=TicketState.RECEIVED)


def repair_assign(
    *, ticket: RepairTicket, vehicle: Vehicle, actor: Actor, now: dt.datetime | None = None
) -> VehicleAssignment:
    """D: the repair centre sends the order to a vehicle; it joins the end of that vehicle's queue."""
    now = _now(now)
    with transaction.atomic():
        ticket = _ticket(ticket)
        if not ticket.is_main:
            raise ServiceError("子单随主单处理，请派发主单", field="ticket")
        if ticket.b_at is None:
            raise Conflict("该抢修单尚未由 95598 派发至报修中心")
        if ticket.f_at is not None:
            raise Conflict("班组已接单；如需改派请先撤回")
        if vehicle.off_duty:
            raise ServiceError(f"车辆 {vehicle} 已下班", field="vehicle")
        if VehicleAssignment.objects.filter(ticket=ticket, state__in=ACTIVE).exists():
            raise Conflict("该抢修单已在车辆队列中；改派请先撤回")
        if ticket.c_at is None:
            ticket = _stamp(ticket, "C", now, actor, state=TicketState.RECEIVED)
        last = VehicleAssignment.objects.filter(vehicle=vehicle, state__in=ACTIVE).aggregate(p=Max("position"))["p"]
        assignment = VehicleAssignment.objects.create(
            vehicle=vehicle, ticket=ticket, sent_at=now, position=(last or 0) + 1
        )
        accept = _targets(ticket.area_class).accept_minutes
        RepairTicket.objects.filter(pk=ticket.pk).update(d_at=None, e_at=None, version=F("version") + 1)
        ticket.refresh_from_db()
        ticket = _stamp(
            ticket,
            "D",
            now,
            actor,
            state=TicketState.DISPATCHED,
            d_by=_name(actor),
            vehicle=vehicle,
            crew=vehicle.crew,
            waiting_on="crew",
            alert_level=0,
            next_check_at=now + dt.timedelta(minutes=accept),
            extra={"vehicle": vehicle.plate, "crew": vehicle.crew.name, "queue_position": assignment.position},
        )
        if ticket.outage_id:
            ProbableOutage.objects.filter(pk=ticket.outage_id).update(state=OutageState.ASSIGNED)
        order = ticket.workorder
        if order.status == "dispatched":
            wo.workorder_take(order=order, actor=actor, now=now)
        _refresh_vehicle(vehicle)
        return assignment


def repair_device_receive(
    *, assignment: VehicleAssignment, actor: Actor, now: dt.datetime | None = None
) -> VehicleAssignment:
    """E: the crew's device has the order (the crew page or app fetched it)."""
    now = _now(now)
    with transaction.atomic():
        assignment = _assignment(assignment)
        if assignment.state != AssignmentState.QUEUED:
            return assignment
        VehicleAssignment.objects.filter(pk=assignment.pk).update(state=AssignmentState.RECEIVED, received_at=now)
        ticket = assignment.ticket
        if ticket.e_at is None:
            _stamp(ticket, "E", now, actor, state=TicketState.ON_DEVICE)
        return _assignment(assignment)


def repair_accept(
    *,
    assignment: VehicleAssignment,
    actor: Actor,
    now: dt.datetime | None = None,
    lat: float | None = None,
    lon: float | None = None,
) -> VehicleAssignment:
    """F: the crew accepts; the acceptance watch ends."""
    now = _now(now)
    with transaction.atomic():
        assignment = _assignment(assignment)
        if assignment.state not in (AssignmentState.QUEUED, AssignmentState.RECEIVED):
            raise Conflict(f"任务状态为「{assignment.get_state_display()}」，不能接单")
        if assignment.state == AssignmentState.QUEUED:
            repair_device_receive(assignment=assignment, actor=actor, now=now)
        VehicleAssignment.objects.filter(pk=assignment.pk).update(state=AssignmentState.ACCEPTED, accepted_at=now)
        ticket = _ticket(assignment.ticket)
        _stamp(
            ticket,
            "F",
            now,
            actor,
            state=TicketState.ACCEPTED,
            f_by=_name(actor),
            waiting_on="",
            next_check_at=None,
            lat=lat,
            lon=lon,
        )
        order = ticket.workorder
        if order.status == "taken":
            wo.workorder_start(order=order, actor=actor, now=now)
        _refresh_vehicle(assignment.vehicle)
        return _assignment(assignment)


def repair_decline(
    *, assignment: VehicleAssignment, actor: Actor, reason: str, now: dt.datetime | None = None
) -> VehicleAssignment:
    """The crew cannot leave at once: the order goes back to the dispatcher to pick another vehicle."""
    now = _now(now)
    if not reason.strip():
        raise ServiceError("请说明不能出发的原因", field="reason")
    with transaction.atomic():
        assignment = _assignment(assignment)
        if assignment.state not in (AssignmentState.QUEUED, AssignmentState.RECEIVED):
            raise Conflict(f"任务状态为「{assignment.get_state_display()}」，不能拒单")
        VehicleAssignment.objects.filter(pk=assignment.pk).update(
            state=AssignmentState.DECLINED, closed_at=now, reason=reason[:200]
        )
        ticket = assignment.ticket
        RepairTicket.objects.filter(pk=ticket.pk).update(
            state=TicketState.RECEIVED, vehicle=None, crew=None, waiting_on="", next_check_at=None
        )
        lost = round((now - assignment.sent_at).total_seconds() / 60, 1)
        record_event(
            actor=actor,
            action="repair.decline",
            subject=ticket.workorder,
            at=now,
            note=reason,
            new={"vehicle": assignment.vehicle.plate, "crew": assignment.vehicle.crew.name, "minutes_lost": lost},
        )
        _refresh_vehicle(assignment.vehicle)
        return _assignment(assignment)


def _recall_assignments(ticket: RepairTicket, now: dt.datetime, reason: str) -> list[VehicleAssignment]:
    """Take the ticket out of every vehicle queue that still holds it; returns the assignments recalled."""
    held = list(VehicleAssignment.objects.select_related("vehicle").filter(ticket=ticket, state__in=ACTIVE))
    VehicleAssignment.objects.filter(pk__in=[a.pk for a in held]).update(
        state=AssignmentState.RECALLED, closed_at=now, reason=reason[:200]
    )
    return held


def repair_recall(*, ticket: RepairTicket, actor: Actor, reason: str, now: dt.datetime | None = None) -> RepairTicket:
    """Recall an order sent to the wrong crew at once — the copy on the vehicle goes too."""
    now = _now(now)
    with transaction.atomic():
        ticket = _ticket(ticket)
        if ticket.g_at is not None:
            raise Conflict("车辆已出发，不能撤回")
        active = _recall_assignments(ticket, now, reason)
        RepairTicket.objects.filter(pk=ticket.pk).update(
            state=TicketState.RECEIVED if ticket.c_at else TicketState.SENT,
            vehicle=None,
            crew=None,
            d_at=None,
            e_at=None,
            f_at=None,
            f_by="",
            waiting_on="",
            next_check_at=None,
            version=F("version") + 1,
        )
        record_event(
            actor=actor,
            action="repair.recall",
            subject=ticket.workorder,
            at=now,
            note=reason,
            new={"vehicles": [a.vehicle.plate for a in active]},
        )
        for a in active:
            _refresh_vehicle(a.vehicle)
        return _ticket(ticket)


def repair_recalled_from_center(*, order: Any, actor: Actor, now: dt.datetime | None = None) -> None:
    """The 95598 centre recalled the order from a repair centre (wrong unit): everything downstream goes."""
    ticket = RepairTicket.objects.filter(workorder=order).first()
    if ticket is None:
        return
    repair_recall(ticket=ticket, actor=actor, reason="95598 撤回（派错单位）", now=now)
    RepairTicket.objects.filter(pk=ticket.pk).update(
        b_at=None, c_at=None, b_by="", repair_center=None, state=TicketState.NEW, version=F("version") + 1
    )


def repair_ticket_close(*, order: Any, actor: Actor, reason: str, now: dt.datetime | None = None) -> None:
    """The call was cancelled, or answered without sending anyone: its ticket leaves the dispatch lists, a
    vehicle it was sent to gets it recalled, and a probable outage made by this call alone is closed, so that
    neighbours are no longer told of it and later calls do not join it."""
    now = _now(now)
    ticket = RepairTicket.objects.select_related("outage").filter(workorder=order).first()
    if ticket is None or ticket.state in (TicketState.RESTORED, TicketState.CANCELLED):
        return
    others = (
        RepairTicket.objects.filter(outage_id=ticket.outage_id)
        .exclude(pk=ticket.pk)
        .exclude(state__in=[TicketState.CANCELLED, TicketState.RESTORED])
        if ticket.outage_id
        else RepairTicket.objects.none()
    )
    if ticket.is_main and others.exists():
        raise Conflict(f"该故障还有 {others.count()} 个其他来电在等待抢修，不能撤销其主单；请先处理或取消合并这些来电")
    RepairTicket.objects.filter(pk=ticket.pk).update(state=TicketState.CANCELLED, waiting_on="", next_check_at=None)
    held = _recall_assignments(ticket, now, reason)
    for a in held:
        _refresh_vehicle(a.vehicle)
    outage = ticket.outage
    if outage is not None and not others.exists() and not outage.notice_outage_id:
        ProbableOutage.objects.filter(pk=outage.pk, state__in=[OutageState.OPEN, OutageState.ASSIGNED]).update(
            state=OutageState.CANCELLED
        )
    record_event(
        actor=actor,
        action="repair.cancel",
        subject=order,
        at=now,
        note=reason,
        new={"recalled": [a.vehicle.plate for a in held]},
    )


def repair_queue_reorder(*, vehicle: Vehicle, ticket_ids: list[int], actor: Actor) -> list[VehicleAssignment]:
    """The dispatcher re-prioritises a vehicle's queue; the crew sees the new order."""
    with transaction.atomic():
        queue = {
            a.ticket_id: a
            for a in VehicleAssignment.objects.select_for_update().filter(vehicle=vehicle, state__in=ACTIVE)
        }
        if sorted(queue) != sorted(ticket_ids):
            raise ServiceError("新顺序须恰好包含该车辆队列中的全部抢修单", field="ticket_ids")
        for pos, tid in enumerate(ticket_ids, start=1):
            VehicleAssignment.objects.filter(pk=queue[tid].pk).update(position=pos)
        record_event(actor=actor, action="repair.reorder", subject=vehicle, new={"tickets": ticket_ids})
        return list(VehicleAssignment.objects.filter(vehicle=vehicle, state__in=ACTIVE).order_by("position"))
