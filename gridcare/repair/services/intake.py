"""A repair call becomes a ticket placed in the network and in a probable outage (A = when the call ended)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F

from gridcare.core.audit import record_event
from gridcare.core.errors import ServiceError
from gridcare.grid.models import Feeder, TransformerArea
from gridcare.repair.models import (
    AssignmentState,
    OutageLevel,
    OutageState,
    ProbableOutage,
    RepairTicket,
    TicketState,
    VehicleAssignment,
)
from gridcare.repair.services._base import ACTIVE, RULE, Actor, _now
from gridcare.repair.services.outages import _notice_add_caller
from gridcare.workorders import services as wo


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
            main = outage.tickets.select_related("workorder").get(is_main=True)
            # The call follows the order already answering for the fault: counted there once, and its crew's
            # arrival and the restoration are that order's.
            wo.workorder_follow(order=order, main=main.workorder, actor=actor, note="同一故障的来电", now=now)
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
    # Calls of one feeder are grouped one at a time: the row lock on the feeder (else the 台区) is taken before
    # looking for a live outage, so of 48 simultaneous first calls one opens the outage and the others find it.
    # Locking only the outages that already exist left the first calls each opening their own (issue #13).
    if feeder is not None:
        list(Feeder.objects.select_for_update().filter(pk=feeder.pk).values_list("pk", flat=True))
    elif area is not None:
        list(TransformerArea.objects.select_for_update().filter(pk=area.pk).values_list("pk", flat=True))
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
    mains = list(tickets.filter(is_main=True).select_related("workorder").order_by("a_at", "id"))
    keep = next((t for t in mains if t.d_at is not None), mains[0] if mains else None)
    tickets.update(outage=rolled)
    if keep is not None:
        others = [t for t in mains if t.pk != keep.pk]
        RepairTicket.objects.filter(pk__in=[t.pk for t in others]).update(is_main=False, state=TicketState.CHILD)
        for t in others:
            VehicleAssignment.objects.filter(ticket=t, state__in=ACTIVE).update(
                state=AssignmentState.RECALLED, closed_at=at, reason="并入线路故障"
            )
        for t in others:  # each former main brings its followers along (see workorder_follow)
            wo.workorder_follow(order=t.workorder, main=keep.workorder, actor=None, note="并入线路故障", now=at)
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
