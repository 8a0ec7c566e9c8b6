"""The JSON layouts: Traccar Client 9+ (`{device_id, location: {coords, …}}`, one or a batch), a flat
`{lat, lon, …}` object, OwnTracks, and GeoJSON features (Overland)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from gridcare.gps.parsing.fix import (
    DEVICE_KEYS,
    IGNORED_KEYS,
    MAX_FIELDS,
    MAX_FIXES_PER_REQUEST,
    UNEXPECTED,
    Fix,
    Format,
    GpsRejected,
    ParsedRequest,
    ParseOptions,
    _fix,
    _reject,
)
from gridcare.gps.parsing.scalars import (
    _MAX_INT_DIGITS,
    _battery_percent,
    _coordinates,
    _course,
    _device_id,
    _field,
    _json_attribute,
    _json_attributes,
    _number,
    _optional,
    parse_timestamp,
)


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
