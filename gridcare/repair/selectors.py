"""Reads of the repair flow: tickets within scope, their A–H timing, candidates, outages for a caller."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from django.conf import settings
from django.db.models import Count, QuerySet
from django.urls import reverse
from django.utils import timezone

from gridcare.gps.models import LatestPosition, TrackPoint
from gridcare.gps.selectors import device_track, latest_for_devices
from gridcare.org.models import OrgUnit
from gridcare.org.scope import unit_filter
from gridcare.repair import ranking, timing
from gridcare.repair.models import (
    AreaTarget,
    ProbableOutage,
    RepairTicket,
    SegmentTarget,
    Vehicle,
    VehicleAssignment,
)
from gridcare.repair.services import ACTIVE, open_tickets_q
from gridcare.repair.services.placing import covering
from gridcare.repair.storm_selectors import etr_view, storm_on


def rules() -> list[timing.SegmentRule]:
    rows = list(SegmentTarget.objects.all())
    if not rows:
        return list(timing.DEFAULT_RULES)
    return [timing.SegmentRule(r.code, r.minutes, r.minutes_other_site, r.party) for r in rows]


def area_targets() -> tuple[dict[str, float], dict[str, float]]:
    rows = list(AreaTarget.objects.all())
    if not rows:
        return dict(timing.ARRIVAL_TARGETS), dict(timing.RESTORE_TARGETS)
    return (
        {r.area_class: float(r.arrive_minutes) for r in rows},
        {r.area_class: float(r.restore_minutes) for r in rows},
    )


def ticket_timing(
    ticket: RepairTicket,
    *,
    now: dt.datetime | None = None,
    cached_rules: list[timing.SegmentRule] | None = None,
    cached_targets: tuple[dict[str, float], dict[str, float]] | None = None,
) -> timing.Timing:
    same_site = True
    if ticket.repair_center_id and ticket.crew_id:
        same_site = ticket.repair_center.site_id == ticket.crew.site_id  # type: ignore[union-attr]
    crew = ticket.crew.name if ticket.crew else ""
    center = ticket.repair_center.name if ticket.repair_center else ""
    who = {
        "AB": ticket.b_by,
        "BC": "网络传输",
        "CD": ticket.d_by or center,
        "DE": "网络传输",
        "EF": ticket.f_by or crew,
        "FG": crew,
        "GH": crew,
    }
    arrive, restore = cached_targets or area_targets()
    return timing.compute(
        ticket.points(),
        rules=cached_rules or rules(),
        same_site=same_site,
        area_class=ticket.area_class,
        who=who,
        restored_at=ticket.restored_at,
        now=now,
        arrival_targets=arrive,
        restore_targets=restore,
    )


def tickets_visible(*, user: Any) -> QuerySet[RepairTicket]:
    qs = RepairTicket.objects.select_related(
        "workorder",
        "workorder__customer",
        "repair_center",
        "crew",
        "vehicle",
        "outage",
        "outage__etr_detail",
        "transformer_area",
        "feeder",
    )
    if getattr(user, "sees_everything", False):
        return qs
    return qs.filter(
        unit_filter(user, "repair_center")
        | unit_filter(user, "workorder__customer__service_unit")
        | unit_filter(user, "crew")
    )


def open_tickets(*, user: Any) -> QuerySet[RepairTicket]:
    return tickets_visible(user=user).filter(open_tickets_q()).order_by("a_at")


def vehicles_visible(*, user: Any) -> QuerySet[Vehicle]:
    return Vehicle.objects.filter(unit_filter(user, "crew")).select_related("crew")


@dataclass(frozen=True)
class VehiclePosition:
    """Where a vehicle is, for ranking: its device's latest GPS fix, or its home (驻点) when it has none."""

    vehicle_id: int
    lat: float
    lon: float
    source: Literal["gps", "home"]
    fixed_at: dt.datetime | None = None
    speed_kmh: float | None = None
    course: float | None = None

    def age(self, now: dt.datetime) -> dt.timedelta | None:
        return None if self.fixed_at is None else now - self.fixed_at


def _home(vehicle: Vehicle) -> VehiclePosition:
    return VehiclePosition(vehicle_id=vehicle.pk, lat=vehicle.home_lat, lon=vehicle.home_lon, source="home")


def _from_fix(vehicle: Vehicle, row: LatestPosition) -> VehiclePosition:
    return VehiclePosition(
        vehicle_id=vehicle.pk,
        lat=row.lat,
        lon=row.lon,
        source="gps",
        fixed_at=row.fixed_at,
        speed_kmh=row.speed_kmh,
        course=row.course,
    )


def vehicle_positions(
    vehicles: Iterable[Vehicle], *, fresh_after: dt.datetime | None = None
) -> dict[int, VehiclePosition]:
    """Each vehicle's latest fix, falling back to its home position when its device (if it has one) sent none;
    one query for the fleet. With `fresh_after`, a fix received before it counts as no fix, so an old fix
    cannot rank a vehicle nearest to a fault."""
    vehicles = list(vehicles)
    latest = latest_for_devices((v.device_id for v in vehicles if v.device_id is not None), fresh_after=fresh_after)
    result: dict[int, VehiclePosition] = {}
    for vehicle in vehicles:
        row = latest.get(vehicle.device_id) if vehicle.device_id is not None else None
        result[vehicle.pk] = _home(vehicle) if row is None else _from_fix(vehicle, row)
    return result


def vehicle_position(vehicle: Vehicle) -> VehiclePosition:
    """The vehicle's latest fix, falling back to its home position when no fix has arrived yet."""
    return vehicle_positions([vehicle])[vehicle.pk]


def latest_positions(
    user: Any, *, crew: OrgUnit | None = None, unit: OrgUnit | None = None
) -> QuerySet[LatestPosition]:
    """Latest positions of the vehicles the user may see; optionally one crew's, or a unit subtree's."""
    # A device on no vehicle (spare, being set up) is nobody's vehicle position, whoever asks.
    qs = LatestPosition.objects.select_related("device__vehicle__crew").filter(
        unit_filter(user, "device__vehicle__crew"), device__vehicle__isnull=False
    )
    if crew is not None:
        qs = qs.filter(device__vehicle__crew=crew)
    if unit is not None:
        qs = qs.filter(device__vehicle__crew__path__startswith=unit.path)
    return qs.order_by("device__vehicle__plate")


def vehicle_track(
    user: Any, *, vehicle: Vehicle, start: dt.datetime, end: dt.datetime, include_flagged: bool = False
) -> QuerySet[TrackPoint]:
    """The fixes of the vehicle's device with start <= fixed_at < end, oldest first; flagged fixes (jumps,
    invalid) only on request. Empty when the vehicle is outside the user's scope or has no device."""
    if vehicle.device_id is None or not vehicles_visible(user=user).filter(pk=vehicle.pk).exists():
        return TrackPoint.objects.none()
    return device_track(vehicle.device_id, start=start, end=end, include_flagged=include_flagged)


def _positions(vehicles: list[Vehicle]) -> dict[int, tuple[float, float]]:
    """Latest GPS fix per vehicle if it is recent, else the vehicle's home position (one query for the fleet)."""
    stale = dt.timedelta(minutes=settings.GRIDCARE_GPS_STALE_MINUTES)
    return {pk: (p.lat, p.lon) for pk, p in vehicle_positions(vehicles, fresh_after=timezone.now() - stale).items()}


def fleet(*, user: Any) -> tuple[ranking.Fleet, dict[int, Vehicle]]:
    vehicles = list(vehicles_visible(user=user))
    queue = dict(
        VehicleAssignment.objects.filter(vehicle__in=vehicles, state__in=ACTIVE)
        .values_list("vehicle")
        .annotate(n=Count("id"))
        .values_list("vehicle", "n")
    )
    pos = _positions(vehicles)
    rows = [
        (
            v.pk,
            pos[v.pk][0],
            pos[v.pk][1],
            v.crew_type,
            v.crew.path,
            queue.get(v.pk, 0) * ranking.MINUTES_PER_QUEUED_JOB,
            not v.off_duty,
        )
        for v in vehicles
    ]
    return ranking.make_fleet(rows), {v.pk: v for v in vehicles}


def candidates(
    *, user: Any, ticket: RepairTicket, limit: int = 10, need: str | None = None, unit_prefix: str | None = None
) -> list[tuple[Vehicle, ranking.Candidate]]:
    f, by_id = fleet(user=user)
    if ticket.lat is None or ticket.lon is None:
        return []
    prefix = unit_prefix if unit_prefix is not None else (ticket.repair_center.path if ticket.repair_center else None)
    ranked = ranking.rank(
        f,
        lat=ticket.lat,
        lon=ticket.lon,
        area_class=ticket.area_class,
        need=need or ticket.need,
        unit_prefix=prefix,
        limit=limit,
    )
    return [(by_id[c.vehicle_id], c) for c in ranked]


def crew_queue(*, crew_ids: list[int]) -> QuerySet[VehicleAssignment]:
    return (
        VehicleAssignment.objects.filter(vehicle__crew_id__in=crew_ids, state__in=ACTIVE)
        .select_related("ticket", "ticket__workorder", "ticket__workorder__customer", "vehicle")
        .order_by("vehicle", "position")
    )


def outage_for_customer(customer: Any) -> ProbableOutage | None:
    """The open probable outage that says the customer is without power — their 台区's, a device's above it on the
    network as it runs now, their feeder's, or their own service outage — for the agent to tell the caller."""
    sp = customer.service_point
    if sp is None:
        return None
    return covering(sp.transformer_area_id, sp.code)


def known_fault_for_caller(customer: Any) -> list[tuple[dict[str, Any], int | None]]:
    """The fault being analysed that covers this customer, as intake tells the caller of it (registered with
    gridcare.workorders.selectors.register_outage_source by RepairConfig.ready)."""
    probable = outage_for_customer(customer)
    if probable is None:
        return []
    shown = etr_view(probable)
    told = {
        "kind": "fault",
        "title": f"故障抢修中：{probable}",
        "cause": probable.cause,
        "etr": probable.etr,
        "etr_text": shown["text"],  # with its 80 % interval and what it rests on, when estimated
        "updated": probable.etr_updated_at or probable.last_call_at,
        "outage_id": probable.pk,
    }
    if storm_on():
        # Storm mode: the agent records this caller in one line, joined to this outage (repair.views.storm_call).
        told["quick_call"] = {"url": reverse("repair:storm_call"), "outage": probable.pk}
    return [(told, probable.notice_outage_id)]
