"""Writes of the GPS app: storing fixes (batched) and pruning the track history.

Positions are telemetry, not decisions by a person: thousands arrive per second and the track itself is
their history, so storing fixes writes no audit event per fix. Pruning, which destroys history, does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

from gridcare.core import metrics
from gridcare.core.audit import record_event
from gridcare.gps.config import GpsConfig, get_config
from gridcare.gps.filtering import FLAG_JUMP, Decision, LatestState, decide
from gridcare.gps.models import LatestPosition, TrackPoint
from gridcare.gps.parsing import Fix

# Column order of LatestState, which the raw statements below rely on.
LATEST_FIELDS = ["fixed_at", "received_at", "lat", "lon", "speed_kmh", "course", "accuracy", "battery", "jump_streak"]
TRACK_COLUMNS = [
    "device_id",
    "fixed_at",
    "received_at",
    "lat",
    "lon",
    "speed_kmh",
    "course",
    "altitude",
    "accuracy",
    "hdop",
    "battery",
    "flag",
    "source",
    "attributes",
]


@dataclass(frozen=True)
class IngestResult:
    stored: int  # track points written
    moved: int  # devices whose latest position changed
    jumps: int  # fixes refused by the speed filter (kept in the track, flagged)
    duplicates: int  # exact repeats of the latest fix, dropped


def _latest_states(device_ids: list[int]) -> dict[int, LatestState]:
    rows = (
        LatestPosition.objects.select_for_update()
        .filter(device_id__in=device_ids)
        .order_by("device_id")
        .values_list("device_id", *LATEST_FIELDS)
    )
    return {row[0]: LatestState(*row[1:]) for row in rows}


def _stored_history(
    items: Sequence[tuple[int, Fix]], latest: dict[int, LatestState]
) -> set[tuple[int, dt.datetime, float, float]]:
    """Which of the batch's older fixes are already in the track: a client resending a batch whose answer it
    lost. Only fixes not newer than the device's latest can be there, so a live stream costs no query."""
    older: dict[int, set[dt.datetime]] = {}
    for device_id, fix in items:
        state = latest.get(device_id)
        # With a jump pending, newer fixes may be in the track too (flagged): a resent jump must not count
        # twice towards replacing the stored position.
        if state is not None and (fix.fixed_at <= state.fixed_at or state.jump_streak > 0):
            older.setdefault(device_id, set()).add(fix.fixed_at)
    found: set[tuple[int, dt.datetime, float, float]] = set()
    for device_id, times in older.items():
        rows = TrackPoint.objects.filter(device_id=device_id, fixed_at__in=times).values_list("fixed_at", "lat", "lon")
        found.update((device_id, fixed_at, lat, lon) for fixed_at, lat, lon in rows)
    return found


def _pending_jumps(latest: dict[int, LatestState]) -> dict[int, tuple[dt.datetime, float, float]]:
    """The last jump of each device that has a jump streak (rare: one query per such device)."""
    pending = {}
    for device_id, state in latest.items():
        if state.jump_streak > 0:
            row = (
                TrackPoint.objects.filter(device_id=device_id, flag=FLAG_JUMP)
                .order_by("-fixed_at")
                .values_list("fixed_at", "lat", "lon")
                .first()
            )
            if row is not None:
                pending[device_id] = row
    return pending


def _datetime_adapter() -> Callable[[dt.datetime], Any]:
    """Django's own adapter, or the same result without its per-call overhead on SQLite stored in UTC."""
    if connection.vendor == "sqlite" and connection.timezone_name == "UTC":
        return lambda value: str(value.astimezone(dt.UTC).replace(tzinfo=None))
    return connection.ops.adapt_datetimefield_value


# bulk-write: see core/bulk.py
def _bulk_write(decisions: Sequence[Decision], changed: dict[int, LatestState], received_at: dt.datetime) -> None:
    """The ingest's only write: every decided fix into the track, the changed latest rows upserted.

    Two executemany statements instead of bulk_create and update_or_create: building model instances cost
    more than the insert itself. The column lists are written out here (with LATEST_FIELDS, TRACK_COLUMNS) so
    this one function can switch to the _meta-driven core/bulk.py when it lands, without touching the rest.
    The upsert is INSERT … ON CONFLICT (device_id) DO UPDATE: understood by SQLite ≥ 3.24 and PostgreSQL alike.
    """
    ops = connection.ops
    adapt = _datetime_adapter()
    statements: list[tuple[str, list[tuple[Any, ...]]]] = []
    if decisions:
        table = ops.quote_name(TrackPoint._meta.db_table)
        columns = ", ".join(ops.quote_name(c) for c in TRACK_COLUMNS)
        placeholders = ", ".join(["%s"] * len(TRACK_COLUMNS))
        received = adapt(received_at)
        rows = [
            (
                d.device_id,
                adapt(d.fix.fixed_at),
                received,
                d.fix.lat,
                d.fix.lon,
                d.fix.speed_kmh,
                d.fix.course,
                d.fix.altitude,
                d.fix.accuracy,
                d.fix.hdop,
                d.fix.battery,
                d.flag,
                d.fix.fmt,
                ops.adapt_json_value(d.fix.attributes, None),
            )
            for d in decisions
        ]
        statements.append((f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", rows))  # noqa: S608 - names from _meta
    if changed:
        table = ops.quote_name(LatestPosition._meta.db_table)
        names = ["device_id", *LATEST_FIELDS]
        columns = ", ".join(ops.quote_name(c) for c in names)
        updates = ", ".join(f"{ops.quote_name(c)} = excluded.{ops.quote_name(c)}" for c in LATEST_FIELDS)
        placeholders = ", ".join(["%s"] * len(names))
        latest_rows = [
            (
                device_id,
                adapt(s.fixed_at),
                adapt(s.received_at),
                s.lat,
                s.lon,
                s.speed_kmh,
                s.course,
                s.accuracy,
                s.battery,
                s.jump_streak,
            )
            for device_id, s in sorted(changed.items())
        ]
        sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) ON CONFLICT (device_id) DO UPDATE SET {updates}"  # noqa: S608
        statements.append((sql, latest_rows))
    with connection.cursor() as cursor:
        for sql, params in statements:
            cursor.executemany(sql, params)


def positions_ingest(
    *, items: Sequence[tuple[int, Fix]], received_at: dt.datetime, config: GpsConfig | None = None
) -> IngestResult:
    """Store a batch of (device pk, fix): every fix into the track, the newest plausible one as the latest.

    The latest rows of the batch's devices are locked (in device order, so concurrent writers cannot
    deadlock) for the read-decide-upsert, so the web endpoint and the listener can write side by side.
    """
    config = config or get_config()
    if not items:
        return IngestResult(0, 0, 0, 0)
    device_ids = sorted({device_id for device_id, _ in items})
    with transaction.atomic():
        latest = _latest_states(device_ids)
        outcome = decide(
            items,
            latest,
            received_at=received_at,
            max_speed_kmh=config.max_speed_kmh if config.speed_filter else None,
            jump_reset=config.jump_reset_count,
            stored=_stored_history(items, latest),
            pending=_pending_jumps(latest),
        )
        _bulk_write(outcome.decisions, outcome.changed, received_at)
    moved = len({d.device_id for d in outcome.decisions if d.moves_latest})
    metrics.gps_positions(len(outcome.decisions), accepted=True)
    return IngestResult(len(outcome.decisions), moved, outcome.jumps, outcome.duplicates)


def track_prune(*, now: dt.datetime, actor: object = None, batch: int = 10_000, config: GpsConfig | None = None) -> int:
    """Delete one batch of track points older than the retention period; returns how many were deleted.

    Deleting is idempotent, so two workers pruning at once only share the work.
    """
    config = config or get_config()
    cutoff = now - dt.timedelta(days=config.retention_days)
    with transaction.atomic():
        ids = list(
            TrackPoint.objects.filter(fixed_at__lt=cutoff).order_by("fixed_at").values_list("id", flat=True)[:batch]
        )
        if not ids:
            return 0
        deleted, _ = TrackPoint.objects.filter(id__in=ids).delete()
        record_event(
            actor=actor or "GPS 轨迹清理",
            action="gps.track_pruned",
            subject_type="gps.trackpoint",
            subject_label=f"{config.retention_days} 天前的轨迹",
            new={"deleted": deleted, "cutoff": cutoff.isoformat()},
            at=now,
        )
    return deleted
