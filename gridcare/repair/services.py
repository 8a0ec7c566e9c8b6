"""Every write of the repair flow: open a ticket for a repair call, group it into a probable outage,
send, receive, assign to a vehicle's queue, accept or decline, depart, arrive, record the fault,
restore power — each stamping its A–H point from the real event, with an audit event, atomically.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Max, Q
from django.utils import timezone

from gridcare.core.audit import record_event
from gridcare.core.errors import Conflict, ServiceError
from gridcare.org.models import OrgUnit, User
from gridcare.repair import grouping
from gridcare.repair.models import (
    AreaTarget,
    AssignmentState,
    OutageLevel,
    OutageState,
    ProbableOutage,
    RepairTicket,
    TicketState,
    Vehicle,
    VehicleAssignment,
    VehicleStatus,
)

Actor = User | str | None
RULE = grouping.Rule()
ACTIVE = [AssignmentState.QUEUED, AssignmentState.RECEIVED, AssignmentState.ACCEPTED]


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or timezone.now()


def _name(actor: Actor) -> str:
    if isinstance(actor, User):
        return actor.get_full_name() or actor.username
    return actor or "系统"


def _targets(area_class: str) -> AreaTarget:
    target = (
        AreaTarget.objects.filter(area_class=area_class).first()
        or AreaTarget.objects.filter(area_class="urban").first()
    )
    return target or AreaTarget(area_class=area_class, arrive_minutes=45, restore_minutes=180)


def _stamp(
    ticket: RepairTicket,
    point: str,
    now: dt.datetime,
    actor: Actor,
    *,
    state: str | None = None,
    lat: float | None = None,
    lon: float | None = None,
    extra: dict[str, Any] | None = None,
    **fields: Any,
) -> RepairTicket:
    """Set a time point once (compare-and-swap on the version) and write its event."""
    attr = f"{point.lower()}_at"
    changes: dict[str, Any] = {attr: now, **fields}
    if state:
        changes["state"] = state
    rows = RepairTicket.objects.filter(pk=ticket.pk, version=ticket.version, **{f"{attr}__isnull": True}).update(
        version=F("version") + 1, **changes
    )
    if rows != 1:
        raise Conflict(f"抢修单 {ticket.workorder.number} 的 {point} 点已记录或已被他人更新，请刷新")
    new: dict[str, Any] = {"point": point, "at": timezone.localtime(now)}  # every point in Beijing time
    if lat is not None and lon is not None:
        new["lat"], new["lon"] = lat, lon
    record_event(actor=actor, action=f"repair.{point}", subject=ticket.workorder, at=now, new={**new, **(extra or {})})
    ticket.refresh_from_db()
    return ticket


# ---- intake and grouping ------------------------------------------------------------------------


def call_ended_check(call_ended_at: dt.datetime, now: dt.datetime) -> None:
    """A (the call's end) must lie shortly before acceptance: it is where the clock starts for everyone after
    it, and a call "ended" days ago would charge the shift lead with days of lost minutes."""
    if call_ended_at > now + dt.timedelta(minutes=1):
        raise ServiceError("挂机时间不能晚于当前时间", field="call_ended_at")
    max_age = settings.GRIDCARE_REPAIR_MAX_CALL_AGE_MINUTES
    if call_ended_at < now - dt.timedelta(minutes=max_age):
        raise ServiceError(f"挂机时间早于受理时间 {max_age} 分钟以上，请核对（call_ended_at）", field="call_ended_at")


def repair_ticket_open(
    *, order: Any, actor: Actor, call_ended_at: dt.datetime | None = None, now: dt.datetime | None = None
) -> RepairTicket:
    """A repair call becomes a ticket placed in the network and in a probable outage. A is when the call ended."""
    now = _now(now)
    a_at = call_ended_at or order.accepted_at
    call_ended_check(a_at, now)
    customer = order.customer
    sp = customer.service_point if customer else None
    area = sp.transformer_area if sp else None
    with transaction.atomic():
        ticket = RepairTicket.objects.create(
            workorder=order,
            area_class=order.area_class,
            transformer_area=area,
            feeder=area.feeder if area else None,
            lat=(customer.lat if customer and customer.lat is not None else (sp.lat if sp else None)),
            lon=(customer.lon if customer and customer.lon is not None else (sp.lon if sp else None)),
            repair_center=customer.service_unit if customer and customer.service_unit.kind == "repair_center" else None,
            need="mv" if customer and customer.customer_type == "hv" else "lv",
            a_at=a_at,
        )
        record_event(actor=actor, action="repair.A", subject=order, at=now, new={"point": "A", "at": a_at})
        outage, _joined = _attach(ticket, a_at)
        if outage.tickets.filter(is_main=True).exclude(pk=ticket.pk).exists():
            main = outage.tickets.get(is_main=True)
            from gridcare.workorders.models import WorkOrder

            WorkOrder.objects.filter(pk=order.pk).update(main=main.workorder)
            if order.repeat_of_id != main.workorder_id:  # a repeat call already counted itself
                WorkOrder.objects.filter(pk=main.workorder_id).update(call_count=F("call_count") + 1)
            RepairTicket.objects.filter(pk=ticket.pk).update(state=TicketState.CHILD)
            record_event(
                actor=actor,
                action="repair.child",
                subject=order,
                at=now,
                new={"main": main.workorder.number, "outage": outage.pk},
            )
            if outage.notice_outage_id and customer is not None:
                _notice_add_caller(outage, customer, actor, now)
        else:
            RepairTicket.objects.filter(pk=ticket.pk).update(is_main=True)
        ticket.refresh_from_db()
        return ticket


def _attach(ticket: RepairTicket, at: dt.datetime) -> tuple[ProbableOutage, bool]:
    """The online grouping rule (see repair.grouping): join a live outage of the feeder or 台区, or open one."""
    area, feeder = ticket.transformer_area, ticket.feeder
    window_start = at - RULE.window
    live = ProbableOutage.objects.select_for_update().filter(
        state__in=[OutageState.OPEN, OutageState.ASSIGNED], last_call_at__gte=window_start
    )
    outage = None
    if feeder is not None:
        outage = live.filter(level=OutageLevel.FEEDER, feeder=feeder).first()
    if outage is None and area is not None:
        outage = live.filter(transformer_area=area).exclude(level=OutageLevel.FEEDER).first()
    joined = outage is not None
    if outage is None:
        outage = ProbableOutage.objects.create(
            level=OutageLevel.SERVICE_POINT, transformer_area=area, feeder=feeder, first_call_at=at, last_call_at=at
        )
    ProbableOutage.objects.filter(pk=outage.pk).update(call_count=F("call_count") + 1, last_call_at=at)
    outage.refresh_from_db()
    if outage.level == OutageLevel.SERVICE_POINT and outage.call_count >= 2:
        ProbableOutage.objects.filter(pk=outage.pk).update(level=OutageLevel.TRANSFORMER_AREA)
        outage.level = OutageLevel.TRANSFORMER_AREA
    RepairTicket.objects.filter(pk=ticket.pk).update(outage=outage)
    ticket.outage = outage
    if feeder is not None and outage.level != OutageLevel.FEEDER:
        outage = _maybe_roll_up(feeder, at, outage)
    return outage, joined


def _maybe_roll_up(feeder: Any, at: dt.datetime, current: ProbableOutage) -> ProbableOutage:
    live = list(
        ProbableOutage.objects.select_for_update()
        .filter(
            state__in=[OutageState.OPEN, OutageState.ASSIGNED],
            feeder=feeder,
            last_call_at__gte=at - RULE.window,
            transformer_area__isnull=False,
        )
        .exclude(level=OutageLevel.FEEDER)
    )
    areas_on_feeder = feeder.areas.count()
    # Only device outages (台区 with two calls or more) count: single calls are sprinkled everywhere in a storm.
    devices = {o.transformer_area_id for o in live if o.level == OutageLevel.TRANSFORMER_AREA}
    if len(devices) < RULE.feeder_threshold(areas_on_feeder):
        return current
    # Several 台区 of one feeder are dark at once: it is the feeder. One main ticket for all calls.
    rolled = ProbableOutage.objects.create(
        level=OutageLevel.FEEDER,
        feeder=feeder,
        first_call_at=min(o.first_call_at for o in live),
        last_call_at=at,
        call_count=sum(o.call_count for o in live),
        state=OutageState.ASSIGNED if any(o.state == OutageState.ASSIGNED for o in live) else OutageState.OPEN,
    )
    tickets = RepairTicket.objects.filter(outage__in=live)
    mains = list(tickets.filter(is_main=True).order_by("a_at", "id"))
    keep = next((t for t in mains if t.d_at is not None), mains[0] if mains else None)
    tickets.update(outage=rolled)
    if keep is not None:
        from gridcare.workorders.models import WorkOrder

        others = [t for t in mains if t.pk != keep.pk]
        RepairTicket.objects.filter(pk__in=[t.pk for t in others]).update(is_main=False, state=TicketState.CHILD)
        for t in others:
            VehicleAssignment.objects.filter(ticket=t, state__in=ACTIVE).update(
                state=AssignmentState.RECALLED, closed_at=at, reason="并入线路故障"
            )
        WorkOrder.objects.filter(repair__outage=rolled).exclude(pk=keep.workorder_id).update(main=keep.workorder)
    ProbableOutage.objects.filter(pk__in=[o.pk for o in live]).update(state=OutageState.MERGED, merged_into=rolled)
    record_event(
        actor=None,
        action="outage.roll_up",
        subject_type="repair.probableoutage",
        subject_id=str(rolled.pk),
        subject_label=str(rolled),
        at=at,
        new={"feeder": feeder.code, "areas": sorted({o.transformer_area_id for o in live}), "calls": rolled.call_count},
    )
    return rolled


# ---- the A–H flow -----------------------------------------------------------------------------------


def _ticket(order_or_ticket: Any) -> RepairTicket:
    if isinstance(order_or_ticket, RepairTicket):
        return RepairTicket.objects.select_related("workorder", "outage").get(pk=order_or_ticket.pk)
    return RepairTicket.objects.select_related("workorder", "outage").get(workorder=order_or_ticket)


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
    from gridcare.workorders import services as wo

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


def _assignment(assignment: VehicleAssignment) -> VehicleAssignment:
    return VehicleAssignment.objects.select_related("ticket", "ticket__workorder", "vehicle", "vehicle__crew").get(
        pk=assignment.pk
    )


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
    from gridcare.workorders import services as wo

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
    return _point(ticket, "H", TicketState.ARRIVED, actor, _now(now), lat, lon)


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
    from gridcare.workorders import services as wo
    from gridcare.workorders.models import Status

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
    from gridcare.workorders import services as wo

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


def outage_set_etr(
    *, outage: ProbableOutage, etr: dt.datetime | None, reason: str, actor: Actor, now: dt.datetime | None = None
) -> ProbableOutage:
    """A new estimated restoration time. It may only move later, with a reason; None = not yet assessed."""
    now = _now(now)
    with transaction.atomic():
        outage = ProbableOutage.objects.select_for_update().get(pk=outage.pk)
        if etr is not None and etr <= now - dt.timedelta(minutes=1):
            raise ServiceError("预计恢复时间不能早于现在", field="etr")
        if outage.etr is not None and (etr is None or etr < outage.etr):
            raise ServiceError("预计恢复时间只能推后（或保持），不能提前或撤销", field="etr")
        if outage.etr is not None and not reason.strip():
            raise ServiceError("修改预计恢复时间须说明原因", field="reason")
        old = outage.etr
        outage.etr, outage.etr_updated_at, outage.etr_reason = etr, now, reason[:200]
        outage.save(update_fields=["etr", "etr_updated_at", "etr_reason"])
        record_event(
            actor=actor,
            action="outage.etr",
            subject_type="repair.probableoutage",
            subject_id=str(outage.pk),
            subject_label=str(outage),
            at=now,
            old={"etr": old},
            new={"etr": etr},
            note=reason,
        )
        if outage.notice_outage_id and etr is not None:
            _notice_etr(outage, etr, reason or "研判后首次给出", actor, now)
        return outage


def outage_publish(
    *, outage: ProbableOutage, cause: str, actor: Actor, now: dt.datetime | None = None
) -> ProbableOutage:
    """Publish the probable outage as fault outage information (notices), telling affected customers."""
    now = _now(now)
    from gridcare.notices import services as notices

    with transaction.atomic():
        outage = ProbableOutage.objects.select_for_update().get(pk=outage.pk)
        if outage.notice_outage_id:
            raise Conflict("该故障已发布停电信息")
        callers = [
            t.workorder.customer for t in outage.tickets.select_related("workorder__customer") if t.workorder.customer
        ]
        area = outage.transformer_area
        unit = area.unit if area else outage.feeder.unit if outage.feeder else None
        if unit is None:
            raise ServiceError("无法确定故障所在的电网位置", field="outage")
        published = notices.outage_publish_fault(
            unit=unit,
            title=f"故障停电：{outage.feeder or area}",
            cause=cause,
            started_at=outage.first_call_at,
            etr=outage.etr,
            actor=actor,
            feeders=[outage.feeder] if outage.feeder and outage.level == OutageLevel.FEEDER else [],
            areas=[area] if area and outage.level != OutageLevel.FEEDER else [],
            callers=callers,
            source_ref=f"repair-outage-{outage.pk}",
            now=now,
        )
        outage.notice_outage_id, outage.cause = published.pk, cause[:200]
        outage.save(update_fields=["notice_outage_id", "cause"])
        return outage


def _with_notice_outage(outage: ProbableOutage, act: Callable[[Any], object]) -> None:
    """Pass the published fault outage (notices) of a probable outage to `act`, when there is one."""
    from gridcare.notices.models import Outage

    if outage.notice_outage_id is None:
        return
    target = Outage.objects.filter(pk=outage.notice_outage_id).first()
    if target is not None:
        act(target)


def _notice_add_caller(outage: ProbableOutage, customer: Any, actor: Actor, now: dt.datetime) -> None:
    from gridcare.notices import services as notices

    _with_notice_outage(
        outage, lambda o: notices.outage_add_callers(outage=o, callers=[customer], actor=actor, now=now)
    )


def _notice_etr(outage: ProbableOutage, etr: dt.datetime, reason: str, actor: Actor, now: dt.datetime) -> None:
    from gridcare.notices import services as notices

    _with_notice_outage(
        outage, lambda o: notices.outage_update_etr(outage=o, etr=etr, reason=reason, actor=actor, now=now)
    )


def _notice_restore(outage: ProbableOutage, actor: Actor, now: dt.datetime) -> None:
    from gridcare.notices import services as notices

    _with_notice_outage(outage, lambda o: notices.outage_restore(outage=o, restored_at=now, actor=actor, now=now))


# ---- vehicles -------------------------------------------------------------------------------------


def _refresh_vehicle(vehicle: Vehicle) -> str:
    """Vehicle status derived from its queue: on site, en route, assigned, idle (or off duty)."""
    vehicle.refresh_from_db(fields=["off_duty"])
    active = VehicleAssignment.objects.filter(vehicle=vehicle, state__in=ACTIVE).select_related("ticket")
    tickets = [a.ticket for a in active]
    if vehicle.off_duty and not tickets:
        status = VehicleStatus.OFF_DUTY
    elif any(t.h_at and not t.restored_at for t in tickets):
        status = VehicleStatus.ON_SITE
    elif any(t.g_at and not t.h_at for t in tickets):
        status = VehicleStatus.EN_ROUTE
    elif tickets:
        status = VehicleStatus.ASSIGNED
    else:
        status = VehicleStatus.IDLE
    Vehicle.objects.filter(pk=vehicle.pk).exclude(status=status).update(status=status)
    return status


def vehicle_set_duty(*, vehicle: Vehicle, on_duty: bool, actor: Actor) -> Vehicle:
    with transaction.atomic():
        Vehicle.objects.filter(pk=vehicle.pk).update(off_duty=not on_duty)
        record_event(actor=actor, action="vehicle.duty", subject=vehicle, new={"on_duty": on_duty})
        _refresh_vehicle(vehicle)
        vehicle.refresh_from_db()
        return vehicle


def open_tickets_q() -> Q:
    return Q(is_main=True) & ~Q(state__in=[TicketState.RESTORED, TicketState.CANCELLED, TicketState.CHILD])
