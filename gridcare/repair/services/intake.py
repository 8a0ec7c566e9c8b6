"""A repair call becomes a ticket placed in the network and in a probable outage (A = when the call ended)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction

from gridcare.core.audit import record_event
from gridcare.core.errors import ServiceError
from gridcare.grid import topology
from gridcare.repair.evidence import Evidence
from gridcare.repair.models import OutageLevel, ProbableOutage, RepairTicket, TicketState
from gridcare.repair.services import placing
from gridcare.repair.services._base import Actor, _now
from gridcare.repair.services.outages import _notice_add_caller
from gridcare.workorders import services as wo
from gridcare.workorders.models import Channel


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
        if order.channel == Channel.AMI:
            return ticket  # no caller: services.proactive places it as the main order of the meters' outage
        outage = _attach(ticket, customer, a_at, now)
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


def _attach(ticket: RepairTicket, customer: Any, at: dt.datetime, now: dt.datetime) -> ProbableOutage:
    """The call is evidence for outage prediction (repair.prediction, online through services.placing): it joins
    the open outage that already explains its 台区, or moves the predictions of its feeder up or down the tree.
    A call with no place in the network fed now (no customer, no service point, a de-energised 台区) is an
    outage of its own."""
    area = ticket.transformer_area
    outage = None
    if area is not None:
        code = topology.now().area_code.get(area.pk)
        sp = customer.service_point.code if customer is not None and customer.service_point_id else None
        if code is not None:
            evidence = Evidence(placing.call_id(ticket.pk), at, code, placing.customer_key(sp, ticket.workorder_id))
            outage = placing.place(evidence, now=now)
    if outage is None:
        outage = ProbableOutage.objects.create(
            level=OutageLevel.SERVICE_POINT,
            transformer_area=area,
            feeder=ticket.feeder,
            first_call_at=at,
            last_call_at=at,
            call_count=1,
        )
        RepairTicket.objects.filter(pk=ticket.pk).update(outage=outage)
    ticket.outage = outage
    return outage
