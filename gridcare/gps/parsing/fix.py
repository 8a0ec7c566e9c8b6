"""What a fix is and the bounds every reader's fix must meet: the normalised `Fix`, the request it came in,
the parse options, the rejection, and the hard limits checked once after unit conversion."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field
from typing import Any, Literal

Format = Literal["query", "form", "json", "mqtt"]

KMH_PER_UNIT = {"kn": 1.852, "kmh": 1.0, "mps": 3.6, "mph": 1.609344}
DEVICE_KEYS = ("id", "deviceid", "device_id")
IGNORED_KEYS = {"_", "token"}
MAX_DEVICE_ID = 64
MAX_FIELDS = 64
MAX_ATTRIBUTE_CHARS = 200
MAX_FIXES_PER_REQUEST = 500
MAX_PLAUSIBLE_SPEED_KMH = 1200.0  # faster than an airliner
# Hard bounds, checked after unit conversion: a value beyond them is not a reading but garbage or an attack
# (1e308 knots overflows to infinity, which no JSON column and no ranking can hold), and the fix is refused.
# Between the plausible and the hard speed a broken sensor or a unit mix-up is stored as unknown (below).
MAX_SPEED_KMH = 20_000.0
MAX_COURSE = 720.0  # some trackers count past a full turn; wrapped to 0–360
ALTITUDE_RANGE_M = (-12_000.0, 100_000.0)  # the deepest trench to the edge of space
MAX_ACCURACY_M = 1_000_000.0  # a cell-tower fix can be tens of kilometres off, not a thousand
MAX_HDOP = 1_000.0
MAX_NUMBER_CHARS = 64
MAX_TIMESTAMP_CHARS = 40


# What hostile input could still raise below the explicit checks; turned into a 400, never a crash.
UNEXPECTED = (ValueError, TypeError, OverflowError, KeyError, AttributeError, RecursionError, OSError)


class GpsRejected(Exception):
    """A request we will not store. `status` is the HTTP answer; `reason` says what to fix."""

    def __init__(self, reason: str, *, status: int = 400, field: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.field = field


@dataclass(frozen=True)
class ParseOptions:
    max_future: dt.timedelta = dt.timedelta(minutes=10)
    # `yyyy-MM-dd HH:mm:ss` has no zone; Traccar reads it in the server's default zone, which is UTC on
    # the usual Linux/Docker installations, so UTC unless the operator says otherwise.
    naive_tz: dt.tzinfo = dt.UTC
    query_speed_unit: str = "kn"


@dataclass(frozen=True)
class Fix:
    """One normalised position report."""

    device_id: str
    fixed_at: dt.datetime  # aware, UTC
    lat: float
    lon: float
    speed_kmh: float | None = None
    course: float | None = None
    altitude: float | None = None
    accuracy: float | None = None
    hdop: float | None = None
    battery: float | None = None  # percent
    valid: bool = True
    attributes: dict[str, Any] = field(default_factory=dict)
    fmt: Format = "query"


@dataclass(frozen=True)
class ParsedRequest:
    fmt: Format
    device_id: str
    fixes: list[Fix]
    # Items of a batch that were not stored, with the reason: the rest of the batch is (a client that gets
    # a 4xx keeps the whole batch and resends it for ever, good fixes and the bad one alike).
    skipped: tuple[str, ...] = ()


def _reject(zh: str, en: str, *, field: str | None = None, status: int = 400) -> GpsRejected:
    return GpsRejected(f"{zh} ({en})", status=status, field=field)


def _fix(**values: Any) -> Fix:
    """Every reader builds its fix here: the ranges are checked once, after unit conversion, so no layout can
    smuggle past them a value that a conversion made infinite or absurd. `not x <= bound` also catches NaN."""
    fix = Fix(**values)
    speed = fix.speed_kmh
    if speed is not None and not 0.0 <= speed <= MAX_SPEED_KMH:
        raise _reject(
            f"速度超出范围（换算后 {speed:g} km/h，上限 {MAX_SPEED_KMH:g}）", "speed out of range", field="speed"
        )
    if fix.course is not None and not 0.0 <= fix.course < 360.0:
        raise _reject("方向超出 0…360", "bearing out of range 0–360", field="bearing")
    low, high = ALTITUDE_RANGE_M
    if fix.altitude is not None and not low <= fix.altitude <= high:
        raise _reject(f"海拔超出 {low:g}…{high:g} 米：{fix.altitude:g}", "altitude out of range", field="altitude")
    if fix.accuracy is not None and not 0.0 <= fix.accuracy <= MAX_ACCURACY_M:
        raise _reject(f"精度超出 0…{MAX_ACCURACY_M:g} 米", "accuracy out of range", field="accuracy")
    if fix.hdop is not None and not 0.0 <= fix.hdop <= MAX_HDOP:
        raise _reject(f"hdop 超出 0…{MAX_HDOP:g}", "hdop out of range", field="hdop")
    if fix.battery is not None and not 0.0 <= fix.battery <= 100.0:
        raise _reject("电量超出 0…100%", "battery out of range", field="batt")
    if not (-90.0 <= fix.lat <= 90.0 and -180.0 <= fix.lon <= 180.0):
        raise _reject("坐标超出范围", "coordinates out of range", field="lat")
    return fix


def load_tz(name: str) -> dt.tzinfo:
    if name.upper() == "UTC":
        return dt.UTC
    return zoneinfo.ZoneInfo(name)
