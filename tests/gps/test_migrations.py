"""The move of the GPS device from repair.Vehicle to gps.Device carries existing rows over, both ways.

Runs the real migrations with Django's MigrationExecutor on a database holding vehicles, track points and
latest positions in the old schema (SQLite here, PostgreSQL in the CI leg).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("gps", "0001_initial"), ("repair", "0004_outage_cancelled")]
# Devices exist, vehicles still hold their ids and positions their vehicles.
DEVICES_MADE = [("gps", "0003_device_positions"), ("repair", "0005_vehicle_device")]
T0 = dt.datetime(2025, 6, 1, 8, 0, tzinfo=dt.UTC)


def _migrate(targets: list[tuple[str, str]]) -> Any:
    """Migrate to `targets`; the historical apps at that state."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


def _latest() -> list[tuple[str, str]]:
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


@pytest.fixture
def old_schema() -> Iterator[Any]:
    apps = _migrate(BEFORE)
    yield apps
    _migrate(_latest())  # leave the database as every other test expects it


def _old_fleet(apps: Any) -> dict[str, Any]:
    site = apps.get_model("org", "Site").objects.create(code="M", name="migration site")
    crew = apps.get_model("org", "OrgUnit").objects.create(
        code="M-CREW", name="migration crew", kind="crew", site=site, duty_phone="0"
    )
    vehicle = apps.get_model("repair", "Vehicle")
    made = {
        plate: vehicle.objects.create(plate=plate, crew=crew, gps_device_id=device, home_lat=30.2, home_lon=120.1)
        for plate, device in [("浙A·M0001", "phone-1"), ("浙A·M0002", "phone-2"), ("浙A·M0003", "")]
    }
    track = apps.get_model("gps", "TrackPoint")
    latest = apps.get_model("gps", "LatestPosition")
    for minute, lat in enumerate([30.2, 30.201, 30.202]):
        track.objects.create(
            vehicle=made["浙A·M0001"],
            fixed_at=T0 + dt.timedelta(minutes=minute),
            received_at=T0,
            lat=lat,
            lon=120.1,
            source="query",
        )
    track.objects.create(vehicle=made["浙A·M0002"], fixed_at=T0, received_at=T0, lat=31.0, lon=121.0, source="json")
    latest.objects.create(
        vehicle=made["浙A·M0001"], fixed_at=T0 + dt.timedelta(minutes=2), received_at=T0, lat=30.202, lon=120.1
    )
    latest.objects.create(vehicle=made["浙A·M0002"], fixed_at=T0, received_at=T0, lat=31.0, lon=121.0, jump_streak=2)
    return made


def test_devices_are_made_from_vehicles_and_positions_follow_them(old_schema: Any) -> None:
    made = _old_fleet(old_schema)
    apps = _migrate(_latest())

    device = apps.get_model("gps", "Device")
    vehicle = apps.get_model("repair", "Vehicle")
    assert sorted(device.objects.values_list("unique_id", "name", "disabled")) == [
        ("phone-1", "浙A·M0001", False),
        ("phone-2", "浙A·M0002", False),
    ]
    by_plate = {v.plate: v.device_id for v in vehicle.objects.all()}
    phone1 = device.objects.get(unique_id="phone-1").pk
    phone2 = device.objects.get(unique_id="phone-2").pk
    assert by_plate == {"浙A·M0001": phone1, "浙A·M0002": phone2, "浙A·M0003": None}

    track = apps.get_model("gps", "TrackPoint")
    assert sorted(track.objects.values_list("device_id", "lat")) == [
        (phone1, 30.2),
        (phone1, 30.201),
        (phone1, 30.202),
        (phone2, 31.0),
    ]
    latest = apps.get_model("gps", "LatestPosition")
    assert sorted(latest.objects.values_list("device_id", "lat", "jump_streak")) == [
        (phone1, 30.202, 0),
        (phone2, 31.0, 2),
    ]
    assert set(made) == set(by_plate)


def test_migrating_back_restores_the_vehicle_columns(old_schema: Any) -> None:
    made = _old_fleet(old_schema)
    _migrate(_latest())
    apps = _migrate(BEFORE)

    vehicle = apps.get_model("repair", "Vehicle")
    ids = dict(vehicle.objects.values_list("plate", "gps_device_id"))
    # The vehicle that had no tracker gets a placeholder: the old column could not be empty.
    assert ids == {"浙A·M0001": "phone-1", "浙A·M0002": "phone-2", "浙A·M0003": f"vehicle-{made['浙A·M0003'].pk}"}
    track = apps.get_model("gps", "TrackPoint")
    assert sorted(track.objects.values_list("vehicle_id", "lat")) == [
        (made["浙A·M0001"].pk, 30.2),
        (made["浙A·M0001"].pk, 30.201),
        (made["浙A·M0001"].pk, 30.202),
        (made["浙A·M0002"].pk, 31.0),
    ]
    latest = apps.get_model("gps", "LatestPosition")
    assert sorted(latest.objects.values_list("vehicle_id", "jump_streak")) == [
        (made["浙A·M0001"].pk, 0),
        (made["浙A·M0002"].pk, 2),
    ]


def test_forwards_again_reuses_the_devices_it_made(old_schema: Any) -> None:
    _old_fleet(old_schema)
    _migrate(_latest())
    _migrate(DEVICES_MADE)  # back to before the data moved; the device table and its rows stay
    apps = _migrate(_latest())
    device = apps.get_model("gps", "Device")
    assert sorted(device.objects.values_list("unique_id", flat=True)) == ["phone-1", "phone-2"]
    assert apps.get_model("gps", "TrackPoint").objects.count() == 4
