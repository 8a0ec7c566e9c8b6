"""Scalar readers shared by every layout: strict ASCII numbers (a decimal comma allowed), device ids, text,
coordinates, course, battery, timestamps (epoch seconds or milliseconds, ISO 8601, Traccar's naive layout)
and the extra attributes a device sends."""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from gridcare.gps.parsing.fix import (
    MAX_ATTRIBUTE_CHARS,
    MAX_COURSE,
    MAX_DEVICE_ID,
    MAX_FIELDS,
    MAX_NUMBER_CHARS,
    MAX_TIMESTAMP_CHARS,
    ParseOptions,
    _reject,
)

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
