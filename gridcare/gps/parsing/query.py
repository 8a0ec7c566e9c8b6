"""The OsmAnd / Traccar Client query-string and form-body layout (`?id=…&lat=…&lon=…&timestamp=…`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from gridcare.gps.parsing.fix import (
    DEVICE_KEYS,
    IGNORED_KEYS,
    KMH_PER_UNIT,
    Format,
    ParsedRequest,
    ParseOptions,
    _fix,
    _reject,
)
from gridcare.gps.parsing.scalars import (
    _attribute_key,
    _attribute_value,
    _battery_percent,
    _coordinates,
    _course,
    _device_id,
    _number,
    _optional,
    parse_timestamp,
)


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
