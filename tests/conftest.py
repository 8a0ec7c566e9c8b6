"""Named actors and a two-centre city, in the style of healthchecks' BaseTestCase."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.db import connection
from django.test import Client

from gridcare.customers.models import Customer
from gridcare.org.models import OrgUnit, User
from gridcare.org.roles import Role
from tests import factories as f

pytest_plugins = ["tests.browser"]


@dataclass
class City:
    company: OrgUnit
    center: OrgUnit
    north: OrgUnit
    south: OrgUnit
    crew_north: OrgUnit
    marketing: OrgUnit
    agent: User
    shift_lead: User
    handler: User
    quality: User
    dispatcher_north: User
    dispatcher_south: User
    crew_member: User
    analyst: User
    admin: User
    north_net: f.Network
    south_net: f.Network
    north_customer: Customer
    south_customer: Customer


def ensure_reference_data() -> None:
    """Transactional (browser, concurrency) tests flush the tables the data migrations seeded; put them back."""
    from django.apps import apps

    from gridcare.core.models import CalendarYear
    from gridcare.workorders import taxonomy
    from gridcare.workorders.models import Category

    if not CalendarYear.objects.exists():
        import importlib

        importlib.import_module("gridcare.core.migrations.0004_seed_calendar").seed(apps, None)
    if not Category.objects.exists():
        taxonomy.load(apps)
    from gridcare.core import refdata
    from gridcare.core.calendar import invalidate_calendar

    invalidate_calendar()
    refdata.changed()


@pytest.fixture
def city(db: None) -> City:
    ensure_reference_data()
    company = f.make_unit(OrgUnit.Kind.COMPANY, name="青川供电公司")
    center = f.make_unit(OrgUnit.Kind.CENTER_95598, parent=company, scope_unit=company, name="95598 中心")
    site_n, site_s = f.make_site("N"), f.make_site("S")
    north = f.make_unit(OrgUnit.Kind.REPAIR_CENTER, parent=company, site=site_n, name="城北报修中心")
    south = f.make_unit(OrgUnit.Kind.REPAIR_CENTER, parent=company, site=site_s, name="城南报修中心")
    crew_north = f.make_unit(OrgUnit.Kind.CREW, parent=north, site=site_n, scope_unit=north, name="城北一班")
    marketing = f.make_unit(OrgUnit.Kind.DEPARTMENT, parent=company, scope_unit=company, name="营销部")
    urban, rural = f.make_district("urban"), f.make_district("rural")
    north_net = f.make_network(north, district=urban)
    south_net = f.make_network(south, district=rural)
    return City(
        company=company,
        center=center,
        north=north,
        south=south,
        crew_north=crew_north,
        marketing=marketing,
        agent=f.make_user(Role.AGENT, center, "agent"),
        shift_lead=f.make_user(Role.SHIFT_LEAD, center, "lead"),
        handler=f.make_user(Role.DEPARTMENT, marketing, "handler"),
        quality=f.make_user(Role.QUALITY, center, "quality"),
        dispatcher_north=f.make_user(Role.DISPATCHER, north, "disp_n"),
        dispatcher_south=f.make_user(Role.DISPATCHER, south, "disp_s"),
        crew_member=f.make_user(Role.CREW, crew_north, "crew1"),
        analyst=f.make_user(Role.ANALYST, center, "analyst"),
        admin=f.make_user(Role.ADMIN, None, "admin"),
        north_net=north_net,
        south_net=south_net,
        north_customer=f.make_customer(north, north_net.areas[0], phone="13812345678", name="王小明"),
        south_customer=f.make_customer(south, south_net.areas[0], name="赵大海"),
    )


def login(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """PostgreSQL-only tests skip, with a visible reason, when the suite runs on SQLite."""
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" in engine:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://… (CI's second leg runs these)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def vendor() -> str:
    return connection.vendor
