"""Fixtures of the dsm tests: a north feeder with customers an orderly-use plan can (and cannot) curtail."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from gridcare.customers.models import Customer
from gridcare.notices import config as notice_config
from tests import factories as f
from tests.conftest import City


@dataclass
class Grid:
    city: City
    big: Customer  # large industry, 1000 kVA: may shed 1000 × 0.9 × 50 % = 450 kW at 1 元/kW (+20)
    shop: Customer  # commercial, 500 kVA: 135 kW at 3 元/kW (+20)
    small: Customer  # commercial, 100 kVA: 27 kW at 3 元/kW (+20)
    vip: Customer  # important customer: protected
    closed: Customer  # large industry but closed: never a candidate


@pytest.fixture(autouse=True)
def _inapp_notices(tmp_path: Path) -> Iterator[None]:
    """Notices go to the in-app channel whatever the developer's environment says."""
    env = {"GRIDCARE_NOTICE_CHANNELS": "inapp", "GRIDCARE_OUTBOX_DIR": str(tmp_path / "outbox")}
    notice_config.override(notice_config.load_config(env))
    yield
    notice_config.override(None)


@pytest.fixture
def grid(city: City) -> Grid:
    north = city.north_net.areas
    return Grid(
        city=city,
        big=f.make_customer(city.north, north[0], category="large_industry", contract_kva=Decimal(1000)),
        shop=f.make_customer(city.north, north[1], category="commercial", contract_kva=Decimal(500)),
        small=f.make_customer(city.north, north[1], category="commercial", contract_kva=Decimal(100)),
        vip=f.make_customer(
            city.north, north[0], category="large_industry", contract_kva=Decimal(5000), important_level="first"
        ),
        closed=f.make_customer(
            city.north, north[0], category="large_industry", contract_kva=Decimal(8000), status="closed"
        ),
    )
