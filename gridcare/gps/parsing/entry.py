"""The entry points the edges call: choose the layout of an HTTP request the way Traccar does, or read an MQTT
message; then mark implausible speeds and phrase the answer for skipped batch items."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from urllib.parse import parse_qsl

from gridcare.gps.parsing.fix import (
    DEVICE_KEYS,
    MAX_FIELDS,
    MAX_PLAUSIBLE_SPEED_KMH,
    UNEXPECTED,
    GpsRejected,
    ParsedRequest,
    ParseOptions,
    _reject,
)
from gridcare.gps.parsing.json_layouts import parse_json
from gridcare.gps.parsing.query import parse_params


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
