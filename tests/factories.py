"""Small factory functions that build a city just big enough for a test, through the real services."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from gridcare.customers.models import Customer
from gridcare.customers.services import customer_create
from gridcare.gps.models import Device
from gridcare.grid.models import AreaClass, District, Feeder, ServicePoint, Substation, TransformerArea
from gridcare.org.models import OrgUnit, Site, User
from gridcare.org.services import ManagerSpec, orgunit_create, site_create, user_create

_seq = itertools.count(1)
PASSWORD = "test-pass-123"


def managers() -> list[ManagerSpec]:
    n = next(_seq)
    return [
        ManagerSpec("张主任", f"1390000{n:04d}", "主任"),
        ManagerSpec("李副主任", f"1390001{n:04d}", "副主任"),
    ]


def make_device(unique_id: str | None = None) -> Device:
    """A registered GPS device, to put on a vehicle (`Vehicle(device=...)`)."""
    return Device.objects.create(unique_id=unique_id or f"dev-{next(_seq)}")


def make_site(code: str | None = None) -> Site:
    code = code or f"S{next(_seq)}"
    return site_create(code=code, name=f"地点{code}", actor=None)


def make_unit(
    kind: str,
    *,
    parent: OrgUnit | None = None,
    site: Site | None = None,
    scope_unit: OrgUnit | None = None,
    name: str | None = None,
) -> OrgUnit:
    n = next(_seq)
    return orgunit_create(
        code=f"U{n}",
        name=name or f"单位{n}",
        kind=kind,
        parent=parent,
        site=site or make_site(),
        duty_phone=f"0571-8800{n:04d}",
        managers=managers(),
        scope_unit=scope_unit,
        actor=None,
    )


def make_user(role: str, unit: OrgUnit | None, username: str | None = None) -> User:
    return user_create(username=username or f"u{next(_seq)}", password=PASSWORD, role=role, unit=unit, actor=None)


def make_district(area_class: str = AreaClass.URBAN) -> District:
    n = next(_seq)
    return District.objects.create(code=f"D{n}", name=f"区{n}", area_class=area_class)


@dataclass
class Network:
    substation: Substation
    feeder: Feeder
    areas: list[TransformerArea]


def make_network(unit: OrgUnit, *, areas: int = 2, district: District | None = None) -> Network:
    n = next(_seq)
    sub = Substation.objects.create(code=f"SUB{n}", name=f"{n}号变", lat=30.2, lon=120.1, unit=unit)
    feeder = Feeder.objects.create(code=f"F{n}", name=f"{n}线", substation=sub, unit=unit)
    tas = [
        TransformerArea.objects.create(
            code=f"TA{n}-{i}",
            name=f"{n}线{i}号台区",
            feeder=feeder,
            rated_kva=400,
            lat=30.2 + i / 1000,
            lon=120.1,
            district=district,
            unit=unit,
        )
        for i in range(areas)
    ]
    return Network(sub, feeder, tas)


def make_customer(
    unit: OrgUnit,
    area: TransformerArea | None,
    *,
    district: District | None = None,
    phone: str | None = None,
    **overrides: Any,
) -> Customer:
    n = next(_seq)
    district = district or (area and area.district) or make_district()
    sp = None
    if area is not None:
        sp = ServicePoint.objects.create(code=f"SP{n}", transformer_area=area, meter_no=f"M{n}", lat=30.2, lon=120.1)
    fields: dict[str, Any] = {
        "account_no": f"{3300000000 + n}",
        "name": f"客户{n}",
        "customer_type": "lv_resident",
        "category": "resident",
        "voltage_level": "220V",
        "contract_kva": Decimal("8.0"),
        "address": f"青川市滨江路{n}号",
        "district": district,
        "area_class": district.area_class,
        "service_point": sp,
        "service_unit": unit,
        "opened_on": dt.date(2015, 3, 1),
    }
    fields.update(overrides)
    contacts = [{"name": fields["name"], "phone": phone or f"138{n:08d}"}]
    return customer_create(actor=None, contacts=contacts, **fields)
