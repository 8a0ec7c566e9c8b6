"""Reads of the GPS app: device look-ups for the ingest, latest positions and tracks by device.

Everything here is keyed by device: what a device is mounted on (a repair vehicle) and who may see it is
decided by the app that owns that object, which reads positions through these functions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db.models import QuerySet

from gridcare.gps.models import Device, FixFlag, LatestPosition, TrackPoint


def _accepting() -> QuerySet[Device]:
    """Devices whose fixes are stored; a disabled device is refused exactly like an unknown one."""
    return Device.objects.filter(disabled=False)


def device_pks(unique_ids: Iterable[str]) -> dict[str, int]:
    """The device (pk) each identifier sent on the wire belongs to; unknown and disabled ones are absent."""
    return dict(_accepting().filter(unique_id__in=list(unique_ids)).values_list("unique_id", "id"))


def device_pk(unique_id: str) -> int | None:
    return _accepting().filter(unique_id=unique_id).values_list("id", flat=True).first()


def all_device_pks() -> dict[str, int]:
    return dict(_accepting().values_list("unique_id", "id"))


def latest_for_devices(
    device_ids: Iterable[int], *, fresh_after: dt.datetime | None = None
) -> dict[int, LatestPosition]:
    """The latest position of each device that has one, in one query (ranking thousands of vehicles). With
    `fresh_after`, a fix received before it counts as none: a phone switched off days ago says nothing about
    where it is now."""
    qs = LatestPosition.objects.filter(device_id__in=[pk for pk in device_ids if pk is not None])
    if fresh_after is not None:
        qs = qs.filter(received_at__gte=fresh_after)
    return {row.device_id: row for row in qs}


def device_track(
    device_id: int, *, start: dt.datetime, end: dt.datetime, include_flagged: bool = False
) -> QuerySet[TrackPoint]:
    """The device's fixes with start <= fixed_at < end, oldest first; flagged fixes (jumps, invalid) only on
    request."""
    qs = TrackPoint.objects.filter(device_id=device_id, fixed_at__gte=start, fixed_at__lt=end)
    if not include_flagged:
        qs = qs.filter(flag=FixFlag.OK)
    return qs.order_by("fixed_at", "id")
