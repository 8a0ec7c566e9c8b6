"""Storing fixes: latest position per device, out-of-order fixes, the speed filter, retention."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from gridcare.core.models import Event
from gridcare.gps.config import GpsConfig
from gridcare.gps.models import FixFlag, LatestPosition, TrackPoint
from gridcare.gps.parsing import Fix
from gridcare.gps.services import positions_ingest, track_prune
from gridcare.gps.tasks import handle_prune
from tests.gps.conftest import make_device

T0 = dt.datetime(2025, 6, 1, 8, 0, tzinfo=dt.UTC)


def fix(device: str, minutes: float, lat: float = 30.2, lon: float = 120.1, **kw: object) -> Fix:
    return Fix(device_id=device, fixed_at=T0 + dt.timedelta(minutes=minutes), lat=lat, lon=lon, **kw)  # type: ignore[arg-type]


def ingest(device_pk: int, *fixes: Fix, config: GpsConfig, at: dt.datetime = T0) -> object:
    return positions_ingest(items=[(device_pk, x) for x in fixes], received_at=at, config=config)


def test_latest_is_the_newest_fix_and_late_fixes_only_join_the_track(city, gps_cfg) -> None:
    v = make_device()
    ingest(v.pk, fix("d", 0), fix("d", 2, lat=30.21), config=gps_cfg)
    ingest(v.pk, fix("d", 1, lat=30.205), config=gps_cfg)  # buffered on the phone, sent late
    latest = LatestPosition.objects.get(device=v)
    assert latest.fixed_at == T0 + dt.timedelta(minutes=2) and latest.lat == 30.21
    assert list(TrackPoint.objects.filter(device=v).order_by("fixed_at").values_list("lat", flat=True)) == [
        30.2,
        30.205,
        30.21,
    ]


def test_one_latest_row_per_device_is_upserted(city, gps_cfg) -> None:
    a, b = make_device(), make_device()
    for minute in range(5):
        positions_ingest(
            items=[(a.pk, fix("a", minute, lat=30.2 + minute / 1000)), (b.pk, fix("b", minute))],
            received_at=T0,
            config=gps_cfg,
        )
    assert LatestPosition.objects.count() == 2
    assert LatestPosition.objects.get(device=a).lat == pytest.approx(30.204)
    assert TrackPoint.objects.count() == 10


def test_a_jump_faster_than_the_limit_is_kept_flagged_and_does_not_move_the_device(city, gps_cfg) -> None:
    v = make_device()
    ingest(v.pk, fix("d", 0), config=gps_cfg)
    result = ingest(v.pk, fix("d", 1, lat=31.2), config=gps_cfg)  # 111 km in one minute
    assert result.jumps == 1 and result.moved == 0
    assert LatestPosition.objects.get(device=v).lat == 30.2
    assert TrackPoint.objects.get(device=v, lat=31.2).flag == FixFlag.JUMP
    # a plausible next fix (10 km in 10 minutes) is accepted again
    ingest(v.pk, fix("d", 11, lat=30.29), config=gps_cfg)
    assert LatestPosition.objects.get(device=v).lat == 30.29


def test_repeated_jumps_replace_a_wrong_stored_position(city, gps_cfg) -> None:
    v = make_device()
    ingest(v.pk, fix("d", 0, lat=45.0), config=gps_cfg)  # a bad first fix far away
    for minute in (1, 2):
        ingest(v.pk, fix("d", minute), config=gps_cfg)
        assert LatestPosition.objects.get(device=v).lat == 45.0
    ingest(v.pk, fix("d", 3), config=gps_cfg)  # the third disagreeing fix in a row wins
    latest = LatestPosition.objects.get(device=v)
    assert latest.lat == 30.2 and latest.jump_streak == 0


def test_speed_filter_can_be_turned_off(city, gps_cfg) -> None:
    v = make_device()
    off = replace(gps_cfg, speed_filter=False)
    ingest(v.pk, fix("d", 0), config=off)
    ingest(v.pk, fix("d", 1, lat=31.2), config=off)
    assert LatestPosition.objects.get(device=v).lat == 31.2


def test_exact_repeat_is_dropped_and_invalid_fix_is_flagged(city, gps_cfg) -> None:
    v = make_device()
    ingest(v.pk, fix("d", 0), config=gps_cfg)
    result = ingest(v.pk, fix("d", 0), fix("d", 1, lat=30.3, valid=False), config=gps_cfg)
    assert result.duplicates == 1
    assert TrackPoint.objects.filter(device=v).count() == 2
    assert TrackPoint.objects.get(device=v, lat=30.3).flag == FixFlag.INVALID
    assert LatestPosition.objects.get(device=v).lat == 30.2


def test_prune_deletes_only_points_older_than_retention_and_records_it(city, gps_cfg) -> None:
    v = make_device()
    ingest(v.pk, fix("d", 0), fix("d", 60 * 24 * 100, lat=30.3), config=gps_cfg)
    now = T0 + dt.timedelta(days=100, hours=1)
    assert track_prune(now=now, config=gps_cfg) == 1  # the 100-day-old point, with 90-day retention
    assert track_prune(now=now, config=gps_cfg) == 0
    assert list(TrackPoint.objects.values_list("lat", flat=True)) == [30.3]
    assert Event.objects.filter(action="gps.track_pruned").count() == 1


def test_prune_job_is_registered_and_uses_the_installed_config(city, gps_cfg) -> None:
    v = make_device()
    ingest(v.pk, fix("d", 0), config=gps_cfg)
    assert handle_prune(T0 + dt.timedelta(days=89)) == 0
    assert handle_prune(T0 + dt.timedelta(days=91)) == 1


def test_a_resent_batch_and_repeated_old_fixes_are_stored_once(city, gps_cfg) -> None:
    v = make_device()
    batch = [fix("d", m, lat=30.2 + m / 1000) for m in range(3)]
    ingest(v.pk, *batch, config=gps_cfg, at=T0 + dt.timedelta(minutes=3))
    # The answer was lost: the phone resends the batch with one new fix, and an old fix twice in one request.
    again = ingest(v.pk, *batch, batch[0], fix("d", 3, lat=30.203), config=gps_cfg, at=T0 + dt.timedelta(minutes=4))
    assert again.stored == 1 and again.duplicates == 4  # type: ignore[attr-defined]
    late = fix("d", 2.5, lat=30.2025)
    ingest(v.pk, late, config=gps_cfg, at=T0 + dt.timedelta(minutes=5))
    ingest(v.pk, late, config=gps_cfg, at=T0 + dt.timedelta(minutes=6))
    times = list(TrackPoint.objects.filter(device=v).order_by("fixed_at").values_list("fixed_at", flat=True))
    assert times == [T0 + dt.timedelta(minutes=m) for m in (0, 1, 2, 2.5, 3)]


def test_a_phone_clock_running_ahead_does_not_freeze_the_device(city, gps_cfg) -> None:
    v = make_device()
    # Stamped five minutes ahead of its receipt (within the accepted skew), then the clock is corrected.
    ingest(v.pk, fix("d", 5, lat=30.2), config=gps_cfg, at=T0)
    ingest(v.pk, fix("d", 0.5, lat=30.2004), config=gps_cfg, at=T0 + dt.timedelta(seconds=30))
    latest = LatestPosition.objects.get(device=v)
    assert (latest.lat, latest.fixed_at) == (30.2004, T0 + dt.timedelta(seconds=30))
    assert not TrackPoint.objects.filter(device=v, flag=FixFlag.JUMP).exists()


def test_a_resent_or_random_jump_never_replaces_the_position(city, gps_cfg) -> None:
    v = make_device()
    ingest(v.pk, fix("d", 0), config=gps_cfg)
    bogus = fix("d", 0.2, lat=31.5, lon=121.5)  # 180 km away 12 s later
    for _ in range(3):  # the phone resends it (its answer was lost)
        ingest(v.pk, bogus, config=gps_cfg)
    assert LatestPosition.objects.get(device=v).lat == 30.2
    assert TrackPoint.objects.filter(device=v, flag=FixFlag.JUMP).count() == 1
    # Three jumps that disagree with each other (garbage from a broken receiver) do not win either.
    for minute, (lat, lon) in zip((1, 2, 3), ((10.0, 100.0), (-33.0, 151.0), (51.5, -0.1)), strict=True):
        ingest(v.pk, fix("d", minute, lat=lat, lon=lon), config=gps_cfg)
    latest = LatestPosition.objects.get(device=v)
    assert (latest.lat, latest.lon) == (30.2, 120.1) and latest.jump_streak == 1
