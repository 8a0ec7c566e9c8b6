"""Topology reads: substations, feeders and 台区 within the reader's scope.

The customers below a feeder or 台区 are the customer ledger's data and are read in `customers.selectors`;
customers sit above grid, so grid never imports them. The one figure a grid page shows about them (how many
customers a feeder serves) comes through `feeder_customer_count`, which the customers app registers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, QuerySet
from django.urls import reverse

from gridcare.core.errors import NotFound
from gridcare.grid import network as net
from gridcare.grid import schematic, topology
from gridcare.grid.models import Feeder, GridDevice, Substation, SwitchingOperation, TransformerArea
from gridcare.org.scope import unit_filter

# (user, feeder) -> how many customers below the feeder the user may see.
FeederCustomerCounter = Callable[[Any, Feeder], int]
_feeder_customer_counter: FeederCustomerCounter | None = None


def register_feeder_customer_counter(func: FeederCustomerCounter | None) -> None:
    """Called by the customers app when it is ready (None unregisters)."""
    global _feeder_customer_counter
    _feeder_customer_counter = func


def feeder_customer_count(*, user: Any, feeder: Feeder) -> int | None:
    """Customers below the feeder within the user's scope; None when no app keeps customers."""
    return None if _feeder_customer_counter is None else _feeder_customer_counter(user, feeder)


def substations_visible(*, user: Any) -> QuerySet[Substation]:
    return Substation.objects.filter(unit_filter(user, "unit"))


def feeders_visible(*, user: Any) -> QuerySet[Feeder]:
    return Feeder.objects.filter(unit_filter(user, "unit")).select_related("substation")


def areas_visible(*, user: Any) -> QuerySet[TransformerArea]:
    return TransformerArea.objects.filter(unit_filter(user, "unit")).select_related("feeder")


def feeder_get(*, user: Any, code: str) -> Feeder:
    feeder = feeders_visible(user=user).filter(code=code).first()
    if feeder is None:
        raise NotFound(f"线路 {code} 不存在或不在您的数据范围内")
    return feeder


def area_get(*, user: Any, code: str) -> TransformerArea:
    area = areas_visible(user=user).filter(code=code).first()
    if area is None:
        raise NotFound(f"台区 {code} 不存在或不在您的数据范围内")
    return area


def devices_visible(*, user: Any) -> QuerySet[GridDevice]:
    """Devices on the feeders the user may read."""
    return GridDevice.objects.filter(unit_filter(user, "feeder__unit")).select_related("feeder", "feeder__unit")


def device_get(*, user: Any, code: str) -> GridDevice:
    device = devices_visible(user=user).select_related("upstream", "tie_to", "tie_to__feeder").filter(code=code).first()
    if device is None:
        raise NotFound(f"设备 {code} 不存在或不在您的数据范围内")
    return device


def feeder_devices(*, feeder: Feeder) -> QuerySet[GridDevice]:
    """The devices of a feeder the caller has already been allowed to read (feeder_get)."""
    return feeder.devices.select_related("upstream", "tie_to", "tie_to__feeder").order_by("code")


def feeder_operations(*, feeder: Feeder, limit: int = 50) -> QuerySet[SwitchingOperation]:
    """Recent switching operations on the feeder's devices, newest first."""
    return (
        SwitchingOperation.objects.filter(device__feeder=feeder).select_related("device").order_by("-at", "-id")[:limit]
    )


def closing_refusal(*, device: GridDevice, parts: topology.Parts) -> str:
    """Why closing `device` must be refused (合环: a ring, or two feeders in parallel), or "" when it may close."""
    before = {p.message for p in net.loop_problems(parts.devices, parts.links, parts.opened)}
    after = [code for code in parts.opened if code != device.code]
    new = [p for p in net.loop_problems(parts.devices, parts.links, after) if p.message not in before]
    if not new:
        return ""
    what = f"合上{device.get_kind_display()} {device.code}"
    if new[0].kind == "parallel":
        return (
            f"{what}将使线路 {'、'.join(new[0].feeders)} 并列运行（合环），已拒绝。"
            "请先断开一侧的分段开关，把要转供的线段与原线路隔开，再合上联络开关。"
        )
    a, b = new[0].devices
    return f"{what}将在 {a} 与 {b} 之间形成环网（合环），已拒绝。请先断开环路上的另一台设备。"


@dataclass(frozen=True)
class AreaChange:
    code: str
    name: str
    customers: int
    before: str | None  # the feeder feeding it now (None: dark)
    after: str | None


@dataclass(frozen=True)
class SwitchPreview:
    """What opening or closing a device would do, shown before the dispatcher confirms."""

    opened: bool
    refusal: str
    dark: list[AreaChange]  # 台区 that lose power
    restored: list[AreaChange]  # 台区 that get it back
    transferred: list[AreaChange]  # 台区 fed by another feeder afterwards

    @property
    def customers_dark(self) -> int:
        return sum(a.customers for a in self.dark)


def switch_preview(*, device: GridDevice, opened: bool) -> SwitchPreview:
    parts = topology.parts(customers=False)
    refusal = "" if opened else closing_refusal(device=device, parts=parts)
    after_open = [c for c in parts.opened if c != device.code] + ([device.code] if opened else [])
    before = net.energised(parts.devices, parts.links, parts.areas, parts.opened)
    after = net.energised(parts.devices, parts.links, parts.areas, after_open)

    def feeder(tree: net.Network, area: str) -> str | None:
        return tree.feeder_of(tree.area_device(area)) if area in tree.areas else None

    moved = {a.id: (feeder(before, a.id), feeder(after, a.id)) for a in parts.areas}
    moved = {code: ba for code, ba in moved.items() if ba[0] != ba[1]}
    rows = (
        TransformerArea.objects.filter(code__in=list(moved)[:5000])
        .annotate(n=Count("service_points__customers"))
        .values_list("code", "name", "n")
    )
    changes = [AreaChange(code, name, n, *moved[code]) for code, name, n in sorted(rows)]
    return SwitchPreview(
        opened=opened,
        refusal=refusal,
        dark=[c for c in changes if c.after is None],
        restored=[c for c in changes if c.before is None],
        transferred=[c for c in changes if c.before is not None and c.after is not None],
    )


def feeder_schematic(*, user: Any, feeder: Feeder, areas: Iterable[TransformerArea]) -> schematic.Schematic:
    """The feeder's schematic with what runs now: open/closed, de-energised, fed from another feeder. `areas`
    carry `n_customers` (the page's own query)."""
    topo = topology.now()
    tree = topo.network

    def fed_by(code: str) -> str | None:
        if code not in tree.devices:
            return None
        other = tree.feeder_of(code)
        return other if other != feeder.code else None

    devices = [
        schematic.DeviceIn(
            code=d.code,
            name=d.name,
            kind=d.kind,
            kind_label=d.get_kind_display(),
            upstream=d.upstream.code if d.upstream else None,
            is_open=d.is_open,
            normally_open=d.normally_open,
            energised=d.code in tree.devices,
            fed_by=fed_by(d.code),
            tie_to=d.tie_to.code if d.tie_to else None,
            tie_feeder=d.tie_to.feeder.code if d.tie_to else None,
            tie_feeder_name=d.tie_to.feeder.name if d.tie_to else "",
        )
        for d in feeder_devices(feeder=feeder)
    ]
    area_in = []
    for a in areas:
        now_by = topo.feeder_of_area(a.code)
        area_in.append(
            schematic.AreaIn(
                code=a.code,
                name=a.name,
                device=a.device.code if a.device_id and a.device else None,
                customers=getattr(a, "n_customers", 0),
                energised=now_by is not None,
                fed_by=now_by if now_by not in (None, feeder.code) else None,
            )
        )
    ties = [
        schematic.TieIn(
            code=t.code,
            kind_label=t.get_kind_display(),
            feeder=t.feeder.code,
            feeder_name=t.feeder.name,
            device=t.tie_to.code if t.tie_to else "",
            is_open=t.is_open,
        )
        for t in GridDevice.objects.filter(tie_to__feeder=feeder).select_related("feeder", "tie_to")
    ]
    others = {d.tie_feeder for d in devices if d.tie_feeder} | {t.feeder for t in ties}
    visible = feeders_visible(user=user).filter(code__in=others).values_list("code", flat=True)
    hrefs = {code: reverse("grid:feeder", args=[code]) for code in visible}
    return schematic.layout(devices, area_in, ties, feeder_href=hrefs)


def feeder_transfers_in(*, feeder: Feeder) -> list[tuple[str, str]]:
    """台区 of other feeders that this feeder feeds now through a closed tie switch: (台区 code, its feeder)."""
    tied = set(GridDevice.objects.filter(feeder=feeder, tie_to__isnull=False).values_list("tie_to__feeder", flat=True))
    tied |= set(GridDevice.objects.filter(tie_to__feeder=feeder).values_list("feeder", flat=True))
    topo = topology.now()
    return [
        (code, feeder_code)
        for code, feeder_code in TransformerArea.objects.filter(feeder__in=tied)
        .exclude(feeder=feeder)
        .values_list("code", "feeder__code")
        .order_by("code")
        if topo.feeder_of_area(code) == feeder.code
    ]
