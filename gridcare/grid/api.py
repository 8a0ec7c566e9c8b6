"""Topology API: substations, feeders and 台区 in the caller's scope; the devices below a feeder, its switching
operations, and switching itself (倒闸操作: dispatchers and shift leads of the unit holding the feeder).

The customers below a feeder or 台区 (`/grid/feeders/{code}/customers`, `/grid/areas/{code}/customers`) are
served by the customers app's `grid_router`, mounted under the same prefix: the ledger sits above grid.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from gridcare.core.apitypes import Limit, Offset
from gridcare.grid import selectors, services, topology
from gridcare.grid.models import GridDevice, SwitchingOperation
from gridcare.org import policy

router = Router(tags=["grid"])


class SubstationOut(Schema):
    code: str
    name: str
    voltage_kv: int
    lat: float
    lon: float


class FeederOut(Schema):
    code: str
    name: str
    substation: str
    voltage_kv: int


class AreaOut(Schema):
    code: str
    name: str
    feeder: str
    rated_kva: int
    lat: float
    lon: float


class Page(Schema):
    limit: Limit = 100
    offset: Offset = 0


def _page(page: Page) -> slice:
    return slice(page.offset, page.offset + page.limit)


@router.get("/substations", response=list[SubstationOut])
def substations(request: HttpRequest, page: Query[Page]) -> list[object]:
    return list(selectors.substations_visible(user=request.auth)[_page(page)])  # type: ignore[attr-defined]


@router.get("/feeders", response=list[FeederOut])
def feeders(request: HttpRequest, page: Query[Page]) -> list[dict[str, object]]:
    rows = selectors.feeders_visible(user=request.auth)[_page(page)]  # type: ignore[attr-defined]
    return [{"code": f.code, "name": f.name, "substation": f.substation.code, "voltage_kv": f.voltage_kv} for f in rows]


@router.get("/feeders/{code}/areas", response=list[AreaOut])
def feeder_areas(request: HttpRequest, code: str) -> list[dict[str, object]]:
    feeder = selectors.feeder_get(user=request.auth, code=code)  # type: ignore[attr-defined]
    return [
        {
            "code": a.code,
            "name": a.name,
            "feeder": feeder.code,
            "rated_kva": a.rated_kva,
            "lat": a.lat,
            "lon": a.lon,
        }
        for a in feeder.areas.all()
    ]


class DeviceOut(Schema):
    code: str
    name: str
    kind: str
    kind_label: str
    feeder: str
    upstream: str | None
    tie_to: str | None
    normally_open: bool
    is_open: bool
    energised: bool = Field(description="当前带电（从某条线路的出口经闭合设备可达）")
    fed_by: str | None = Field(description="当前供电的线路编码；失电为空")
    lat: float | None
    lon: float | None


class SwitchingOut(Schema):
    id: int
    device: str
    opened: bool
    at: dt.datetime
    operator: str
    note: str


class SwitchIn(Schema):
    open: bool = Field(description="true：断开；false：合上")
    note: str = Field("", max_length=200, description="操作说明（如调度令号、原因）")


def _device_out(d: GridDevice, tree: Any) -> dict[str, Any]:
    live = d.code in tree.devices
    return {
        "code": d.code,
        "name": d.name,
        "kind": d.kind,
        "kind_label": d.get_kind_display(),
        "feeder": d.feeder.code,
        "upstream": d.upstream.code if d.upstream else None,
        "tie_to": d.tie_to.code if d.tie_to else None,
        "normally_open": d.normally_open,
        "is_open": d.is_open,
        "energised": live,
        "fed_by": tree.feeder_of(d.code) if live else None,
        "lat": d.lat,
        "lon": d.lon,
    }


def _operation_out(op: SwitchingOperation) -> dict[str, Any]:
    return {
        "id": op.pk,
        "device": op.device.code,
        "opened": op.opened,
        "at": op.at,
        "operator": op.operator,
        "note": op.note,
    }


@router.get("/feeders/{code}/devices", response=list[DeviceOut], summary="线路下的设备及其当前状态")
def feeder_devices(request: HttpRequest, code: str) -> list[dict[str, Any]]:
    feeder = selectors.feeder_get(user=request.auth, code=code)  # type: ignore[attr-defined]
    tree = topology.now().network
    return [_device_out(d, tree) for d in selectors.feeder_devices(feeder=feeder)]


@router.get("/feeders/{code}/switching", response=list[SwitchingOut], summary="线路上最近的倒闸操作（新的在前）")
def feeder_switching(request: HttpRequest, code: str, limit: Limit = 50) -> list[dict[str, Any]]:
    feeder = selectors.feeder_get(user=request.auth, code=code)  # type: ignore[attr-defined]
    return [_operation_out(op) for op in selectors.feeder_operations(feeder=feeder, limit=limit)]


@router.post("/devices/{code}/switch", response=SwitchingOut, summary="断开或合上设备（倒闸操作；合环将被拒绝）")
def device_switch(request: HttpRequest, code: str, payload: SwitchIn) -> dict[str, Any]:
    user = request.auth  # type: ignore[attr-defined]
    policy.require_role(user, "grid.switch")  # the role's 403 before anything is said about the device
    device = selectors.device_get(user=user, code=code)
    policy.authorize(user, "grid.switch", holder=device.feeder.unit, missing=f"设备 {code} 不存在或不在您的数据范围内")
    op = services.device_switch(device=device, opened=payload.open, actor=user, note=payload.note)
    return _operation_out(op)
