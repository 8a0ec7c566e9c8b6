"""The network as it runs now, for outage prediction: the database topology turned into `grid.network.Network`.

Devices are keyed by their code and 台区 by theirs. A feeder whose network below the outlet has not been entered
(no GridDevice rows) still takes part: it gets a virtual source `feeder:<code>` with all its 台区 hanging from
it, so prediction works as a 台区-and-feeder model until the devices are imported. A 台区 with no device set
hangs from its feeder's outlet breaker (the device of that feeder with no upstream), else the virtual source.

Building the city's tree costs a few queries and, at 1,000 feeders, tens of milliseconds, so it is cached per
process and rebuilt when the topology's version changes: devices, 台区 or service points added, a device or 台区
re-hung, a switching operation recorded, a device opened or closed, or the network re-imported (`version()` is
one aggregate query per table). The version is looked at most every `GRIDCARE_TOPOLOGY_RECHECK_MS` (a second by
default) per process, so a switching operation in another process is seen within that long; the process that
switched forgets its tree at once. Customers moved between existing service points are not noticed at once:
counts per 台区 only weigh the "silent 台区" test, and the tree is rebuilt anyway after `COUNTS_TTL`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from functools import cached_property

from django.conf import settings
from django.db.models import Count, Max, Q, Sum

from gridcare.core.models import Event
from gridcare.grid import network as net
from gridcare.grid.models import Feeder, GridDevice, ServicePoint, SwitchingOperation, TransformerArea

VIRTUAL_PREFIX = "feeder:"
IMPORT_ACTION = "network.import"  # the audit event of a network import (gridcare.grid.imports) that changed it
COUNTS_TTL = 600.0  # seconds


def virtual_source(feeder_code: str) -> str:
    return f"{VIRTUAL_PREFIX}{feeder_code}"


@dataclass(frozen=True)
class Topology:
    """The energised tree and the keys that lead back to database rows."""

    network: net.Network
    device_pk: dict[str, int]  # device code → GridDevice pk (virtual sources absent)
    area_pk: dict[str, int]  # 台区 code → TransformerArea pk
    area_code: dict[int, str]  # TransformerArea pk → code
    feeder_pk: dict[str, int]  # feeder code → Feeder pk
    version: tuple[object, ...]

    def feeder_of_area(self, area_code: str) -> str | None:
        """The feeder that feeds the 台区 now (after switching), or None when it is de-energised."""
        if area_code not in self.network.areas:
            return None
        return self.network.feeder_of(self.network.area_device(area_code))

    def is_source(self, device: str) -> bool:
        return self.network.devices[device].parent is None

    @cached_property
    def device_code(self) -> dict[int, str]:
        """GridDevice pk → code."""
        return {pk: code for code, pk in self.device_pk.items()}

    @cached_property
    def feeder_code(self) -> dict[int, str]:
        """Feeder pk → code."""
        return {pk: code for code, pk in self.feeder_pk.items()}

    def device_or_source(self, device_pk: int | None, feeder_pk: int | None) -> str:
        """The device code an outage row names: its device, else its feeder's source (a virtual one where the
        feeder's devices are not entered: a feeder outage with devices entered names its outlet breaker). Empty
        when neither is known here."""
        if device_pk is not None:
            return self.device_code.get(device_pk, "")
        return virtual_source(self.feeder_code.get(feeder_pk or 0, ""))


def version() -> tuple[object, ...]:
    # Sums of the parent keys notice a device or 台区 re-hung; the service points' highest id notices customers
    # connected (an index lookup, where a count over a million rows would cost every event 20 ms); a re-import
    # that moves devices without adding rows or opening anything is noticed by its audit event.
    i = Event.objects.filter(action=IMPORT_ACTION).aggregate(top=Max("id"))
    d = GridDevice.objects.aggregate(
        n=Count("id"), top=Max("id"), opened=Count("id", filter=Q(is_open=True)), up=Sum("upstream_id")
    )
    a = TransformerArea.objects.aggregate(n=Count("id"), top=Max("id"), hung=Sum("device_id"), fed=Sum("feeder_id"))
    s = SwitchingOperation.objects.aggregate(top=Max("id"))
    f = Feeder.objects.aggregate(n=Count("id"), top=Max("id"))
    sp = ServicePoint.objects.aggregate(top=Max("id"))
    return (
        d["n"], d["top"], d["opened"], d["up"], a["n"], a["top"], a["hung"], a["fed"],
        s["top"], f["n"], f["top"], sp["top"], i["top"],
    )  # fmt: skip


@dataclass(frozen=True)
class Parts:
    """The stored arrangement as `grid.network` takes it: the inputs of `energised()` and `loops()`."""

    devices: list[net.Device]
    links: list[net.Link]
    areas: list[net.Area]
    opened: list[str]  # devices open now
    normally_open: list[str]  # devices open in the normal running arrangement
    device_pk: dict[str, int]
    area_pk: dict[str, int]
    feeder_pk: dict[str, int]


def parts(*, customers: bool = True) -> Parts:
    """Read the network below the feeders as stored now (`customers=False` skips counting them per 台区: the
    switching service only asks whether an arrangement is radial)."""
    feeders = dict(Feeder.objects.values_list("pk", "code"))
    rows = list(
        GridDevice.objects.values(
            "pk", "code", "kind", "feeder_id", "upstream_id", "tie_to_id", "is_open", "normally_open"
        )
    )
    code_of = {r["pk"]: r["code"] for r in rows}
    devices: list[net.Device] = []
    links: list[net.Link] = []
    outlet: dict[int, str] = {}
    for r in rows:
        source = r["upstream_id"] is None
        if source:
            outlet.setdefault(r["feeder_id"], r["code"])
        devices.append(net.Device(r["code"], r["kind"], None, feeders[r["feeder_id"]] if source else None))
        if r["upstream_id"] is not None:
            links.append(net.Link(code_of[r["upstream_id"]], r["code"]))
        if r["tie_to_id"] is not None:
            links.append(net.Link(r["code"], code_of[r["tie_to_id"]]))
    for pk, code in feeders.items():
        if pk not in outlet:
            devices.append(net.Device(virtual_source(code), "breaker", None, code))
            outlet[pk] = virtual_source(code)
    counts = (
        dict(
            ServicePoint.objects.values("transformer_area_id")
            .annotate(n=Count("id"))
            .values_list("transformer_area_id", "n")
        )
        if customers
        else {}
    )
    areas: list[net.Area] = []
    area_pk: dict[str, int] = {}
    for pk, code, feeder_id, device_id in TransformerArea.objects.values_list("pk", "code", "feeder_id", "device_id"):
        device = code_of[device_id] if device_id is not None else outlet[feeder_id]
        areas.append(net.Area(code, device, max(counts.get(pk, 0), 1)))
        area_pk[code] = pk
    return Parts(
        devices=devices,
        links=links,
        areas=areas,
        opened=[r["code"] for r in rows if r["is_open"]],
        normally_open=[r["code"] for r in rows if r["normally_open"]],
        device_pk={r["code"]: r["pk"] for r in rows},
        area_pk=area_pk,
        feeder_pk={code: pk for pk, code in feeders.items()},
    )


def build() -> Topology:
    v = version()
    p = parts()
    tree = net.energised(p.devices, p.links, p.areas, p.opened)
    return Topology(
        network=tree,
        device_pk=p.device_pk,
        area_pk=p.area_pk,
        area_code={pk: code for code, pk in p.area_pk.items()},
        feeder_pk=p.feeder_pk,
        version=v,
    )


_lock = threading.Lock()
_cached: tuple[Topology, float] | None = None


_checked_at = 0.0


def now() -> Topology:
    """The topology as it runs now (cached per process; see the module docstring)."""
    global _cached, _checked_at
    recheck = settings.GRIDCARE_TOPOLOGY_RECHECK_MS / 1000
    with _lock:
        cached, fresh = _cached, time.monotonic() - _checked_at < recheck
        if cached is not None and fresh and time.monotonic() - cached[1] < COUNTS_TTL:
            return cached[0]
    v = version()
    with _lock:
        _checked_at = time.monotonic()
        if _cached is not None and _cached[0].version == v and time.monotonic() - _cached[1] < COUNTS_TTL:
            return _cached[0]
    built = build()
    with _lock:
        _cached = (built, time.monotonic())
        _checked_at = time.monotonic()
    return built


def forget() -> None:
    """Drop the cached tree (tests, and after a bulk import that keeps the version tuple by chance)."""
    global _cached
    with _lock:
        _cached = None
