"""Vehicles: duty, and the status derived from their queue."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q

from gridcare.core.audit import record_event
from gridcare.repair.models import (
    TicketState,
    Vehicle,
    VehicleAssignment,
    VehicleStatus,
)
from gridcare.repair.services._base import ACTIVE, Actor


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
