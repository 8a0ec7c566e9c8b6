"""Topology API: substations, feeders and 台区 in the caller's scope.

The customers below a feeder or 台区 (`/grid/feeders/{code}/customers`, `/grid/areas/{code}/customers`) are
served by the customers app's `grid_router`, mounted under the same prefix: the ledger sits above grid.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router, Schema

from gridcare.core.apitypes import Limit, Offset
from gridcare.grid import selectors

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
