"""Where a vehicle is: its device's latest fix or its home, the positions a user may see, a vehicle's track."""

from __future__ import annotations

import datetime as dt
from itertools import count

from gridcare.gps.config import GpsConfig, load_config
from gridcare.gps.models import Device
from gridcare.gps.parsing import Fix
from gridcare.gps.services import positions_ingest
from gridcare.org.models import OrgUnit
from gridcare.repair import selectors
from gridcare.repair.models import Vehicle
from tests import factories as f
from tests.conftest import City

T0 = dt.datetime(2025, 6, 1, 8, 0, tzinfo=dt.UTC)
_plates = count(1)
# Positions are stored directly through the ingest service; the HTTP and token side is tested in tests/gps.
CONFIG = load_config({"GRIDCARE_GPS_OPEN": "true"})


def make_vehicle(crew: OrgUnit, *, home: tuple[float, float] = (30.2, 120.1), tracker: bool = True) -> Vehicle:
    n = next(_plates)
    return Vehicle.objects.create(
        plate=f"浙A·P{n:04d}",
        crew=crew,
        device=f.make_device(f"pos-{n}") if tracker else None,
        home_lat=home[0],
        home_lon=home[1],
    )


def fix(device: str, minutes: float, lat: float = 30.2, lon: float = 120.1, **kw: object) -> Fix:
    return Fix(device_id=device, fixed_at=T0 + dt.timedelta(minutes=minutes), lat=lat, lon=lon, **kw)  # type: ignore[arg-type]


def ingest(vehicle: Vehicle, *fixes: Fix, config: GpsConfig) -> None:
    assert vehicle.device_id is not None
    positions_ingest(items=[(vehicle.device_id, x) for x in fixes], received_at=T0, config=config)


def test_latest_positions_by_scope_crew_and_unit_subtree(city: City) -> None:
    crew_south = f.make_unit(OrgUnit.Kind.CREW, parent=city.south, name="城南一班")
    north_v, south_v = make_vehicle(city.crew_north), make_vehicle(crew_south)
    ingest(north_v, fix("n", 0), config=CONFIG)
    ingest(south_v, fix("s", 0), config=CONFIG)
    # A device on no vehicle belongs to nobody's scope.
    loose = Device.objects.create(unique_id="loose-1")
    positions_ingest(items=[(loose.pk, fix("l", 0))], received_at=T0, config=CONFIG)

    def ids(qs: object) -> set[int]:
        return {p.device.vehicle.pk for p in qs}  # type: ignore[attr-defined]

    assert ids(selectors.latest_positions(city.admin)) == {north_v.pk, south_v.pk}
    assert ids(selectors.latest_positions(city.dispatcher_north)) == {north_v.pk}
    assert ids(selectors.latest_positions(city.admin, crew=crew_south)) == {south_v.pk}
    assert ids(selectors.latest_positions(city.admin, unit=city.north)) == {north_v.pk}
    assert ids(selectors.latest_positions(city.dispatcher_north, unit=city.south)) == set()


def test_vehicle_position_falls_back_to_home(city: City) -> None:
    parked = make_vehicle(city.crew_north, home=(30.3, 120.3))
    moving = make_vehicle(city.crew_north)
    untracked = make_vehicle(city.crew_north, home=(30.4, 120.4), tracker=False)
    ingest(moving, fix("m", 0, lat=30.25, speed_kmh=40.0), config=CONFIG)
    home = selectors.vehicle_position(parked)
    assert (home.lat, home.lon, home.source, home.fixed_at) == (30.3, 120.3, "home", None)
    gps = selectors.vehicle_position(moving)
    assert (gps.lat, gps.source, gps.speed_kmh, gps.fixed_at) == (30.25, "gps", 40.0, T0)
    both = selectors.vehicle_positions([parked, moving, untracked])
    assert both[parked.pk].source == "home" and both[moving.pk].source == "gps"
    assert (both[untracked.pk].lat, both[untracked.pk].source) == (30.4, "home")


def test_a_fix_received_before_fresh_after_counts_as_none(city: City) -> None:
    v = make_vehicle(city.crew_north, home=(30.3, 120.3))
    ingest(v, fix("d", 0, lat=30.25), config=CONFIG)  # received at T0
    assert selectors.vehicle_positions([v], fresh_after=T0)[v.pk].source == "gps"
    stale = selectors.vehicle_positions([v], fresh_after=T0 + dt.timedelta(seconds=1))[v.pk]
    assert (stale.lat, stale.source) == (30.3, "home")


def test_track_between_two_instants_without_flagged_points(city: City) -> None:
    v = make_vehicle(city.crew_north)
    ingest(v, fix("d", 0), fix("d", 5, lat=30.21), fix("d", 6, lat=35.0), fix("d", 10, lat=30.22), config=CONFIG)
    track = selectors.vehicle_track(
        city.admin, vehicle=v, start=T0 + dt.timedelta(minutes=1), end=T0 + dt.timedelta(minutes=10)
    )
    assert [p.lat for p in track] == [30.21]
    flagged = selectors.vehicle_track(
        city.admin, vehicle=v, start=T0, end=T0 + dt.timedelta(hours=1), include_flagged=True
    )
    assert [p.lat for p in flagged] == [30.2, 30.21, 35.0, 30.22]
    other = f.make_unit(OrgUnit.Kind.CREW, parent=city.south, name="城南二班")
    outsider = f.make_user("dispatcher", city.south, "disp_s2")
    assert other and not selectors.vehicle_track(outsider, vehicle=v, start=T0, end=T0 + dt.timedelta(hours=1)).exists()
    untracked = make_vehicle(city.crew_north, tracker=False)
    assert not selectors.vehicle_track(city.admin, vehicle=untracked, start=T0, end=T0 + dt.timedelta(hours=1)).exists()
