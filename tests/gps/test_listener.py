"""The `gps-listen` server over real HTTP on 127.0.0.1: every client layout, keep-alive, hostile requests."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from gridcare.gps.config import GpsConfig
from gridcare.gps.listener import ListenerThread
from gridcare.gps.models import LatestPosition, TrackPoint
from tests.gps.conftest import make_device

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def listener(city, gps_cfg: GpsConfig) -> Iterator[ListenerThread]:
    make_device("trk-1")
    make_device("trk-2")
    thread = ListenerThread(gps_cfg).start()
    try:
        yield thread
    finally:
        thread.stop()


def request(
    port: int, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def raw(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        answer = b""
        while b"\r\n\r\n" not in answer:  # the status line and headers are all these tests need
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer


def epoch(seconds_ago: int = 0) -> int:
    return int(timezone.now().timestamp()) - seconds_ago


def test_every_client_layout_lands_with_speed_in_kmh(listener: ListenerThread) -> None:
    port = listener.port
    # Traccar Client (Android ≤ 8) / OsmAnd: GET with a query string, speed in knots
    assert (
        request(
            port,
            "GET",
            "/?"
            + urlencode(
                {
                    "id": "trk-1",
                    "timestamp": epoch(40),
                    "lat": 30.1,
                    "lon": 120.1,
                    "speed": 10,
                    "bearing": 90,
                    "batt": 80,
                }
            ),
        )[0]
        == 200
    )
    # POST with the query string and an empty body (what the Android client does)
    assert (
        request(
            port,
            "POST",
            "/?" + urlencode({"id": "trk-1", "timestamp": epoch(30) * 1000, "lat": 30.101, "lon": 120.1}),
            b"",
        )[0]
        == 200
    )
    # form body
    form = urlencode(
        {
            "deviceid": "trk-1",
            "timestamp": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch(20))),
            "location": "30.102,120.1",
            "speed": 5,
        }
    )
    assert request(port, "POST", "/", form.encode(), {"Content-Type": "application/x-www-form-urlencoded"})[0] == 200
    # Traccar Client 9+ JSON, speed in m/s
    iso = dt.datetime.fromtimestamp(epoch(10), tz=dt.UTC).isoformat().replace("+00:00", "Z")
    body = {
        "device_id": "trk-1",
        "location": {
            "timestamp": iso,
            "coords": {
                "latitude": 30.103,
                "longitude": 120.1,
                "speed": 10,
                "heading": 45,
                "altitude": 5,
                "accuracy": 3,
            },
            "battery": {"level": 0.42},
            "is_moving": True,
        },
    }
    assert request(port, "POST", "/", json.dumps(body).encode(), {"Content-Type": "application/json"})[0] == 200

    points = list(TrackPoint.objects.order_by("fixed_at").values_list("source", "lat", "speed_kmh"))
    assert [p[0] for p in points] == ["query", "query", "form", "json"]
    assert points[0][2] == pytest.approx(18.52) and points[1][2] is None
    assert points[2][2] == pytest.approx(9.26) and points[3][2] == pytest.approx(36.0)
    latest = LatestPosition.objects.get(device__unique_id="trk-1")
    assert (latest.lat, latest.battery, latest.course) == (30.103, 42.0, 45)


def test_keep_alive_connection_carries_many_requests(listener: ListenerThread) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", listener.port, timeout=10)
    try:
        for i in range(20):
            conn.request(
                "GET", "/?" + urlencode({"id": "trk-2", "timestamp": epoch(100 - i), "lat": 30 + i / 10000, "lon": 120})
            )
            response = conn.getresponse()
            response.read()
            assert response.status == 200
    finally:
        conn.close()
    assert TrackPoint.objects.filter(device__unique_id="trk-2").count() == 20


def test_unknown_device_answers_like_traccar(listener: ListenerThread) -> None:
    assert request(listener.port, "GET", "/?id=ghost&lat=30&lon=120")[0] == 400
    body = json.dumps({"device_id": "ghost", "location": {"coords": {"latitude": 30, "longitude": 120}}}).encode()
    status, text = request(listener.port, "POST", "/", body, {"Content-Type": "application/json"})
    assert status == 404 and "ghost" in text
    assert listener.server.stats.unknown_device == 2


def test_a_device_registered_after_start_is_found(listener: ListenerThread, city) -> None:
    make_device("late-1")
    assert request(listener.port, "GET", "/?id=late-1&lat=30&lon=120")[0] == 200


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"GET /?id=trk-1&lat=95&lon=120 HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        (b"GET /?id=trk-1&lat=30&lon=120&timestamp=9999999999 HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        (b'POST / HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 9\r\n\r\n{"device"', 400),
        (b"PUT / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 405),
        (b"POST / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", 413),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 411),
        (b"POST / HTTP/1.1\r\nContent-Length: -5\r\n\r\n", 400),
        (b"POST /?id=trk-1&lat=30&lon=120 HTTP/1.1\r\nContent-Length: \xb2\r\n\r\nab", 400),  # latin-1 '²'
        (b"GARBAGE\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nX-Long: " + b"a" * 20000 + b"\r\n\r\n", 431),
        (b"GET /?" + b"&".join(b"k%d=1" % i for i in range(200)) + b" HTTP/1.1\r\n\r\n", 400),
        (b"GET /?id=trk-1&lat=%ff%fe&lon=1 HTTP/1.1\r\nConnection: close\r\n\r\n", 400),
    ],
)
def test_hostile_requests_get_4xx_and_store_nothing(listener: ListenerThread, data: bytes, status: int) -> None:
    answer = raw(listener.port, data)
    assert answer.startswith(f"HTTP/1.1 {status} ".encode()), answer[:200]
    assert not TrackPoint.objects.exists()


def test_server_survives_a_client_that_hangs_up_mid_body(listener: ListenerThread) -> None:
    with socket.create_connection(("127.0.0.1", listener.port), timeout=5) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\nid=trk")
    assert request(listener.port, "GET", "/?id=trk-1&lat=30&lon=120")[0] == 200


def test_discard_mode_parses_and_answers_without_storing(city, gps_cfg: GpsConfig) -> None:
    thread = ListenerThread(gps_cfg, discard=True).start()
    try:
        assert request(thread.port, "GET", "/?id=anyone&lat=30&lon=120")[0] == 200
        assert request(thread.port, "GET", "/?id=anyone&lat=300&lon=120")[0] == 400
    finally:
        thread.stop()
    assert not TrackPoint.objects.exists()


def test_cli_refuses_a_bad_port_with_one_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gridcare.cli", "gps-listen", "--port", "70000"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"DEBUG": "1", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode != 0
    assert "--port 70000" in result.stderr and "Traceback" not in result.stderr
