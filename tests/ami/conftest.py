"""Meters in the two-centre city, an ingest configuration with a head-end token, and a consumer that records
what it is given (the repair app's consumer is not part of this app)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

import pytest

from gridcare.ami import config as ami_config
from gridcare.ami import consumers
from gridcare.ami.config import IngestConfig
from gridcare.ami.models import MeterEvent
from gridcare.grid.models import ServicePoint, TransformerArea
from tests.conftest import City

TOKEN = "head-end-secret-0123456789"


@pytest.fixture(autouse=True)
def only_test_consumers() -> Iterator[None]:
    """The ingest is tested against the consumers a test registers, not the repair app's (tests/repair/test_meters
    covers that one end to end)."""
    kept = consumers.registered()
    for func in kept:
        consumers.unregister(func)
    try:
        yield
    finally:
        for func in kept:
            consumers.register(func)


@pytest.fixture
def ami_cfg() -> Iterator[IngestConfig]:
    config = replace(ami_config.load_config({"GRIDCARE_AMI_TOKEN": TOKEN}), flush_ms=20)
    with ami_config.override(config):
        yield config


def add_meters(area: TransformerArea, n: int, prefix: str) -> list[str]:
    """`n` service points with meters under `area`: meter numbers `<prefix>-000` …"""
    numbers = [f"{prefix}-{i:03d}" for i in range(n)]
    ServicePoint.objects.bulk_create(
        ServicePoint(code=f"SP-{m}", transformer_area=area, meter_no=m, lat=area.lat, lon=area.lon) for m in numbers
    )
    return numbers


@pytest.fixture
def meters(city: City) -> dict[str, list[str]]:
    """Four meters under each 台区 of the north feeder and two under the first south one, by 台区 code."""
    north = city.north_net.areas
    return {
        north[0].code: add_meters(north[0], 4, "N0"),
        north[1].code: add_meters(north[1], 4, "N1"),
        city.south_net.areas[0].code: add_meters(city.south_net.areas[0], 2, "S0"),
    }


@dataclass
class Recorder:
    """A consumer: records each call's event ids and `now`; raises while `failing` is set."""

    calls: list[tuple[list[str], dt.datetime]] = field(default_factory=list)
    failing: bool = False

    def __call__(self, events: list[MeterEvent], now: dt.datetime) -> None:
        if self.failing:
            raise RuntimeError("consumer down")
        self.calls.append(([e.event_id for e in events], now))

    @property
    def delivered(self) -> list[str]:
        return [event_id for ids, _ in self.calls for event_id in ids]


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    consumer = Recorder()
    consumers.register(consumer)
    try:
        yield consumer
    finally:
        consumers.unregister(consumer)


def event(event_id: str, meter: str, kind: str = "last_gasp", at: str | int | float = "2026-06-01T08:00:00+08:00"):
    return {"event_id": event_id, "meter_no": meter, "kind": kind, "at": at}


EventFactory = Callable[..., dict[str, object]]
