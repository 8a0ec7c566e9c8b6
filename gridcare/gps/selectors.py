"""Reads of the GPS app: latest positions (for the dispatcher's map and ranking), tracks, device look-ups."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from django.db.models import QuerySet

from gridcare.gps.models import FixFlag, LatestPosition, TrackPoint
from gridcare.org.models import OrgUnit
from gridcare.org.scope import unit_filter
from gridcare.repair.models import Vehicle


@dataclass(frozen=True)
class VehiclePosition:
    """Where a vehicle is, for ranking: the latest GPS fix, or its home (驻点) when it has none."""

    vehicle_id: int
    lat: float
    lon: float
    source: Literal["gps", "home"]
    fixed_at: dt.datetime | None = None
    speed_kmh: float | None = None
    course: float | None = None

    def age(self, now: dt.datetime) -> dt.timedelta | None:
        return None if self.fixed_at is None else now - self.fixed_at


def latest_positions(
    user: Any, *, crew: OrgUnit | None = None, unit: OrgUnit | None = None
) -> QuerySet[LatestPosition]:
    """Latest positions of the vehicles the user may see; optionally one crew's, or a unit subtree's."""
    qs = LatestPosition.objects.select_related("vehicle", "vehicle__crew").filter(unit_filter(user, "vehicle__crew"))
    if crew is not None:
        qs = qs.filter(vehicle__crew=crew)
    if unit is not None:
        qs = qs.filter(vehicle__crew__path__startswith=unit.path)
    return qs.order_by("vehicle__plate")


def vehicle_track(
    user: Any, *, vehicle: Vehicle, start: dt.datetime, end: dt.datetime, include_flagged: bool = False
) -> QuerySet[TrackPoint]:
    """The vehicle's fixes with start <= fixed_at < end, oldest first; flagged fixes (jumps, invalid) only on
    request. Empty when the vehicle is outside the user's scope."""
    qs = TrackPoint.objects.filter(vehicle=vehicle, fixed_at__gte=start, fixed_at__lt=end)
    if not Vehicle.objects.filter(pk=vehicle.pk).filter(unit_filter(user, "crew")).exists():
        return qs.none()
    if not include_flagged:
        qs = qs.filter(flag=FixFlag.OK)
    return qs.order_by("fixed_at", "id")


def _from_row(row: LatestPosition) -> VehiclePosition:
    return VehiclePosition(
        vehicle_id=row.vehicle_id,
        lat=row.lat,
        lon=row.lon,
        source="gps",
        fixed_at=row.fixed_at,
        speed_kmh=row.speed_kmh,
        course=row.course,
    )


def vehicle_position(vehicle: Vehicle) -> VehiclePosition:
    """The vehicle's latest fix, falling back to its home position when no fix has arrived yet."""
    row = LatestPosition.objects.filter(vehicle_id=vehicle.pk).first()
    if row is not None:
        return _from_row(row)
    return VehiclePosition(vehicle_id=vehicle.pk, lat=vehicle.home_lat, lon=vehicle.home_lon, source="home")


def vehicle_positions(
    vehicles: Iterable[Vehicle], *, fresh_after: dt.datetime | None = None
) -> dict[int, VehiclePosition]:
    """`vehicle_position` for many vehicles in one query (ranking thousands of candidates). With
    `fresh_after`, a fix received before it counts as no fix: a phone switched off days ago says nothing about
    where the vehicle is now, and its old fix must not rank it nearest to a fault."""
    vehicles = list(vehicles)
    rows = {row.vehicle_id: row for row in LatestPosition.objects.filter(vehicle_id__in=[v.pk for v in vehicles])}
    result: dict[int, VehiclePosition] = {}
    for vehicle in vehicles:
        row = rows.get(vehicle.pk)
        if row is not None and (fresh_after is None or row.received_at >= fresh_after):
            result[vehicle.pk] = _from_row(row)
        else:
            result[vehicle.pk] = VehiclePosition(
                vehicle_id=vehicle.pk, lat=vehicle.home_lat, lon=vehicle.home_lon, source="home"
            )
    return result


def vehicle_ids_for_devices(device_ids: Iterable[str]) -> dict[str, int]:
    """Which vehicle each known GPS device id belongs to (unknown ids are absent)."""
    return dict(Vehicle.objects.filter(gps_device_id__in=list(device_ids)).values_list("gps_device_id", "id"))


def all_device_vehicle_ids() -> dict[str, int]:
    return dict(Vehicle.objects.values_list("gps_device_id", "id"))
