"""Registered GPS devices, and a GPS configuration installed per test."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import replace

import pytest

from gridcare.gps import config as gps_config
from gridcare.gps.config import GpsConfig
from gridcare.gps.models import Device

_seq = itertools.count(1)


def make_device(unique_id: str | None = None, *, disabled: bool = False) -> Device:
    n = next(_seq)
    return Device.objects.create(unique_id=unique_id or f"dev-{n}", name=f"浙A{n:05d}", disabled=disabled)


# Most tests exercise parsing and storing, not the credential: they run with the ingest opened explicitly.
# The token and the closed default have their own tests (test_security.py).
@pytest.fixture
def gps_cfg() -> Iterator[GpsConfig]:
    config = replace(gps_config.load_config({"GRIDCARE_GPS_OPEN": "true"}), flush_ms=20)
    with gps_config.override(config):
        yield config
