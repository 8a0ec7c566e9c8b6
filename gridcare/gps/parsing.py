"""Turn an OsmAnd / Traccar Client request (query, form or JSON) into normalised fixes, or one clear rejection.

Pure: no Django, no clock. The caller passes `now` and the options. Every malformed input ends in
`GpsRejected` with a reason a person can act on; no other exception escapes `parse_http`/`parse_mqtt`.

Units stored: speed in km/h, course in degrees 0–360 (None = unknown), altitude and accuracy in metres,
battery in percent 0–100 (None = unknown). What the clients send:

- query string / form body (OsmAnd, Traccar Client ≤ 8, most trackers): speed in knots (configurable);
- JSON (`Content-Type: application/json`, Traccar Client 9+ layout `{device_id, location: {timestamp, coords,
  battery, is_moving, …}}`): speed in metres per second, battery level 0–1.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import unicodedata
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal
from urllib.parse import parse_qsl

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
# The only text a number may be: ASCII digits, one optional point, an optional exponent. Python's float()
# and int() also take `1_0`, full-width `１２０.１`, Arabic-Indic digits, `inf`, `nan` and `0x…`-like
# spellings through other routes; none of them is what a GPS device sends.
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
# One comma between digits and no point: a decimal comma, as devices set to a European locale send.
_DECIMAL_COMMA = re.compile(r"[+-]?[0-9]+,[0-9]+")
# JSON integers longer than this are read as floats (then range-checked): int() refuses more than 4,300
# digits, which would fail the whole body instead of the one field.
_MAX_INT_DIGITS = 18
_MAX_JSON_INT = 2**53  # beyond this a JSON number loses precision in every other reader of the column
# Epoch values below 2^31 are seconds, above are milliseconds (the rule Traccar applies).
EPOCH_SECONDS_LIMIT = 2**31 - 1
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
EARLIEST_EPOCH = EARLIEST.timestamp()


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


# ---------------------------------------------------------------- scalar readers


def decimal(text: str) -> float | None:
    """The finite float an ASCII decimal (`-12.5`, `.5`, `1e3`, or `30,317` with a decimal comma) denotes;
    None for anything else, including `1_0`, full-width digits, `inf`, `nan`, hex and text with NUL."""
    text = text.strip(" \t")
    if len(text) > MAX_NUMBER_CHARS:
        return None
    if _DECIMAL.fullmatch(text) is None:
        if _DECIMAL_COMMA.fullmatch(text) is None:
            return None
        text = text.replace(",", ".")
    number = float(text)
    return number if math.isfinite(number) else None


def _number(value: Any, name: str) -> float:
    """A finite float from a JSON number or ASCII numeric text; booleans, NaN/∞ and other spellings are refused."""
    if isinstance(value, bool) or value is None:
        raise _reject(f"{name} 不是数字", f"{name} is not a number", field=name)
    if isinstance(value, float):
        number = value
    elif isinstance(value, int):
        try:
            number = float(value)
        except OverflowError:
            raise _reject(f"{name} 超出范围", f"{name} is out of range", field=name) from None
    elif isinstance(value, str):
        parsed = decimal(value)
        if parsed is None:
            shown = clean_text(value, 40)
            raise _reject(
                f"{name} 不是数字（只接受 ASCII 十进制数）：{shown!r}",
                f"{name} must be a finite ASCII decimal number",
                field=name,
            )
        number = parsed
    else:
        raise _reject(f"{name} 不是数字", f"{name} is not a number", field=name)
    if not math.isfinite(number):
        raise _reject(f"{name} 不是有限数", f"{name} must be finite", field=name)
    return number


def clean_text(value: str, limit: int) -> str:
    """`value` without NUL, control, format (bidi overrides, zero-width), surrogate, private-use and unassigned
    characters or line separators, cut to `limit`: nothing a database, a JSON column or a map tooltip chokes on."""
    if value.isprintable():  # the usual case, checked in C
        return value[:limit]
    kept = []
    for ch in value:
        if ch.isprintable() or (unicodedata.category(ch) == "Zs"):
            kept.append(ch)
            if len(kept) >= limit:
                break
    return "".join(kept)


def _attribute_key(key: Any) -> str:
    return clean_text(str(key), 64)


def _optional(value: Any, name: str, *, negative_unknown: bool = True) -> float | None:
    number = _number(value, name)
    if negative_unknown and number < 0:
        return None  # clients send -1 for "not measured"
    return number


def _field(
    values: Mapping[str, Any], key: str, name: str | None = None, *, negative_unknown: bool = True
) -> float | None:
    """An optional number of a JSON object: None when absent or null (negative = unknown unless told)."""
    if values.get(key) is None:
        return None
    return _optional(values[key], name or key, negative_unknown=negative_unknown)


def _device_id(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _reject("设备号必须是文本", "device id must be text", field="id")
    text = str(value).strip()
    if not text:
        raise _reject("缺少设备号（id / deviceid / device_id）", "device id is missing", field="id")
    # Refused rather than stripped: `dev-1\x00` stripped would become another device's id.
    if len(text) > MAX_DEVICE_ID or not text.isprintable():
        raise _reject("设备号过长或含控制字符", "device id is too long or has control characters", field="id")
    return text


def _coordinates(lat: float, lon: float) -> tuple[float, float]:
    if not -90.0 <= lat <= 90.0:
        raise _reject(f"纬度超出 −90…90：{lat}", "latitude out of range", field="lat")
    if not -180.0 <= lon <= 180.0:
        raise _reject(f"经度超出 −180…180：{lon}", "longitude out of range", field="lon")
    if lat == 0.0 and lon == 0.0:
        # 0,0 is what trackers send before they have a satellite fix; it is never a vehicle's position.
        raise _reject("坐标为 0,0：设备尚未定位", "coordinates 0,0 mean the device has no fix", field="lat")
    return lat, lon


def _course(value: Any) -> float | None:
    course = _optional(value, "bearing")
    if course is None:
        return None
    if course > MAX_COURSE:
        raise _reject(f"方向超出 0…360：{course:g}", "bearing out of range 0–360", field="bearing")
    return course % 360.0


def _battery_percent(value: Any) -> float | None:
    level = _optional(value, "batt")
    if level is None or level > 100:
        return None
    return level


def parse_timestamp(value: Any, *, now: dt.datetime, options: ParseOptions) -> dt.datetime:
    """Epoch seconds, epoch milliseconds, ISO 8601 or `yyyy-MM-dd HH:mm:ss`, checked against `now`."""
    if isinstance(value, bool) or value is None:
        raise _reject("时间戳无法识别", "timestamp is not a time", field="timestamp")
    moment: dt.datetime
    if isinstance(value, int | float) or (isinstance(value, str) and _looks_numeric(value)):
        epoch = _number(value, "timestamp")
        if epoch > EPOCH_SECONDS_LIMIT:
            epoch /= 1000.0
        # Both bounds before fromtimestamp, which overflows (or raises OSError) far outside them.
        if epoch < EARLIEST_EPOCH:
            raise _reject("时间戳早于 2000 年", "timestamp is before 2000", field="timestamp")
        if epoch > 32503680000:  # beyond year 3000: garbage, and fromtimestamp would overflow
            raise _reject("时间戳过大", "timestamp is too large", field="timestamp")
        moment = dt.datetime.fromtimestamp(epoch, tz=dt.UTC)
    elif isinstance(value, str):
        text = value.strip()
        # strptime's \d and fromisoformat take other scripts' digits too; a device clock writes ASCII.
        if len(text) > MAX_TIMESTAMP_CHARS or not text.isascii() or not text.isprintable():
            raise _reject(
                f"时间戳格式无法识别：{clean_text(text, 40)!r}",
                "timestamp must be epoch seconds/milliseconds, ISO 8601 or yyyy-MM-dd HH:mm:ss",
                field="timestamp",
            )
        if len(text) > 19 and text[-6] == " " and text[-3] == ":":
            # `…T21:02:00+08:00` sent unencoded in a query string: the `+` arrives as a space.
            text = text[:-6] + "+" + text[-5:]
        try:
            if "T" in text or "t" in text:
                moment = dt.datetime.fromisoformat(text.replace("z", "Z"))
            else:
                layout = "%Y-%m-%d %H:%M:%S.%f" if "." in text else "%Y-%m-%d %H:%M:%S"
                moment = dt.datetime.strptime(text, layout)  # noqa: DTZ007 - zone added below
        except ValueError:
            raise _reject(
                f"时间戳格式无法识别：{text[:40]!r}",
                "timestamp must be epoch seconds/milliseconds, ISO 8601 or yyyy-MM-dd HH:mm:ss",
                field="timestamp",
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=options.naive_tz)
        moment = moment.astimezone(dt.UTC)
    else:
        raise _reject("时间戳无法识别", "timestamp is not a time", field="timestamp")
    if moment < EARLIEST:
        raise _reject(f"时间戳早于 2000 年：{moment.isoformat()}", "timestamp is before 2000", field="timestamp")
    if moment > now + options.max_future:
        raise _reject(
            f"时间戳超前于服务器时间：{moment.isoformat()}",
            "timestamp is too far in the future; check the device clock",
            field="timestamp",
        )
    return moment


def _looks_numeric(text: str) -> bool:
    return _DECIMAL.fullmatch(text.strip(" \t")) is not None


def _attribute_value(value: str) -> Any:
    """Numbers (finite ASCII decimals) become numbers and true/false booleans, as Traccar keeps them; other
    text is kept short and without control characters."""
    if value in ("true", "false"):
        return value == "true"
    number = decimal(value) if len(value) <= MAX_NUMBER_CHARS else None
    return clean_text(value, MAX_ATTRIBUTE_CHARS) if number is None else number


def _json_attribute(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if -_MAX_JSON_INT <= value <= _MAX_JSON_INT else None
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return clean_text(value, MAX_ATTRIBUTE_CHARS)
    return None  # nested objects and arrays are not kept


def _json_attributes(items: Any, skip: set[str] | frozenset[str] = frozenset()) -> dict[str, Any]:
    """The extra keys of a JSON object as attributes: at most MAX_FIELDS, keys and values cleaned."""
    attributes: dict[str, Any] = {}
    for key, value in list(items)[:MAX_FIELDS]:
        if key in skip:
            continue
        name = _attribute_key(key)
        if name:
            attributes[name] = _json_attribute(value)
    return attributes


# ---------------------------------------------------------------- query string and form body


def parse_params(
    params: list[tuple[str, str]], *, fmt: Format, now: dt.datetime, options: ParseOptions
) -> ParsedRequest:
    """The OsmAnd key=value layout (from the query string or a form body)."""
    values: dict[str, str] = {}
    for key, value in params:
        if value == "" or key in IGNORED_KEYS:
            continue  # Traccar skips empty values; `_` is a cache-buster
        values[key] = value  # the last value of a repeated key wins, as in Traccar
    device = next((values[k] for k in (*DEVICE_KEYS, "device") if k in values), None)
    if device is None:
        raise _reject("缺少设备号（id / deviceid / device_id）", "device id is missing", field="id")
    device_id = _device_id(device)

    lat = lon = None
    if "lat" in values or "lon" in values:
        lat = _number(values.get("lat"), "lat")
        lon = _number(values.get("lon"), "lon")
    elif "latitude" in values or "longitude" in values:  # GPSLogger's Home Assistant layout
        lat = _number(values.get("latitude"), "latitude")
        lon = _number(values.get("longitude"), "longitude")
    elif "location" in values:
        parts = values["location"].split(",")
        if len(parts) != 2:
            raise _reject("location 应为“纬度,经度”", "location must be lat,lon", field="location")
        lat, lon = _number(parts[0], "lat"), _number(parts[1], "lon")
    if lat is None or lon is None:
        raise _reject("缺少坐标（lat/lon 或 location）", "coordinates are missing", field="lat")
    lat, lon = _coordinates(lat, lon)

    fixed_at = parse_timestamp(values["timestamp"], now=now, options=options) if "timestamp" in values else now
    unit_factor = KMH_PER_UNIT[options.query_speed_unit]
    speed = _optional(values["speed"], "speed") if "speed" in values else None
    course_raw = values.get("bearing", values.get("heading"))
    valid_raw = values.get("valid")
    attributes: dict[str, Any] = {}
    known = {*DEVICE_KEYS, "device", "lat", "lon", "latitude", "longitude", "location", "timestamp", "speed"}
    known |= {"bearing", "heading", "altitude", "accuracy", "hdop", "batt", "valid"}
    for key, value in values.items():
        if key not in known:
            name = _attribute_key(key)
            if name:
                attributes[name] = _attribute_value(value)
    return ParsedRequest(
        fmt,
        device_id,
        [
            _fix(
                device_id=device_id,
                fixed_at=fixed_at,
                lat=lat,
                lon=lon,
                speed_kmh=None if speed is None else speed * unit_factor,
                course=None if course_raw is None else _course(course_raw),
                altitude=_optional(values["altitude"], "altitude", negative_unknown=False)
                if "altitude" in values
                else None,
                accuracy=_optional(values["accuracy"], "accuracy") if "accuracy" in values else None,
                hdop=_optional(values["hdop"], "hdop") if "hdop" in values else None,
                battery=_battery_percent(values["batt"]) if "batt" in values else None,
                valid=valid_raw is None or valid_raw.lower() in ("true", "1"),
                attributes=attributes,
                fmt=fmt,
            )
        ],
    )


# ---------------------------------------------------------------- JSON


def _json_device(root: Mapping[str, Any], fallback: str | None) -> str:
    for key in DEVICE_KEYS:
        if key in root and root[key] not in (None, ""):
            return _device_id(root[key])
    if fallback is not None:
        return _device_id(fallback)
    raise _reject("缺少设备号 device_id（或在地址中加 ?id=设备号）", "device_id is missing", field="device_id")


def _traccar_location(
    location: Mapping[str, Any], *, device_id: str, fmt: Format, now: dt.datetime, options: ParseOptions
) -> Fix:
    """One `location` object of the Traccar Client 9+ layout: coords in m/s, battery.level 0–1."""
    coords = location.get("coords")
    if not isinstance(coords, Mapping):
        raise _reject("location.coords 缺失", "location.coords is missing", field="location.coords")
    lat, lon = _coordinates(_number(coords.get("latitude"), "latitude"), _number(coords.get("longitude"), "longitude"))
    timestamp = location.get("timestamp")
    fixed_at = now if timestamp in (None, "") else parse_timestamp(timestamp, now=now, options=options)
    speed = _field(coords, "speed")
    attributes: dict[str, Any] = {}
    battery = None
    raw_battery = location.get("battery")
    if isinstance(raw_battery, Mapping):
        if raw_battery.get("level") is not None:
            level = _optional(raw_battery["level"], "battery.level")
            battery = None if level is None or level > 1 else round(level * 100, 1)
        if raw_battery.get("is_charging") is not None:
            attributes["charge"] = raw_battery["is_charging"] is True
    for key in ("is_moving", "odometer", "event", "mock", "uuid", "age"):
        if key in location:
            attributes["motion" if key == "is_moving" else key] = _json_attribute(location[key])
    activity = location.get("activity")
    if isinstance(activity, Mapping) and "type" in activity:
        attributes["activity"] = _json_attribute(activity["type"])
    extras = location.get("extras")
    if isinstance(extras, Mapping):
        attributes.update(_json_attributes(extras.items()))
    for key in ("altitude_accuracy", "heading_accuracy", "speed_accuracy", "floor"):
        if coords.get(key) is not None:
            attributes[key] = _json_attribute(coords[key])
    return _fix(
        device_id=device_id,
        fixed_at=fixed_at,
        lat=lat,
        lon=lon,
        speed_kmh=None if speed is None else speed * 3.6,
        course=_course(coords["heading"]) if coords.get("heading") is not None else None,
        altitude=_field(coords, "altitude", negative_unknown=False),
        accuracy=_field(coords, "accuracy"),
        battery=battery,
        attributes=attributes,
        fmt=fmt,
    )


def _flat_json(root: Mapping[str, Any], *, device_id: str, fmt: Format, now: dt.datetime, options: ParseOptions) -> Fix:
    """A flat object {lat, lon, timestamp, speed (m/s), heading, …}, as small trackers publish over MQTT."""
    lat_raw = root.get("lat", root.get("latitude"))
    lon_raw = root.get("lon", root.get("lng", root.get("longitude")))
    if lat_raw is None or lon_raw is None:
        raise _reject("缺少坐标（location.coords 或 lat/lon）", "coordinates are missing", field="lat")
    lat, lon = _coordinates(_number(lat_raw, "lat"), _number(lon_raw, "lon"))
    timestamp = root.get("timestamp", root.get("time"))
    fixed_at = now if timestamp in (None, "") else parse_timestamp(timestamp, now=now, options=options)
    speed = _field(root, "speed")
    course_raw = next((root[k] for k in ("heading", "bearing", "course") if root.get(k) is not None), None)
    battery = None
    if root.get("batt") is not None:
        battery = _battery_percent(root["batt"])
    elif isinstance(root.get("battery"), Mapping) and root["battery"].get("level") is not None:
        level = _optional(root["battery"]["level"], "battery.level")
        battery = None if level is None or level > 1 else round(level * 100, 1)
    known = {*DEVICE_KEYS, "lat", "latitude", "lon", "lng", "longitude", "timestamp", "time", "speed"}
    known |= {"heading", "bearing", "course", "altitude", "accuracy", "hdop", "batt", "battery", "valid"}
    attributes = _json_attributes(root.items(), known | IGNORED_KEYS)
    valid = root.get("valid")
    return _fix(
        device_id=device_id,
        fixed_at=fixed_at,
        lat=lat,
        lon=lon,
        speed_kmh=None if speed is None else speed * 3.6,
        course=None if course_raw is None else _course(course_raw),
        altitude=_field(root, "altitude", negative_unknown=False),
        accuracy=_field(root, "accuracy"),
        hdop=_field(root, "hdop"),
        battery=battery,
        valid=valid is None or valid is True or valid in (1, "1", "true"),
        attributes=attributes,
        fmt=fmt,
    )


def _owntracks(root: Mapping[str, Any], *, device_id: str, fmt: Format, now: dt.datetime, options: ParseOptions) -> Fix:
    """An OwnTracks `{"_type": "location", lat, lon, tst, vel (km/h), cog, alt, acc, batt (%), …}` message."""
    lat, lon = _coordinates(_number(root.get("lat"), "lat"), _number(root.get("lon"), "lon"))
    tst = root.get("tst")
    fixed_at = now if tst in (None, "") else parse_timestamp(tst, now=now, options=options)
    speed = _field(root, "vel")
    known = {"_type", "lat", "lon", "tst", "vel", "cog", "alt", "acc", "batt", "topic", *DEVICE_KEYS}
    attributes = _json_attributes(root.items(), known)
    return _fix(
        device_id=device_id,
        fixed_at=fixed_at,
        lat=lat,
        lon=lon,
        speed_kmh=speed,
        course=_course(root["cog"]) if root.get("cog") is not None else None,
        altitude=_field(root, "alt", negative_unknown=False),
        accuracy=_field(root, "acc"),
        battery=_battery_percent(root["batt"]) if root.get("batt") is not None else None,
        attributes=attributes,
        fmt=fmt,
    )


def _geojson_feature(
    feature: Mapping[str, Any], *, device_id: str, fmt: Format, now: dt.datetime, options: ParseOptions
) -> Fix:
    """One GeoJSON Point feature of the Overland layout: coordinates [lon, lat], properties in m/s and 0–1."""
    geometry = feature.get("geometry")
    coordinates = geometry.get("coordinates") if isinstance(geometry, Mapping) else None
    if not isinstance(coordinates, list) or len(coordinates) < 2:
        raise _reject("geometry.coordinates 应为 [经度, 纬度]", "geometry.coordinates must be [lon, lat]")
    lat, lon = _coordinates(_number(coordinates[1], "latitude"), _number(coordinates[0], "longitude"))
    raw = feature.get("properties")
    props: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    timestamp = props.get("timestamp")
    fixed_at = now if timestamp in (None, "") else parse_timestamp(timestamp, now=now, options=options)
    speed = _field(props, "speed")
    battery = None
    if props.get("battery_level") is not None:
        level = _optional(props["battery_level"], "battery_level")
        battery = None if level is None or level > 1 else round(level * 100, 1)
    altitude = props.get("altitude", coordinates[2] if len(coordinates) > 2 else None)
    known = {"timestamp", "speed", "course", "altitude", "horizontal_accuracy", "battery_level", *DEVICE_KEYS}
    attributes = _json_attributes(props.items(), known)
    return _fix(
        device_id=device_id,
        fixed_at=fixed_at,
        lat=lat,
        lon=lon,
        speed_kmh=None if speed is None else speed * 3.6,
        course=_course(props["course"]) if props.get("course") is not None else None,
        altitude=None if altitude is None else _optional(altitude, "altitude", negative_unknown=False),
        accuracy=_field(props, "horizontal_accuracy"),
        battery=battery,
        attributes=attributes,
        fmt=fmt,
    )


def _batch(items: list[Any], read: Any, *, name: str) -> tuple[list[Fix], tuple[str, ...]]:
    """Every item of a batch that can be read; the others are skipped with their reason, unless none can be."""
    if not items or len(items) > MAX_FIXES_PER_REQUEST:
        raise _reject(
            f"{name} 数组为空或超过 {MAX_FIXES_PER_REQUEST} 条", f"{name} array is empty or too long", field=name
        )
    fixes: list[Fix] = []
    skipped: list[str] = []
    first: GpsRejected | None = None
    for index, item in enumerate(items):
        try:
            if not isinstance(item, Mapping):
                raise _reject(f"{name} 数组中应为对象", f"{name} items must be objects", field=name)
            fixes.append(read(item))
        except GpsRejected as exc:
            first = first or exc
            skipped.append(f"{name}[{index}]: {exc.reason}")
        except UNEXPECTED as exc:
            # A net under the explicit checks: one item no check foresaw still costs only itself.
            bad = _reject("无法解析", f"unparseable: {type(exc).__name__}", field=name)
            first = first or bad
            skipped.append(f"{name}[{index}]: {bad.reason}")
    if not fixes and first is not None:
        raise first
    return fixes, tuple(skipped)


def parse_json(
    body: bytes, *, fmt: Format, now: dt.datetime, options: ParseOptions, device_fallback: str | None = None
) -> ParsedRequest:
    """Traccar Client 9+ (`location` object or batch array), OwnTracks (`_type: location`), Overland GeoJSON
    (`locations` array of Point features), or a flat object {lat, lon, timestamp, …}."""
    try:
        root = json.loads(body.decode("utf-8"), parse_int=_json_int)
    except UnicodeDecodeError:
        raise _reject("请求体不是 UTF-8", "body is not UTF-8") from None
    except (ValueError, RecursionError):
        raise _reject("JSON 格式错误", "body is not valid JSON") from None
    if not isinstance(root, dict):
        raise _reject("JSON 顶层应为对象", "JSON body must be an object")
    if len(root) > MAX_FIELDS:
        raise _reject("字段过多", "too many fields")
    location = root.get("location")
    skipped: tuple[str, ...] = ()
    if isinstance(root.get("locations"), list):
        # Overland: the device id is in each feature's properties (or the URL).
        features = root["locations"]
        first_props: Any = next(
            (
                f.get("properties")
                for f in features
                if isinstance(f, Mapping) and isinstance(f.get("properties"), Mapping)
            ),
            None,
        )
        device_id = _json_device(root, _first_device(first_props) or device_fallback)

        def feature(item: Mapping[str, Any]) -> Fix:
            return _geojson_feature(item, device_id=device_id, fmt=fmt, now=now, options=options)

        fixes, skipped = _batch(features, feature, name="locations")
        return ParsedRequest(fmt, device_id, fixes, skipped)
    if root.get("_type") is not None:
        if root["_type"] != "location":
            raise _reject(
                f"OwnTracks 消息类型 {root['_type']!r} 不含定位", "only OwnTracks location messages carry a position"
            )
        topic = root.get("topic")
        topic_device = topic.rsplit("/", 1)[-1] if isinstance(topic, str) and "/" in topic else None
        device_id = _json_device(root, device_fallback or topic_device)
        return ParsedRequest(fmt, device_id, [_owntracks(root, device_id=device_id, fmt=fmt, now=now, options=options)])
    device_id = _json_device(root, device_fallback)
    if isinstance(location, Mapping):
        fixes = [_traccar_location(location, device_id=device_id, fmt=fmt, now=now, options=options)]
    elif isinstance(location, list):
        # Traccar Client in batch mode posts several locations at once.

        def traccar(item: Mapping[str, Any]) -> Fix:
            return _traccar_location(item, device_id=device_id, fmt=fmt, now=now, options=options)

        fixes, skipped = _batch(location, traccar, name="location")
    elif location is None:
        fixes = [_flat_json(root, device_id=device_id, fmt=fmt, now=now, options=options)]
    else:
        raise _reject("location 应为对象", "location must be an object", field="location")
    return ParsedRequest(fmt, device_id, fixes, skipped)


def _json_int(text: str) -> int | float:
    """A JSON integer; a very long one as a float (range-checked where it is used, infinite if absurd)."""
    return int(text) if len(text) <= _MAX_INT_DIGITS else float(text)


def _first_device(props: Any) -> str | None:
    if not isinstance(props, Mapping):
        return None
    for key in DEVICE_KEYS:
        value = props.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and value != "":
            return str(value)
    return None


# ---------------------------------------------------------------- entry points


def _params(text: str) -> list[tuple[str, str]]:
    """`parse_qsl`, but only paying for percent-decoding where a pair needs it (most device requests don't)."""
    if not text:
        return []
    parts = text.split("&")
    if len(parts) > MAX_FIELDS:
        raise _reject("参数过多", "too many parameters")
    pairs = []
    for part in parts:
        if not part:
            continue
        if "%" in part or "+" in part:
            pairs.extend(parse_qsl(part, keep_blank_values=True))
            continue
        key, _, value = part.partition("=")
        pairs.append((key, value))
    return pairs


def is_json(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == "application/json"


POSITION_KEYS = {"lat", "lon", "latitude", "longitude", "location"}


def parse_http(*, query: str, body: bytes, content_type: str, now: dt.datetime, options: ParseOptions) -> ParsedRequest:
    """Decide the layout the way Traccar does: JSON by content type, else the query string, else the form body.

    Beyond Traccar: a JSON body sent with another content type (`text/plain`, none at all: OwnTracks and
    scripts do) is read as JSON when the query carries no position, and a device id in the query string is
    used when the JSON names none (OwnTracks and Overland are set up with `?id=…` in the URL)."""
    try:
        params = [(k, v) for k, v in _params(query) if k != "token"]
        query_device = next((v for k, v in params if k in (*DEVICE_KEYS, "device") and v), None)
        sniffed = not any(k in POSITION_KEYS for k, _ in params) and body.lstrip()[:1] == b"{"
        if is_json(content_type) or sniffed:
            return plausible(parse_json(body, fmt="json", now=now, options=options, device_fallback=query_device))
        if params:
            return plausible(parse_params(params, fmt="query", now=now, options=options))
        if content_type.lower().startswith("multipart/"):
            raise _reject(
                "表单请用 application/x-www-form-urlencoded 发送", "send forms as application/x-www-form-urlencoded"
            )
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise _reject("请求体不是 UTF-8", "body is not UTF-8") from None
        if not text.strip():
            raise _reject("请求中没有定位数据", "the request carries no position")
        return plausible(parse_params(_params(text), fmt="form", now=now, options=options))
    except GpsRejected:
        raise
    except UNEXPECTED as exc:
        # A net under the explicit checks above: hostile input must end as a 400, never a crash.
        raise _reject("请求无法解析", f"unparseable request: {type(exc).__name__}") from None


def parse_mqtt(topic_device: str, payload: bytes, *, now: dt.datetime, options: ParseOptions) -> ParsedRequest:
    """An MQTT message on gridcare/gps/<device>: the topic names the device; the payload is JSON."""
    try:
        parsed = parse_json(payload, fmt="mqtt", now=now, options=options, device_fallback=topic_device)
    except GpsRejected:
        raise
    except UNEXPECTED as exc:
        raise _reject("消息无法解析", f"unparseable message: {type(exc).__name__}") from None
    if parsed.device_id != topic_device:
        raise _reject(
            "消息中的设备号与主题不一致", "device id in the payload differs from the topic", field="device_id"
        )
    return plausible(parsed)


def plausible(parsed: ParsedRequest) -> ParsedRequest:
    """Speeds no vehicle reaches (a broken sensor, a unit mix-up) are stored as unknown, the raw value kept
    in the attributes: they would otherwise rank a crew as the fastest to reach a fault."""
    if all(f.speed_kmh is None or f.speed_kmh <= MAX_PLAUSIBLE_SPEED_KMH for f in parsed.fixes):
        return parsed
    fixes = [
        f
        if f.speed_kmh is None or f.speed_kmh <= MAX_PLAUSIBLE_SPEED_KMH
        else replace(f, speed_kmh=None, attributes={**f.attributes, "implausible_speed_kmh": f.speed_kmh})
        for f in parsed.fixes
    ]
    return replace(parsed, fixes=fixes)


def skipped_note(parsed: ParsedRequest) -> str:
    """The answer's text when some items of a batch were left out (empty when all were stored)."""
    if not parsed.skipped:
        return ""
    return f"已保存 {len(parsed.fixes)} 条，跳过 {len(parsed.skipped)} 条 (skipped): " + "; ".join(parsed.skipped[:20])


def load_tz(name: str) -> dt.tzinfo:
    if name.upper() == "UTC":
        return dt.UTC
    return zoneinfo.ZoneInfo(name)
