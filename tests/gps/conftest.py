"""Vehicles with GPS devices on the shared test city, and a GPS configuration installed per test."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import replace

import pytest

from gridcare.gps import config as gps_config
from gridcare.gps.config import GpsConfig
from gridcare.org.models import OrgUnit
from gridcare.repair.models import Vehicle

_seq = itertools.count(1)


def make_vehicle(crew: OrgUnit, device_id: str | None = None, *, home: tuple[float, float] = (30.2, 120.1)) -> Vehicle:
    n = next(_seq)
    return Vehicle.objects.create(
        plate=f"浙A{n:05d}", crew=crew, gps_device_id=device_id or f"dev-{n}", home_lat=home[0], home_lon=home[1]
    )


# Most tests exercise parsing and storing, not the credential: they run with the ingest opened explicitly.
# The token and the closed default have their own tests (test_security.py).
@pytest.fixture
def gps_cfg() -> Iterator[GpsConfig]:
    config = replace(gps_config.load_config({"GRIDCARE_GPS_OPEN": "true"}), flush_ms=20)
    with gps_config.override(config):
        yield config
