"""What the stages of the repair flow share: the actor's name, the area's targets, stamping an A–H point."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import F
from django.utils import timezone

from gridcare.core.audit import record_event
from gridcare.core.errors import Conflict
from gridcare.org.models import User
from gridcare.repair.models import (
    AreaTarget,
    AssignmentState,
    RepairTicket,
    VehicleAssignment,
)

Actor = User | str | None


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


def _ticket(order_or_ticket: Any) -> RepairTicket:
    if isinstance(order_or_ticket, RepairTicket):
        return RepairTicket.objects.select_related("workorder", "outage").get(pk=order_or_ticket.pk)
    return RepairTicket.objects.select_related("workorder", "outage").get(workorder=order_or_ticket)


def _assignment(assignment: VehicleAssignment) -> VehicleAssignment:
    return VehicleAssignment.objects.select_related("ticket", "ticket__workorder", "vehicle", "vehicle__crew").get(
        pk=assignment.pk
    )
