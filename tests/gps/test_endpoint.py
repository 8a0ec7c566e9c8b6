"""`/gps/osmand` on the main site through Django's test client: every layout, unknown devices, bad input."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from urllib.parse import urlencode

import pytest
import time_machine
from django.test import Client

from gridcare.gps import config as gps_config
from gridcare.gps.models import LatestPosition, TrackPoint
from tests.gps.conftest import make_device

NOW = dt.datetime(2025, 6, 1, 8, 0, tzinfo=dt.UTC)
URL = "/gps/osmand"


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def test_get_query_lands_as_the_latest_position_in_kmh(city, gps_cfg, frozen) -> None:
    v = make_device("phone-1")
    ts = int(NOW.timestamp()) - 10
    r = Client().get(
        URL, {"id": "phone-1", "timestamp": ts, "lat": 30.25, "lon": 120.15, "speed": 20, "bearing": 180, "batt": 66}
    )
    assert r.status_code == 200
    latest = LatestPosition.objects.get(device=v)
    assert (latest.lat, latest.lon, latest.battery) == (30.25, 120.15, 66)
    assert latest.speed_kmh == pytest.approx(37.04)  # 20 knots
    assert latest.fixed_at == NOW - dt.timedelta(seconds=10) and latest.received_at == NOW


def test_post_query_form_and_json_without_csrf(city, gps_cfg, frozen) -> None:
    v = make_device("phone-2")
    client = Client(enforce_csrf_checks=True)
    assert client.post(f"{URL}?id=phone-2&lat=30.1&lon=120.1&timestamp=2025-06-01%2007:50:00").status_code == 200
    form_body = urlencode({"deviceid": "phone-2", "lat": "30.11", "lon": "120.1", "timestamp": "2025-06-01T07:55:00Z"})
    form = client.post(URL, form_body, content_type="application/x-www-form-urlencoded")
    assert form.status_code == 200
    body = {
        "device_id": "phone-2",
        "location": {
            "timestamp": "2025-06-01T07:59:00Z",
            "coords": {"latitude": 30.12, "longitude": 120.1, "speed": 10, "heading": 5, "altitude": 3, "accuracy": 8},
            "battery": {"level": 0.5},
        },
    }
    assert client.post(URL, json.dumps(body), content_type="application/json").status_code == 200
    sources = list(TrackPoint.objects.filter(device=v).order_by("fixed_at").values_list("source", "speed_kmh"))
    assert sources == [("query", None), ("form", None), ("json", pytest.approx(36.0))]
    assert LatestPosition.objects.get(device=v).battery == 50


def test_unknown_device_is_400_for_query_and_404_for_json(city, gps_cfg, frozen) -> None:
    client = Client()
    r = client.get(URL, {"id": "nobody", "lat": 30, "lon": 120})
    assert r.status_code == 400 and "nobody" in r.content.decode()
    body = {
        "device_id": "nobody",
        "location": {"timestamp": "2025-06-01T07:59:00Z", "coords": {"latitude": 30, "longitude": 120}},
    }
    assert client.post(URL, json.dumps(body), content_type="application/json").status_code == 404
    assert not TrackPoint.objects.exists()


@pytest.mark.parametrize(
    "qs",
    [
        "id=phone-3&lat=95&lon=120",
        "id=phone-3&lat=30&lon=abc",
        "id=phone-3&lat=30&lon=120&timestamp=4102444800",
        "lat=30&lon=120",
        "",
    ],
)
def test_malformed_requests_get_400_with_a_reason_and_store_nothing(city, gps_cfg, frozen, qs: str) -> None:
    make_device("phone-3")
    r = Client().get(f"{URL}?{qs}")
    assert r.status_code == 400 and r.content
    assert not TrackPoint.objects.exists()


def test_malformed_json_is_400(city, gps_cfg) -> None:
    r = Client().post(URL, b'{"device_id": "x", "location": ', content_type="application/json")
    assert r.status_code == 400


def test_other_methods_are_refused(city, gps_cfg) -> None:
    assert Client().put(URL).status_code == 405


def test_shared_token_when_configured(city, gps_cfg, frozen) -> None:
    make_device("phone-4")
    with gps_config.override(replace(gps_cfg, token="s3cret")):
        client = Client()
        assert client.get(URL, {"id": "phone-4", "lat": 30, "lon": 120}).status_code == 403
        assert client.get(URL, {"id": "phone-4", "lat": 30, "lon": 120, "token": "wrong"}).status_code == 403
        assert client.get(URL, {"id": "phone-4", "lat": 30, "lon": 120, "token": "s3cret"}).status_code == 200
        assert (
            client.get(URL, {"id": "phone-4", "lat": 30.001, "lon": 120}, HTTP_X_GRIDCARE_TOKEN="s3cret").status_code
            == 200
        )
    assert TrackPoint.objects.count() == 2
    assert "token" not in TrackPoint.objects.first().attributes


def test_multipart_form_is_refused_with_advice(city, gps_cfg) -> None:
    make_device("phone-5")
    r = Client().post(URL, {"id": "phone-5", "lat": "30", "lon": "120"})
    assert r.status_code == 400 and "x-www-form-urlencoded" in r.content.decode()


def test_a_batch_with_a_bad_fix_is_answered_200_and_the_good_fixes_land(city, gps_cfg, frozen) -> None:
    v = make_device("van-9")

    def feature(lon: float, seconds_ago: int, lat: float = 30.2) -> dict[str, object]:
        at = (NOW - dt.timedelta(seconds=seconds_ago)).isoformat()
        return {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"timestamp": at},
        }

    body = json.dumps({"locations": [feature(120.10, 30), feature(0, 20, lat=0), feature(120.11, 10)]})
    # Overland posts JSON; a script may forget the content type: the body is read as JSON either way.
    r = Client().post(f"{URL}?id=van-9", body, content_type="text/plain")
    assert r.status_code == 200 and "跳过 1 条" in r.content.decode()
    assert TrackPoint.objects.filter(device=v).count() == 2
    assert LatestPosition.objects.get(device=v).lon == 120.11


def test_the_url_with_a_trailing_slash_and_a_full_traccar_batch_are_accepted(city, gps_cfg, frozen) -> None:
    make_device("phone-7")
    assert Client().get(f"{URL}/", {"id": "phone-7", "lat": 30.1, "lon": 120.1}).status_code == 200
    location = {
        "timestamp": "2025-06-01T07:00:00.000Z",
        "coords": {"latitude": 30.25, "longitude": 120.16, "speed": 1.0, "heading": 90, "altitude": 12, "accuracy": 4},
        "is_moving": True,
        "odometer": 1234.5,
        "battery": {"level": 0.81, "is_charging": False},
        "activity": {"type": "in_vehicle"},
        "extras": {},
    }
    batch = [
        dict(location, timestamp=(NOW - dt.timedelta(minutes=59) + dt.timedelta(seconds=7 * i)).isoformat())
        for i in range(500)
    ]
    body = json.dumps({"device_id": "phone-7", "location": batch})
    assert len(body) > 65536  # the old default limit
    r = Client().post(URL, body, content_type="application/json")
    assert r.status_code == 200, r.content
    assert TrackPoint.objects.filter(device__unique_id="phone-7").count() == 501
