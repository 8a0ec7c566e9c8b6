"""Customer ledger API: search, one customer with masked contacts, and its path up the network."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from gridcare.core.apitypes import Limit
from gridcare.customers import selectors, services
from gridcare.customers.models import Customer
from gridcare.grid import selectors as grid_selectors
from gridcare.grid.api import Page
from gridcare.org import policy

router = Router(tags=["customers"])
# Mounted at /grid beside the grid app's router (gridcare/api.py): the customers below a network object are
# the ledger's data, and their URLs and operation ids stay what they were when grid served them.
grid_router = Router(tags=["grid"])


class ContactOut(Schema):
    name: str
    kind: str
    phone: str
    is_primary: bool


class ContactIn(Schema):
    name: str = Field(..., min_length=1, max_length=50)
    phone: str = Field(..., min_length=3, max_length=20, description="客户留下的联系电话（回拨号码）")
    kind: str = Field("self", description="self 本人 / electrical 电气联系人 / billing 账务联系人 / other 其他")
    is_primary: bool = False


class CustomerBrief(Schema):
    account_no: str
    name: str
    customer_type: str
    category: str
    address: str
    area_class: str
    important_level: str
    is_sensitive: bool
    status: str


class CustomerOut(CustomerBrief):
    industry: str
    voltage_level: str
    contract_kva: Decimal
    district: str
    lat: float | None
    lon: float | None
    service_point: str | None
    transformer_area: str | None
    feeder: str | None
    service_unit: str
    opened_on: dt.date
    contacts: list[ContactOut]


class PathNode(Schema):
    level: str
    label: str
    code: str
    name: str
    lat: float | None = None
    lon: float | None = None


class SearchFilters(Schema):
    q: str = ""
    limit: Limit = 20


class CustomerPage(Schema):
    count: int
    results: list[CustomerBrief]


def brief(c: Customer) -> dict[str, object]:
    return {
        "account_no": c.account_no,
        "name": c.name,
        "customer_type": c.customer_type,
        "category": c.category,
        "address": c.address,
        "area_class": c.area_class,
        "important_level": c.important_level,
        "is_sensitive": c.is_sensitive,
        "status": c.status,
    }


@router.get("", response=CustomerPage, summary="按户号、电话、户名或地址查找客户")
def search(request: HttpRequest, filters: Query[SearchFilters]) -> dict[str, object]:
    found = selectors.customer_search(user=request.auth, query=filters.q, limit=filters.limit)  # type: ignore[attr-defined]
    return {"count": len(found), "results": [brief(c) for c in found]}


@router.get("/{account_no}", response=CustomerOut, summary="客户档案")
def detail(request: HttpRequest, account_no: str) -> dict[str, object]:
    user = request.auth  # type: ignore[attr-defined]
    c = selectors.customer_get(user=user, account_no=account_no)
    sp = c.service_point
    return {
        **brief(c),
        "industry": c.industry,
        "voltage_level": c.voltage_level,
        "contract_kva": c.contract_kva,
        "district": c.district.name,
        "lat": c.lat,
        "lon": c.lon,
        "service_point": sp.code if sp else None,
        "transformer_area": sp.transformer_area.code if sp else None,
        "feeder": sp.transformer_area.feeder.code if sp else None,
        "service_unit": c.service_unit.name,
        "opened_on": c.opened_on,
        "contacts": [vars(v) for v in selectors.contacts_for(user=user, customer=c)],
    }


@router.post("/{account_no}/contacts", response={201: ContactOut}, summary="登记客户联系人（如来电留下的回拨号码）")
def contact_new(request: HttpRequest, account_no: str, payload: ContactIn) -> Status:
    user = request.auth  # type: ignore[attr-defined]
    policy.require_role(user, "customer.contact")
    c = selectors.customer_get(user=user, account_no=account_no)  # in the user's data scope, else 404
    added = services.contact_add(
        customer=c, name=payload.name, phone=payload.phone, kind=payload.kind, is_primary=payload.is_primary, actor=user
    )
    return Status(201, vars(selectors.contact_view(user=user, contact=added)))


@router.get("/{account_no}/path", response=list[PathNode], summary="客户到变电站的供电路径")
def path(request: HttpRequest, account_no: str) -> list[dict[str, object]]:
    c = selectors.customer_get(user=request.auth, account_no=account_no)  # type: ignore[attr-defined]
    return selectors.customer_path(c)


# ---------------------------------------------------------------- customers below the network (under /grid)


class CustomersBelow(Schema):
    count: int
    results: list[CustomerBrief]


def _below(qs: QuerySet[Customer], page: Page) -> dict[str, object]:
    qs = qs.order_by("id")
    return {"count": qs.count(), "results": [brief(c) for c in qs[page.offset : page.offset + page.limit]]}


@grid_router.get(
    "/feeders/{code}/customers",
    response=CustomersBelow,
    summary="线路下的全部客户",
    operation_id="gridcare_grid_api_feeder_customers",
)
def feeder_customers(request: HttpRequest, code: str, page: Query[Page]) -> dict[str, object]:
    user = request.auth  # type: ignore[attr-defined]
    feeder = grid_selectors.feeder_get(user=user, code=code)
    return _below(selectors.customers_under_feeder(user=user, feeder=feeder), page)


@grid_router.get(
    "/areas/{code}/customers",
    response=CustomersBelow,
    summary="台区下的全部客户",
    operation_id="gridcare_grid_api_area_customers",
)
def area_customers(request: HttpRequest, code: str, page: Query[Page]) -> dict[str, object]:
    user = request.auth  # type: ignore[attr-defined]
    area = grid_selectors.area_get(user=user, code=code)
    return _below(selectors.customers_under_area(user=user, area=area), page)
