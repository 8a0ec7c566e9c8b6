"""Writes to the network below the feeder: switching operations (倒闸操作) and the descriptive fields an
administrator corrects. The structure itself (kinds, upstreams, ties) comes from the import (grid.imports), which
checks it as a whole."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict, deque
from typing import Any

from django.db import transaction
from django.utils import timezone

from gridcare.core.audit import changed, record_event
from gridcare.core.errors import Conflict, ServiceError
from gridcare.grid import selectors, topology
from gridcare.grid.models import Feeder, GridDevice, SwitchingOperation

NOTE_MAX = 200


def _operator(actor: Any) -> str:
    if actor is None:
        return "系统"
    if isinstance(actor, str):
        return actor[:100]
    return str(actor.get_full_name() or actor.get_username())[:100]


def _tied_feeders(device_pk: int) -> set[int]:
    """The feeders of every device that conductors or tie switches connect to this one, whatever their state:
    the part of the network one closing could join. Two switching operations that could make a ring together
    always share one of these feeders, so locking them serialises exactly the operations that must be."""
    rows = GridDevice.objects.values_list("pk", "feeder_id", "upstream_id", "tie_to_id")
    feeder_of: dict[int, int] = {}
    neighbours: dict[int, list[int]] = defaultdict(list)
    for pk, feeder_id, upstream_id, tie_to_id in rows:
        feeder_of[pk] = feeder_id
        for other in (upstream_id, tie_to_id):
            if other is not None:
                neighbours[pk].append(other)
                neighbours[other].append(pk)
    seen, queue = {device_pk}, deque([device_pk])
    while queue:
        for nxt in neighbours[queue.popleft()]:
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return {feeder_of[pk] for pk in seen if pk in feeder_of}


def device_switch(
    *, device: GridDevice, opened: bool, actor: Any, at: dt.datetime | None = None, note: str = ""
) -> SwitchingOperation:
    """Open or close a device (倒闸操作): refuses a no-op and a close that would make a ring or put two feeders in
    parallel; records the operation with its time and operator, and its audit event, in one transaction. The
    topology's version changes with it, so the next outage prediction walks the new arrangement."""
    at = at or timezone.now()
    if timezone.is_naive(at):
        raise ServiceError("操作时间须带时区", field="at")
    note = note.strip()
    if len(note) > NOTE_MAX:
        raise ServiceError(f"说明最多 {NOTE_MAX} 个字", field="note")
    with transaction.atomic():
        wanted = _tied_feeders(device.pk)
        locked = set(
            Feeder.objects.select_for_update().filter(pk__in=wanted).order_by("pk").values_list("pk", flat=True)
        )
        if not _tied_feeders(device.pk) <= locked:
            # An import tied this part of the network to another feeder while we waited for the locks.
            raise Conflict("线路网络刚刚被修改，请刷新后重试")
        dev = GridDevice.objects.select_for_update(of=("self",)).select_related("feeder").get(pk=device.pk)
        if dev.is_open == opened:
            state = "断开" if opened else "合上"
            raise Conflict(f"{dev.get_kind_display()} {dev.code} 已经是{state}状态，无需操作", field="open")
        last = dev.operations.order_by("-at").values_list("at", flat=True).first()
        if last is not None and at < last:
            raise ServiceError(
                f"操作时间 {timezone.localtime(at):%Y-%m-%d %H:%M} 早于该设备上一次倒闸操作"
                f"（{timezone.localtime(last):%Y-%m-%d %H:%M}）",
                field="at",
            )
        if not opened:
            refusal = selectors.closing_refusal(device=dev, parts=topology.parts(customers=False))
            if refusal:
                raise Conflict(refusal, field="open")
        GridDevice.objects.filter(pk=dev.pk).update(is_open=opened)
        dev.is_open = opened
        operation = SwitchingOperation.objects.create(
            device=dev, opened=opened, at=at, operator=_operator(actor), note=note
        )
        record_event(
            actor=actor,
            action="griddevice.switch",
            subject=dev,
            old={"is_open": not opened},
            new={"is_open": opened, "operation": operation.pk},
            note=note,
            at=at,
        )
        # This process predicts on the new arrangement from the next event on (others within their recheck).
        transaction.on_commit(topology.forget)
    return operation


def device_describe(*, device: GridDevice, name: str, lat: float | None, lon: float | None, actor: Any) -> GridDevice:
    """Correct what a device is called and where it stands; its place in the network is the import's."""
    name = name.strip()
    if not name:
        raise ServiceError("名称不能为空", field="name")
    if (lat is None) != (lon is None):
        raise ServiceError("经纬度须同时填写或同时留空", field="lat")
    if lat is not None and lon is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ServiceError(f"坐标 ({lat}, {lon}) 超出范围", field="lat")
    with transaction.atomic():
        dev = GridDevice.objects.select_for_update().get(pk=device.pk)
        old = {"name": dev.name, "lat": dev.lat, "lon": dev.lon}
        before, after = changed(old, {"name": name, "lat": lat, "lon": lon})
        if not after:
            return dev
        dev.name, dev.lat, dev.lon = name, lat, lon
        dev.save(update_fields=["name", "lat", "lon"])
        record_event(actor=actor, action="griddevice.describe", subject=dev, old=before, new=after)
    return dev
