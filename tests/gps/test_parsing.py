"""The pure OsmAnd / Traccar parser: every layout the clients send, units, and rejections with a reason."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import unicodedata
import zoneinfo
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridcare.gps.parsing import GpsRejected, ParseOptions, decimal, parse_http, parse_mqtt, parse_timestamp

NOW = dt.datetime(2025, 6, 1, 8, 0, tzinfo=dt.UTC)
OPTS = ParseOptions()


def query(**params: object) -> str:
    return urlencode(params)


def parse_q(qs: str, **kw: object):
    return parse_http(query=qs, body=b"", content_type="", now=NOW, options=kw.get("options", OPTS))  # type: ignore[arg-type]


def traccar_json(**over: object) -> bytes:
    body = {
        "device_id": "dev-1",
        "location": {
            "timestamp": "2025-06-01T07:59:30.000Z",
            "coords": {
                "latitude": 30.25,
                "longitude": 120.16,
                "speed": 10.0,
                "heading": 90.0,
                "altitude": 12.5,
                "accuracy": 4.0,
                "altitude_accuracy": 3.0,
            },
            "is_moving": True,
            "odometer": 1234.5,
            "event": "motionchange",
            "battery": {"level": 0.81, "is_charging": False},
            "activity": {"type": "in_vehicle"},
            "extras": {"plate": "浙A12345"},
        },
    }
    body.update(over)
    return json.dumps(body).encode()


def test_query_string_traccar_client_layout_converts_knots_to_kmh() -> None:
    ts = int(NOW.timestamp()) - 30
    parsed = parse_q(
        query(
            id="dev-1",
            timestamp=ts,
            lat=30.25,
            lon=120.16,
            speed=10,
            bearing=45,
            altitude=12,
            accuracy=5,
            batt=77,
            mock="true",
            _="1",
        )
    )
    fix = parsed.fixes[0]
    assert parsed.fmt == "query" and parsed.device_id == "dev-1"
    assert fix.fixed_at == NOW - dt.timedelta(seconds=30)
    assert (fix.lat, fix.lon) == (30.25, 120.16)
    assert fix.speed_kmh == pytest.approx(18.52)
    assert fix.course == 45 and fix.altitude == 12 and fix.accuracy == 5 and fix.battery == 77
    assert fix.attributes == {"mock": True}  # `_` is ignored, other keys kept


def test_form_body_is_read_when_the_query_is_empty() -> None:
    body = query(deviceid="dev-2", lat="31.1", lon="121.2", hdop="1.4", driverUniqueId="D7").encode()
    parsed = parse_http(query="", body=body, content_type="application/x-www-form-urlencoded", now=NOW, options=OPTS)
    assert parsed.fmt == "form" and parsed.device_id == "dev-2"
    fix = parsed.fixes[0]
    assert fix.hdop == 1.4 and fix.attributes == {"driverUniqueId": "D7"}
    assert fix.fixed_at == NOW  # no timestamp: the time it arrived


def test_json_traccar_client_9_layout_speed_in_metres_per_second() -> None:
    parsed = parse_http(
        query="", body=traccar_json(), content_type="application/json; charset=utf-8", now=NOW, options=OPTS
    )
    fix = parsed.fixes[0]
    assert parsed.fmt == "json" and parsed.device_id == "dev-1"
    assert fix.fixed_at == dt.datetime(2025, 6, 1, 7, 59, 30, tzinfo=dt.UTC)
    assert fix.speed_kmh == pytest.approx(36.0)
    assert fix.course == 90 and fix.altitude == 12.5 and fix.accuracy == 4
    assert fix.battery == 81.0
    assert fix.attributes["motion"] is True and fix.attributes["event"] == "motionchange"
    assert fix.attributes["activity"] == "in_vehicle" and fix.attributes["plate"] == "浙A12345"
    assert fix.attributes["charge"] is False


def test_json_negative_speed_heading_and_battery_mean_unknown() -> None:
    body = json.loads(traccar_json())
    body["location"]["coords"].update(speed=-1, heading=-1)
    body["location"]["battery"]["level"] = -1
    fix = parse_http(
        query="", body=json.dumps(body).encode(), content_type="application/json", now=NOW, options=OPTS
    ).fixes[0]
    assert fix.speed_kmh is None and fix.course is None and fix.battery is None


def test_query_negative_bearing_and_batt_mean_unknown() -> None:
    fix = parse_q(query(id="d", lat=1, lon=2, bearing=-1, batt=-1)).fixes[0]
    assert fix.course is None and fix.battery is None


def test_location_parameter_and_heading_alias() -> None:
    fix = parse_q(query(id="d", location="30.5,120.5", heading=370)).fixes[0]
    assert (fix.lat, fix.lon) == (30.5, 120.5) and fix.course == 10


def test_json_batch_of_locations_gives_several_fixes() -> None:
    one = json.loads(traccar_json())["location"]
    two = dict(one, timestamp="2025-06-01T07:59:40Z")
    body = json.dumps({"device_id": "dev-1", "location": [one, two]}).encode()
    parsed = parse_http(query="", body=body, content_type="application/json", now=NOW, options=OPTS)
    assert [f.fixed_at.second for f in parsed.fixes] == [30, 40]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1748764800", dt.datetime(2025, 6, 1, 8, 0, tzinfo=dt.UTC)),  # epoch seconds
        ("1748764800000", dt.datetime(2025, 6, 1, 8, 0, tzinfo=dt.UTC)),  # epoch milliseconds
        ("1748764799500", dt.datetime(2025, 6, 1, 7, 59, 59, 500000, tzinfo=dt.UTC)),
        ("2025-06-01T15:00:00+08:00", dt.datetime(2025, 6, 1, 7, 0, tzinfo=dt.UTC)),  # ISO with offset
        ("2025-06-01T07:00:00Z", dt.datetime(2025, 6, 1, 7, 0, tzinfo=dt.UTC)),
        ("2025-06-01T07:00:00.250Z", dt.datetime(2025, 6, 1, 7, 0, 0, 250000, tzinfo=dt.UTC)),
        ("2025-06-01 07:00:00", dt.datetime(2025, 6, 1, 7, 0, tzinfo=dt.UTC)),  # yyyy-MM-dd HH:mm:ss in UTC
        ("2025-06-01 07:00:00.123", dt.datetime(2025, 6, 1, 7, 0, 0, 123000, tzinfo=dt.UTC)),
        ("2025-06-01T15:00:00 08:00", dt.datetime(2025, 6, 1, 7, 0, tzinfo=dt.UTC)),  # '+' unencoded → space
    ],
)
def test_timestamp_forms(raw: str, expected: dt.datetime) -> None:
    assert parse_timestamp(raw, now=NOW, options=OPTS) == expected


def test_naive_timestamp_zone_is_configurable() -> None:
    shanghai = ParseOptions(naive_tz=zoneinfo.ZoneInfo("Asia/Shanghai"))
    assert parse_timestamp("2025-06-01 15:00:00", now=NOW, options=shanghai) == dt.datetime(
        2025, 6, 1, 7, 0, tzinfo=dt.UTC
    )


def test_query_speed_unit_is_configurable() -> None:
    kmh = ParseOptions(query_speed_unit="kmh")
    fix = parse_q(query(id="d", lat=1, lon=2, speed=50), options=kmh).fixes[0]
    assert fix.speed_kmh == 50


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"lat": 1, "lon": 2}, "id"),
        ({"id": "d", "lat": 91, "lon": 2}, "lat"),
        ({"id": "d", "lat": 1, "lon": -180.5}, "lon"),
        ({"id": "d", "lat": 0, "lon": 0}, "lat"),
        ({"id": "d", "lat": "abc", "lon": 2}, "lat"),
        ({"id": "d", "lat": "nan", "lon": 2}, "lat"),
        ({"id": "d", "lat": 1, "lon": "inf"}, "lon"),
        ({"id": "d"}, "lat"),
        ({"id": "d", "location": "1;2"}, "location"),
        ({"id": "d", "lat": 1, "lon": 2, "speed": "fast"}, "speed"),
        ({"id": "d", "lat": 1, "lon": 2, "timestamp": "yesterday"}, "timestamp"),
        ({"id": "d", "lat": 1, "lon": 2, "timestamp": "1999-12-31 23:59:59"}, "timestamp"),
        ({"id": "d", "lat": 1, "lon": 2, "timestamp": str(int(NOW.timestamp()) + 3600)}, "timestamp"),
        ({"id": "x" * 65, "lat": 1, "lon": 2}, "id"),
    ],
)
def test_bad_query_is_rejected_with_the_field_at_fault(params: dict[str, object], field: str) -> None:
    with pytest.raises(GpsRejected) as info:
        parse_q(query(**params))
    assert info.value.status == 400 and info.value.field == field
    assert info.value.reason  # a message a person can act on


def test_future_limit_is_configurable() -> None:
    ts = str(int(NOW.timestamp()) + 120)
    strict = ParseOptions(max_future=dt.timedelta(seconds=60))
    assert parse_q(query(id="d", lat=1, lon=2, timestamp=ts)).fixes[0].fixed_at > NOW
    with pytest.raises(GpsRejected):
        parse_q(query(id="d", lat=1, lon=2, timestamp=ts), options=strict)


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b"[]",
        b'"x"',
        b"\xff\xfe",
        json.dumps({"location": {}}).encode(),
        b"[" * 100000 + b"]" * 100000,
        json.dumps({"device_id": "d", "location": {"coords": {"latitude": "x", "longitude": 1}}}).encode(),
        json.dumps({"device_id": "d", "location": {"timestamp": "2025-06-01T07:00:00Z"}}).encode(),
        json.dumps({"device_id": ["d"], "location": {}}).encode(),
    ],
)
def test_bad_json_is_rejected(body: bytes) -> None:
    with pytest.raises(GpsRejected):
        parse_http(query="", body=body, content_type="application/json", now=NOW, options=OPTS)


def test_mqtt_flat_payload_uses_the_topic_device_and_metres_per_second() -> None:
    payload = json.dumps(
        {"lat": 30.1, "lon": 120.1, "speed": 5, "timestamp": 1748764790, "batt": 50, "ignition": True}
    ).encode()
    parsed = parse_mqtt("truck-9", payload, now=NOW, options=OPTS)
    fix = parsed.fixes[0]
    assert parsed.device_id == "truck-9" and parsed.fmt == "mqtt"
    assert fix.speed_kmh == pytest.approx(18.0) and fix.battery == 50 and fix.attributes == {"ignition": True}


def test_mqtt_payload_naming_another_device_is_rejected() -> None:
    with pytest.raises(GpsRejected):
        parse_mqtt("truck-9", traccar_json(), now=NOW, options=OPTS)


# ---------------------------------------------------------------- property tests: garbage never crashes

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
_keys = st.sampled_from(
    [
        "id",
        "deviceid",
        "device_id",
        "lat",
        "lon",
        "location",
        "timestamp",
        "speed",
        "bearing",
        "heading",
        "altitude",
        "accuracy",
        "hdop",
        "batt",
        "valid",
        "_",
    ]
) | st.text(max_size=8)


def _outcome(**kw: object) -> None:
    try:
        parsed = parse_http(now=NOW, options=OPTS, **kw)  # type: ignore[arg-type]
    except GpsRejected as exc:
        assert exc.status in (400, 404) and exc.reason
        return
    for fix in parsed.fixes:
        assert -90 <= fix.lat <= 90 and -180 <= fix.lon <= 180
        assert fix.fixed_at.tzinfo is not None and fix.fixed_at <= NOW + OPTS.max_future
        assert fix.speed_kmh is None or fix.speed_kmh >= 0
        assert fix.course is None or 0 <= fix.course < 360
        assert fix.battery is None or 0 <= fix.battery <= 100
        for number in (fix.speed_kmh, fix.altitude, fix.accuracy, fix.hdop):
            assert number is None or math.isfinite(number)
        json.dumps(fix.attributes, allow_nan=False)  # what the JSON column must hold
        for key, value in fix.attributes.items():
            for text in (key, value if isinstance(value, str) else ""):
                assert all(ch.isprintable() or unicodedata.category(ch) == "Zs" for ch in text), repr(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_keys, st.text(max_size=30)), max_size=12))
def test_any_query_gives_a_fix_or_a_reason(pairs: list[tuple[str, str]]) -> None:
    _outcome(query=urlencode(pairs), body=b"", content_type="")


@settings(max_examples=200, deadline=None)
@given(
    st.binary(max_size=200),
    st.sampled_from(["", "application/json", "application/x-www-form-urlencoded", "text/plain"]),
)
def test_any_body_gives_a_fix_or_a_reason(body: bytes, content_type: str) -> None:
    _outcome(query="", body=body, content_type=content_type)


@settings(max_examples=150, deadline=None)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "device_id": _json_values,
            "lat": _json_values,
            "lon": _json_values,
            "timestamp": _json_values,
            "location": st.fixed_dictionaries(
                {},
                optional={
                    "timestamp": _json_values,
                    "coords": st.dictionaries(
                        st.sampled_from(["latitude", "longitude", "speed", "heading", "altitude", "accuracy"]),
                        _json_values,
                    ),
                    "battery": _json_values,
                    "extras": _json_values,
                    "is_moving": _json_values,
                },
            )
            | _json_values,
        },
    )
)
def test_any_json_gives_a_fix_or_a_reason(root: dict[str, object]) -> None:
    _outcome(query="", body=json.dumps(root).encode(), content_type="application/json")


def test_a_batch_with_one_bad_fix_keeps_the_good_ones_and_says_what_was_skipped() -> None:
    one = json.loads(traccar_json())["location"]
    no_fix = dict(one, coords=dict(one["coords"], latitude=0, longitude=0))
    two = dict(one, timestamp="2025-06-01T07:59:40Z")
    body = json.dumps({"device_id": "dev-1", "location": [one, no_fix, two]}).encode()
    parsed = parse_http(query="", body=body, content_type="application/json", now=NOW, options=OPTS)
    assert [f.fixed_at.second for f in parsed.fixes] == [30, 40]
    assert len(parsed.skipped) == 1 and parsed.skipped[0].startswith("location[1]: 坐标为 0,0")
    only_bad = json.dumps({"device_id": "dev-1", "location": [no_fix]}).encode()
    with pytest.raises(GpsRejected, match="0,0"):
        parse_http(query="", body=only_bad, content_type="application/json", now=NOW, options=OPTS)


def test_owntracks_http_with_the_device_in_the_url_and_no_json_content_type() -> None:
    body = json.dumps(
        {
            "_type": "location",
            "lat": 30.28,
            "lon": 120.15,
            "tst": 1748764740,
            "vel": 36,
            "cog": 270,
            "alt": 15,
            "acc": 8,
            "batt": 77,
            "tid": "c1",
            "t": "u",
        }
    ).encode()
    for content_type in ("application/json", "text/plain", ""):
        parsed = parse_http(query="id=crew-7", body=body, content_type=content_type, now=NOW, options=OPTS)
        (fix,) = parsed.fixes
        assert parsed.device_id == "crew-7" and (fix.lat, fix.lon) == (30.28, 120.15)
        assert fix.fixed_at == dt.datetime(2025, 6, 1, 7, 59, tzinfo=dt.UTC)
        assert (fix.speed_kmh, fix.course, fix.altitude, fix.accuracy, fix.battery) == (36, 270, 15, 8, 77)
        assert fix.attributes == {"tid": "c1", "t": "u"}
    with_topic = json.loads(body) | {"topic": "owntracks/zhang/crew-9"}
    parsed = parse_http(
        query="", body=json.dumps(with_topic).encode(), content_type="application/json", now=NOW, options=OPTS
    )
    assert parsed.device_id == "crew-9"
    with pytest.raises(GpsRejected, match="不含定位"):
        parse_http(
            query="id=x", body=b'{"_type": "transition"}', content_type="application/json", now=NOW, options=OPTS
        )


def test_overland_geojson_batch_speed_in_metres_per_second() -> None:
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [120.16, 30.25]},
        "properties": {
            "timestamp": "2025-06-01T07:59:30Z",
            "speed": 10,
            "course": 45,
            "altitude": 9,
            "horizontal_accuracy": 5,
            "battery_level": 0.5,
            "device_id": "van-3",
            "wifi": "",
        },
    }
    bad = dict(feature, geometry={"type": "Point", "coordinates": [500, 30]})
    body = json.dumps({"locations": [feature, bad]}).encode()
    parsed = parse_http(query="", body=body, content_type="application/json", now=NOW, options=OPTS)
    (fix,) = parsed.fixes
    assert parsed.device_id == "van-3" and (fix.lat, fix.lon) == (30.25, 120.16)
    assert (round(fix.speed_kmh or 0, 6), fix.course, fix.altitude, fix.accuracy, fix.battery) == (36.0, 45, 9, 5, 50.0)
    assert parsed.skipped and "经度超出" in parsed.skipped[0]
    anonymous = {"locations": [dict(feature, properties={"timestamp": "2025-06-01T07:59:30Z"})]}
    assert (
        parse_http(
            query="id=van-4",
            body=json.dumps(anonymous).encode(),
            content_type="application/json",
            now=NOW,
            options=OPTS,
        ).device_id
        == "van-4"
    )


def test_gpslogger_home_assistant_form_and_a_decimal_comma() -> None:
    parsed = parse_http(
        query="",
        body=b"latitude=30.3&longitude=120.1&device=phone-5&accuracy=12",
        content_type="application/x-www-form-urlencoded",
        now=NOW,
        options=OPTS,
    )
    assert parsed.device_id == "phone-5" and (parsed.fixes[0].lat, parsed.fixes[0].lon) == (30.3, 120.1)
    comma = parse_q("id=t-1&lat=30,3170&lon=120,1500")
    assert (comma.fixes[0].lat, comma.fixes[0].lon) == (30.317, 120.15)
    assert parse_q("id=t-1&location=30.3,120.1").fixes[0].lon == 120.1  # location=lat,lon is not a decimal comma


def test_an_impossible_speed_is_stored_as_unknown_with_the_raw_value_kept() -> None:
    # A broken sensor or a unit mix-up (here 5,000 knots): the position is good, the speed is not.
    (fix,) = parse_q("id=t-1&lat=30.3&lon=120.1&speed=5000").fixes
    assert fix.speed_kmh is None and fix.attributes["implausible_speed_kmh"] == pytest.approx(9260)
    # Beyond any reading (the hard bound, after conversion) the fix is refused, not stored with garbage.
    with pytest.raises(GpsRejected, match="速度超出范围"):
        parse_q("id=t-1&lat=30.3&lon=120.1&speed=1e300")
    (normal,) = parse_q("id=t-1&lat=30.3&lon=120.1&speed=60").fixes
    assert normal.speed_kmh == pytest.approx(111.12) and "implausible_speed_kmh" not in normal.attributes


# ---------------------------------------------------------------- property tests: the number reader


@settings(max_examples=500, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_every_finite_float_written_in_ascii_reads_back_exactly(number: float) -> None:
    assert decimal(repr(number)) == number
    assert decimal(f"{number:.17e}") == number


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=30))
def test_any_text_is_a_finite_ascii_decimal_or_nothing(text: str) -> None:
    number = decimal(text)
    if number is None:
        return
    stripped = text.strip(" \t")
    assert math.isfinite(number) and stripped.isascii()
    assert re.fullmatch(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?|[+-]?[0-9]+,[0-9]+", stripped)


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=10, max_value=10**12), st.integers(min_value=1, max_value=9))
def test_separators_and_other_scripts_digits_are_not_numbers(number: int, cut: int) -> None:
    text = str(number)
    underscored = text[:cut] + "_" + text[cut:] if cut < len(text) else text + "_0"
    full_width = text.translate({ord(d): 0xFF10 + int(d) for d in "0123456789"})
    arabic = text.translate({ord(d): 0x0660 + int(d) for d in "0123456789"})
    for spelled in (underscored, full_width, arabic, text + "\x00", "0x" + text, text + "j"):
        assert decimal(spelled) is None, spelled
    assert float(full_width) == number  # what Python's own float() accepts, and the parser must not


@pytest.mark.parametrize(
    "text", ["inf", "-Infinity", "nan", "NaN", "1e309", "-1e999", "1e", ".", "", "+", "1.2.3", "١"]
)
def test_non_finite_and_malformed_spellings_are_not_numbers(text: str) -> None:
    assert decimal(text) is None


def test_the_decimal_comma_is_still_read() -> None:
    assert decimal("30,3170") == 30.317 and decimal("-1,5") == -1.5 and decimal("1,000,000") is None
