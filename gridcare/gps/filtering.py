"""Which fixes move a device's latest position: order, duplicates and the speed filter. Pure (no database).

Rules, applied per device in fix-time order:
- a fix the device marks invalid is kept in the track (flag `invalid`) and moves nothing;
- a fix not newer than the latest is history only (buffered fixes sent late); an exact repeat (same time
  and place) of the latest, of a fix already in the track, or of another fix in the same request — a client
  resending a batch after a lost answer — is dropped;
- "newer" is judged on the fix time, but never later than the time the fix was received: a phone whose
  clock runs minutes ahead must not freeze its device until the real time catches up with it;
- a newer fix whose implied speed from the latest exceeds the limit (plus a jitter allowance) is a jump:
  kept in the track with flag `jump`, the latest stays. After `jump_reset` jumps in a row that agree
  with each other the stored position is the one that was wrong (e.g. a bad first fix), so the newest fix
  replaces it; jumps that disagree with each other (random garbage) start the count again;
- anything else becomes the latest position.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace

from gridcare.core.geo import haversine_m
from gridcare.gps.parsing import Fix

# GPS noise: two fixes a second apart can sit tens of metres apart while the vehicle stands still.
JITTER_ALLOWANCE_M = 100.0

FLAG_OK, FLAG_JUMP, FLAG_INVALID = "ok", "jump", "invalid"


@dataclass(frozen=True)
class LatestState:
    fixed_at: dt.datetime
    received_at: dt.datetime
    lat: float
    lon: float
    speed_kmh: float | None = None
    course: float | None = None
    accuracy: float | None = None
    battery: float | None = None
    jump_streak: int = 0

    @classmethod
    def from_fix(cls, fix: Fix, received_at: dt.datetime) -> LatestState:
        return cls(
            fixed_at=fix.fixed_at,
            received_at=received_at,
            lat=fix.lat,
            lon=fix.lon,
            speed_kmh=fix.speed_kmh,
            course=fix.course,
            accuracy=fix.accuracy,
            battery=fix.battery,
        )


@dataclass(frozen=True)
class Decision:
    device_id: int
    fix: Fix
    flag: str
    moves_latest: bool


@dataclass
class Outcome:
    decisions: list[Decision]
    changed: dict[int, LatestState]  # latest rows to upsert
    duplicates: int = 0

    @property
    def jumps(self) -> int:
        return sum(1 for d in self.decisions if d.flag == FLAG_JUMP)


def _order(fixed_at: dt.datetime, received_at: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """What "newer" compares: the fix time but no later than its receipt, then the fix time itself (the
    fixes of one request were all received at once)."""
    return min(fixed_at, received_at), fixed_at


def implied_speed_too_high(
    previous: LatestState, fix: Fix, max_speed_kmh: float, received_at: dt.datetime | None = None
) -> bool:
    seconds = (fix.fixed_at - previous.fixed_at).total_seconds()
    if received_at is not None:
        # A stored fix stamped ahead of its receipt (a fast phone clock) must not make the next one look
        # like a jump: the time between receipts counts too.
        seconds = max(
            seconds, (min(fix.fixed_at, received_at) - min(previous.fixed_at, previous.received_at)).total_seconds()
        )
    return _out_of_reach(previous.lat, previous.lon, fix, seconds, max_speed_kmh)


def _out_of_reach(lat: float, lon: float, fix: Fix, seconds: float, max_speed_kmh: float) -> bool:
    """Farther from (lat, lon) than the speed limit allows in `seconds`, GPS jitter aside."""
    distance = haversine_m(lat, lon, fix.lat, fix.lon)
    return distance > max_speed_kmh / 3.6 * max(seconds, 0.0) + JITTER_ALLOWANCE_M


def _too_fast(previous: tuple[dt.datetime, float, float], fix: Fix, max_speed_kmh: float) -> bool:
    at, lat, lon = previous
    return _out_of_reach(lat, lon, fix, (fix.fixed_at - at).total_seconds(), max_speed_kmh)


def decide(
    items: Sequence[tuple[int, Fix]],
    latest: dict[int, LatestState],
    *,
    received_at: dt.datetime,
    max_speed_kmh: float | None,
    jump_reset: int,
    stored: set[tuple[int, dt.datetime, float, float]] | None = None,
    pending: dict[int, tuple[dt.datetime, float, float]] | None = None,
) -> Outcome:
    """Classify `items` (device pk, fix) against the stored `latest` states; `max_speed_kmh=None` turns the
    speed filter off. `stored`: (device pk, fix time, lat, lon) of fixes already in the track; `pending`:
    the last jump of each device with a jump streak, (fix time, lat, lon)."""
    stored = stored or set()
    pending = dict(pending or {})
    by_device: dict[int, list[Fix]] = defaultdict(list)
    for device_id, fix in items:
        by_device[device_id].append(fix)
    outcome = Outcome(decisions=[], changed={})
    for device_id, fixes in by_device.items():
        current = latest.get(device_id)
        seen: set[tuple[dt.datetime, float, float]] = set()
        for fix in sorted(fixes, key=lambda f: f.fixed_at):
            key = (fix.fixed_at, fix.lat, fix.lon)
            if key in seen or (device_id, *key) in stored:
                outcome.duplicates += 1
                continue
            seen.add(key)
            if not fix.valid:
                outcome.decisions.append(Decision(device_id, fix, FLAG_INVALID, False))
                continue
            if current is not None and _order(fix.fixed_at, received_at) <= _order(
                current.fixed_at, current.received_at
            ):
                if fix.fixed_at == current.fixed_at and (fix.lat, fix.lon) == (current.lat, current.lon):
                    outcome.duplicates += 1
                    continue
                outcome.decisions.append(Decision(device_id, fix, FLAG_OK, False))
                continue
            if (
                current is not None
                and max_speed_kmh is not None
                and implied_speed_too_high(current, fix, max_speed_kmh, received_at)
            ):
                previous_jump = pending.get(device_id)
                agrees = (
                    current.jump_streak > 0
                    and previous_jump is not None
                    and not _too_fast(previous_jump, fix, max_speed_kmh)
                )
                streak = current.jump_streak + 1 if agrees else 1
                if streak < jump_reset:
                    current = replace(current, jump_streak=streak)
                    pending[device_id] = (fix.fixed_at, fix.lat, fix.lon)
                    outcome.changed[device_id] = current
                    outcome.decisions.append(Decision(device_id, fix, FLAG_JUMP, False))
                    continue
            current = LatestState.from_fix(fix, received_at)
            outcome.changed[device_id] = current
            outcome.decisions.append(Decision(device_id, fix, FLAG_OK, True))
    return outcome
