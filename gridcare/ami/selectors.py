"""Reads of the AMI app: meters in the ledger, the latest event of each meter, the meters below a part of the
network. Meter events are not people's data to browse by scope (the admin lists them); these serve the ingest,
the simulated ping and the simulator."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from django.db.models import OuterRef, Subquery

from gridcare.ami.models import MeterEvent
from gridcare.grid import topology
from gridcare.grid.models import Feeder, ServicePoint, TransformerArea

# Meter numbers per IN (…) list: well under SQLite's and PostgreSQL's parameter limits.
CHUNK = 500


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def service_points_by_meter(meter_nos: Iterable[str]) -> dict[str, int]:
    """meter_no → ServicePoint pk, for the meters the ledger knows (the others are absent)."""
    wanted = sorted(set(meter_nos))
    found: dict[str, int] = {}
    for chunk in _chunks(wanted):
        rows = ServicePoint.objects.filter(meter_no__in=chunk).values_list("meter_no", "id")
        found.update((meter, pk) for meter, pk in rows if meter is not None)
    return found


def latest_kinds(meter_nos: Iterable[str], *, now: dt.datetime) -> dict[str, str | None]:
    """For each meter in the ledger, the kind of its latest event at or before `now` (None: it never reported one).
    Meters the ledger does not know are absent. One query per chunk, each meter's event found by the
    (meter_no, at) index."""
    wanted = sorted(set(meter_nos))
    latest = (
        MeterEvent.objects.filter(meter_no=OuterRef("meter_no"), at__lte=now).order_by("-at", "-id").values("kind")[:1]
    )
    result: dict[str, str | None] = {}
    for chunk in _chunks(wanted):
        rows = (
            ServicePoint.objects.filter(meter_no__in=chunk)
            .annotate(kind=Subquery(latest))
            .values_list("meter_no", "kind")
        )
        result.update({meter: kind for meter, kind in rows if meter is not None})
    return result


class UnknownPlace(LookupError):
    """No 台区, feeder or device has the code given."""


def meters_below(*, area: str | None = None, feeder: str | None = None, device: str | None = None) -> list[str]:
    """The meter numbers of the service points below one 台区, one feeder or one device, as the network runs now
    (after switching: a feeder's meters are those it feeds now). Sorted, so a simulation is reproducible."""
    if area is not None:
        if not TransformerArea.objects.filter(code=area).exists():
            raise UnknownPlace(f"台区 {area} 不存在")
        areas = {area}
    else:
        network = topology.now().network
        if feeder is not None:
            if not Feeder.objects.filter(code=feeder).exists():
                raise UnknownPlace(f"线路 {feeder} 不存在")
            sources = [d for d, dev in network.devices.items() if dev.parent is None and dev.feeder == feeder]
            areas = set().union(*(network.areas_below.get(d, frozenset()) for d in sources))
        elif device is not None:
            if device not in network.devices:
                raise UnknownPlace(f"设备 {device} 不存在或当前不带电")
            areas = set(network.areas_below.get(device, frozenset()))
        else:
            raise ValueError("name an area, a feeder or a device")
    meters = ServicePoint.objects.filter(transformer_area__code__in=sorted(areas), meter_no__isnull=False)
    return sorted(m for m in meters.values_list("meter_no", flat=True) if m)
