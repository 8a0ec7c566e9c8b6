"""Hostile GPS input over real HTTP (the main site's /gps/osmand and the gps-listen listener) and real MQTT:
poison fixes are refused alone and never fail their neighbours, strings are stored clean, slow and greedy
clients are cut off, oversize bodies get 413, and refusals do not tell which device ids exist."""

from __future__ import annotations

import contextlib
import datetime as dt
import http.client
import json
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import quote

import pytest
from django.core.checks import run_checks
from django.utils import timezone

from gridcare.gps import config as gps_config
from gridcare.gps.config import GpsConfig
from gridcare.gps.listener import ListenerThread
from gridcare.gps.models import TrackPoint
from gridcare.gps.mqtt import MqttIngest
from gridcare.gps.parsing import Fix
from gridcare.gps.writer import BatchWriter
from tests.gps.conftest import make_device
from tests.gps.test_mqtt import broker_up, publish, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

DEVICE = "poison-1"
CONTROL = "".join(chr(c) for c in range(32)) + "\x7f\u200b\u202e\ud800\u2028"


def _nested(depth: int) -> Any:
    value: Any = 30.2
    for _ in range(depth):
        value = [value]
    return value


def _good(i: int, **extra: Any) -> dict[str, Any]:
    at = timezone.now() - dt.timedelta(seconds=300 - i)
    location: dict[str, Any] = {
        "timestamp": at.isoformat(),
        "coords": {"latitude": 30.2 + i * 0.0001, "longitude": 120.1, "speed": 5, "heading": 90, "accuracy": 5},
        "battery": {"level": 0.8},
    }
    location.update(extra)
    return location


def _with_coords(i: int, **coords: Any) -> dict[str, Any]:
    location = _good(i)
    location["coords"] = {**location["coords"], **coords}
    return location


# Each is one item of a Traccar Client batch that must be refused on its own (field values, not the body).
POISON: dict[str, Callable[[int], Any]] = {
    "1e308 m/s overflows to infinity in km/h": lambda i: _with_coords(i, speed=1e308),
    "Infinity literal": lambda i: _with_coords(i, latitude=float("inf")),
    "NaN literal": lambda i: _with_coords(i, longitude=float("nan")),
    "-Infinity accuracy": lambda i: _with_coords(i, accuracy=float("-inf")),
    "inf as text": lambda i: _with_coords(i, latitude="inf"),
    "nan as text": lambda i: _with_coords(i, latitude="nan"),
    "hex float": lambda i: _with_coords(i, latitude="-0x1p3"),
    "digit separator 1_0": lambda i: _with_coords(i, latitude="3_0.2"),
    "full-width digits": lambda i: _with_coords(i, longitude="１２０.１"),
    "Arabic-Indic digits": lambda i: _with_coords(i, latitude="٣٠.٢"),
    "latitude 91": lambda i: _with_coords(i, latitude=91),
    "longitude 181": lambda i: _with_coords(i, longitude=181),
    "NUL in a number": lambda i: _with_coords(i, latitude="30.2\x00"),
    "control character in a number": lambda i: _with_coords(i, longitude="120.1\x1b"),
    "huge number text": lambda i: _with_coords(i, latitude="3" * 20000),
    "integer of 400 digits": lambda i: _with_coords(i, longitude=10**400),
    "heading 1e300": lambda i: _with_coords(i, heading=1e300),
    "altitude 1e300": lambda i: _with_coords(i, altitude=1e300),
    "negative timestamp": lambda i: _good(i, timestamp=-5),
    "timestamp -1e20": lambda i: _good(i, timestamp=-1e20),
    "year 99999": lambda i: _good(i, timestamp="99999-01-01T00:00:00Z"),
    "full-width year": lambda i: _good(i, timestamp="２０２５-06-01T07:00:00Z"),
    "deeply nested value": lambda i: _with_coords(i, latitude=_nested(300)),
    "boolean latitude": lambda i: _with_coords(i, latitude=True),
    "object latitude": lambda i: _with_coords(i, latitude={"value": 30.2}),
    "coords as a list": lambda i: _good(i, coords=[30.2, 120.1]),
    "timestamp as a list": lambda i: _good(i, timestamp=[1]),
    "item is text": lambda i: "30.2,120.1",
    "item is a number": lambda i: 7,
}


def _dirty(i: int) -> dict[str, Any]:
    """A good fix whose free text is hostile: stored, with the text cleaned and cut."""
    return _good(i, extras={"no\x00te" + CONTROL: "a\x00b" + CONTROL + "c" + "x" * 3000, "k" * 1000: 1})


def poison_batch() -> tuple[bytes, int]:
    """A batch with good fixes around and between every kind of poison; returns (body, number of good fixes)."""
    items: list[Any] = []
    good = 0
    for n, make in enumerate(POISON.values()):
        items.append(_good(n * 2) if n % 3 else _dirty(n * 2))
        good += 1
        items.append(make(n * 2 + 1))
    items.append(_good(len(POISON) * 2))
    good += 1
    return json.dumps({"device_id": DEVICE, "location": items}).encode(), good


def assert_stored_cleanly(expected: int) -> None:
    points = list(TrackPoint.objects.filter(device__unique_id=DEVICE))
    assert len(points) == expected
    for point in points:
        assert -90 <= point.lat <= 90 and -180 <= point.lon <= 180
        for key, value in point.attributes.items():
            for text in (key, value if isinstance(value, str) else ""):
                assert len(text) <= 200
                assert not any(ch in CONTROL for ch in text), repr(text[:80])
    dirty = [p for p in points if "note" in p.attributes]
    assert dirty and dirty[0].attributes["note"].startswith("abc") and len(dirty[0].attributes["note"]) == 200


# Single requests in the query layout (speed in knots) that must get 400 with a reason.
POISON_QUERIES = [
    "speed=1e308",  # knots: 1e308 × 1.852 is infinite
    "speed=1e300",
    "lat=inf",
    "lat=nan",
    "lat=-0x1p3",
    "lat=3_0",
    "lat=" + quote("３０.２"),
    "lat=30.2%00",
    "lat=30.2%0a",
    "lat=" + "3" * 5000,
    "lat=91",
    "lon=181",
    "bearing=1e300",
    "altitude=-1e300",
    "accuracy=1e300",
    "hdop=inf",
    "timestamp=-5",
    "timestamp=-100000000000000000000",
    "timestamp=99999-01-01T00:00:00Z",
    "timestamp=" + quote("２０２５-06-01 07:00:00"),
]


def _query(poison: str) -> str:
    values = {"id": DEVICE, "lat": "30.2", "lon": "120.1"}
    key, _, value = poison.partition("=")
    values[key] = value
    return "&".join(f"{k}={v}" for k, v in values.items())


# ---------------------------------------------------------------- HTTP transports


def send(
    port: int, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        conn.request(method, path, body=body or None, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


class Endpoint:
    """A real HTTP endpoint: the main site's /gps/osmand under a live server, or a gps-listen listener."""

    def __init__(self, kind: str, config: GpsConfig, live_server: Any = None):
        self.kind = kind
        self.live_server = live_server
        self.thread: ListenerThread | None = None
        self.port = 0
        self.path = "/gps/osmand" if kind == "site" else "/"
        self._stack = contextlib.ExitStack()
        self.configure(config)

    def configure(self, config: GpsConfig) -> None:
        """Serve with `config` from now on (the listener reads its configuration once, at start)."""
        self.close()
        self._stack = contextlib.ExitStack()
        if self.kind == "site":
            self._stack.enter_context(gps_config.override(config))
            self.port = int(self.live_server.url.rsplit(":", 1)[1])
        else:
            self.thread = ListenerThread(config).start()
            self.port = self.thread.port

    def close(self) -> None:
        self._stack.close()
        if self.thread is not None:
            self.thread.stop()
            self.thread = None


@pytest.fixture(params=["site", "listener"])
def endpoint(request: pytest.FixtureRequest, city, gps_cfg: GpsConfig) -> Iterator[Endpoint]:
    make_device(DEVICE)
    live_server = request.getfixturevalue("live_server") if request.param == "site" else None
    served = Endpoint(request.param, gps_cfg, live_server)
    try:
        yield served
    finally:
        served.close()


def test_a_poisoned_batch_stores_exactly_the_good_fixes_and_names_the_skipped(endpoint: Endpoint) -> None:
    port, path = endpoint.port, endpoint.path
    body, good = poison_batch()
    status, text = send(port, "POST", path, body, {"Content-Type": "application/json"})
    assert status == 200, text[:500]
    assert f"已保存 {good} 条，跳过 {len(POISON)} 条" in text
    assert_stored_cleanly(good)


@pytest.mark.parametrize("poison", POISON)
def test_a_single_poison_fix_is_400_with_a_reason(endpoint: Endpoint, poison: str) -> None:
    port, path = endpoint.port, endpoint.path
    body = json.dumps({"device_id": DEVICE, "location": POISON[poison](1)}).encode()
    status, text = send(port, "POST", path, body, {"Content-Type": "application/json"})
    assert status == 400 and "(" in text, (status, text[:300])
    assert not TrackPoint.objects.exists()


@pytest.mark.parametrize("poison", POISON_QUERIES)
def test_a_poison_query_is_400_with_a_reason(endpoint: Endpoint, poison: str) -> None:
    port, path = endpoint.port, endpoint.path
    status, text = send(port, "GET", f"{path}?{_query(poison)}")
    assert status == 400 and text, (status, text[:300])
    assert not TrackPoint.objects.exists()


def test_control_characters_in_a_device_id_are_refused_and_in_attributes_stripped(endpoint: Endpoint) -> None:
    port, path = endpoint.port, endpoint.path
    for device in ("poison-1%00", "poison-1%1b", "poison-%E2%80%AE1", "poison-1%0d%0aX-Injected:%201"):
        status, text = send(port, "GET", f"{path}?id={device}&lat=30.2&lon=120.1")
        assert status == 400 and "控制字符" in text, (device, status, text)
    status, _ = send(port, "GET", f"{path}?id={DEVICE}&lat=30.2&lon=120.1&no%00te=a%00b%1bc%e2%80%8b&x%07=1_0")
    assert status == 200
    (point,) = TrackPoint.objects.all()
    assert point.attributes == {"note": "abc", "x": "1_0"}  # `1_0` is text, not the number 10


def test_a_body_over_the_limit_is_413_not_an_html_400(endpoint: Endpoint) -> None:
    port, path = endpoint.port, endpoint.path
    body = b"id=" + b"x" * (3 * 1024 * 1024)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if endpoint.kind == "listener":
        # The listener answers from the declared length and closes without reading the body; a client still
        # writing 3 MB would then see a broken pipe before it reads the answer (timing-dependent). Declare it only.
        headers["Content-Length"] = str(len(body))
        body = b""
    status, text = send(port, "POST", path, body, headers)
    assert status == 413 and "body too large" in text and "<html" not in text.lower()
    assert not TrackPoint.objects.exists()


# ---------------------------------------------------------------- the writer: one bad request never fails another


def test_one_request_the_database_refuses_does_not_fail_the_others_written_with_it(city, gps_cfg: GpsConfig) -> None:
    device = make_device("writer-1")
    now = timezone.now()

    def fix(seconds: int, **attributes: Any) -> Fix:
        return Fix(
            device_id="writer-1",
            fixed_at=now - dt.timedelta(seconds=seconds),
            lat=30.2,
            lon=120.1 + seconds / 1e4,
            attributes=attributes,
        )

    # A fix built past the parser, with what the old parser let through: an infinite attribute is not JSON.
    writer = BatchWriter(replace(gps_cfg, flush_ms=500, batch_size=500)).start()
    try:
        futures = [
            writer.submit([(device.id, fix(30))]),
            writer.submit([(device.id, fix(20, implausible_speed_kmh=float("inf")))]),
            writer.submit([(device.id, fix(10))]),
        ]
        outcomes = []
        for future in futures:
            try:
                future.result(timeout=20)
                outcomes.append("stored")
            except Exception:
                outcomes.append("refused")
    finally:
        writer.stop()
    assert outcomes == ["stored", "refused", "stored"]
    assert TrackPoint.objects.filter(device=device).count() == 2


# ---------------------------------------------------------------- MQTT


@pytest.fixture
def mqtt_ingest(city, gps_cfg: GpsConfig) -> Iterator[tuple[MqttIngest, str]]:
    if not broker_up():
        pytest.skip("no MQTT broker at 127.0.0.1:1883 (install and start mosquitto to run this test)")
    make_device(DEVICE)
    topic = f"gridcare-test-{uuid.uuid4().hex[:8]}/gps"
    ingest = MqttIngest(gps_cfg, topic=topic, client_id=f"gc-test-{uuid.uuid4().hex[:8]}", persistent=False).start()
    assert ingest.connected.wait(10), "broker did not accept the subscription"
    try:
        yield ingest, topic
    finally:
        ingest.stop()


def test_mqtt_poison_is_refused_alone_and_the_good_fixes_around_it_land(mqtt_ingest: tuple[MqttIngest, str]) -> None:
    ingest, topic = mqtt_ingest
    batch, good_in_batch = poison_batch()
    singles = [json.dumps({"location": POISON[name](100 + n)}).encode() for n, name in enumerate(POISON)]
    flat_poison = [
        b'{"lat": 30.2, "lon": 120.1, "speed": 1e308}',
        b'{"lat": "1_0", "lon": 120.1}',
        b'{"lat": 30.2, "lon": "\\uff11\\uff12\\uff10.1"}',
        b'{"lat": NaN, "lon": 120.1}',
        b'{"lat": 30.2, "lon": 120.1, "timestamp": -1}',
        b"[" * 50000 + b"]" * 50000,
        json.dumps({"lat": 30.2, "lon": 120.1, "pad": "x" * 300000}).encode(),  # over the size limit
    ]
    messages: list[tuple[str, bytes]] = [(DEVICE, json.dumps({"location": _good(400)}).encode())]
    for payload in [*singles, *flat_poison]:
        messages.append((DEVICE, payload))
    messages.append((DEVICE, batch))
    messages.append((DEVICE, json.dumps({"location": _good(401)}).encode()))
    publish(topic, messages)
    expected = good_in_batch + 2
    stats = ingest.stats
    wait_for(lambda: stats.rejected == len(singles) + len(flat_poison) and stats.accepted == expected, 30)
    time.sleep(0.3)  # nothing more arrives late
    assert stats.failed == 0 and stats.accepted == expected
    assert_stored_cleanly(expected)


# ---------------------------------------------------------------- slow and greedy clients (the listener)


@pytest.fixture
def strict_listener(city, gps_cfg: GpsConfig) -> Iterator[Callable[..., ListenerThread]]:
    threads: list[ListenerThread] = []
    make_device(DEVICE)

    def start(**overrides: Any) -> ListenerThread:
        thread = ListenerThread(replace(gps_cfg, **overrides)).start()
        threads.append(thread)
        return thread

    yield start
    for thread in threads:
        thread.stop()


def _closed_within(sock: socket.socket, seconds: float, trickle: bytes = b"") -> tuple[float, bytes]:
    """Feed `trickle` a byte every 0.2 s and read; (seconds until the server closed, what it sent)."""
    sock.settimeout(0.2)
    started = time.monotonic()
    received = b""
    position = 0
    while time.monotonic() - started < seconds:
        if position < len(trickle):
            try:
                sock.send(trickle[position : position + 1])
            except OSError:
                return time.monotonic() - started, received
            position += 1
        try:
            chunk = sock.recv(4096)
        except TimeoutError:
            continue
        except OSError:
            return time.monotonic() - started, received
        if not chunk:
            return time.monotonic() - started, received
        received += chunk
    raise AssertionError(f"still open after {seconds} s; received {received[:200]!r}")


def test_a_body_that_never_comes_is_cut_off_by_the_body_timeout(strict_listener: Callable[..., ListenerThread]) -> None:
    listener = strict_listener(body_timeout_s=1)
    with socket.create_connection(("127.0.0.1", listener.port), timeout=5) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nid=")
        elapsed, answer = _closed_within(sock, 6)
    assert 0.8 <= elapsed < 4 and answer.startswith(b"HTTP/1.1 408 ")


def test_a_head_sent_byte_by_byte_is_cut_off_by_the_header_timeout(
    strict_listener: Callable[..., ListenerThread],
) -> None:
    listener = strict_listener(header_timeout_s=1)
    head = b"GET /?id=poison-1&lat=30.2&lon=120.1 HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 200 + b"\r\n\r\n"
    with socket.create_connection(("127.0.0.1", listener.port), timeout=5) as sock:
        elapsed, answer = _closed_within(sock, 8, head)
    assert 0.8 <= elapsed < 4 and answer.startswith(b"HTTP/1.1 408 ")
    assert not TrackPoint.objects.exists()


def test_a_keep_alive_connection_may_idle_between_requests(strict_listener: Callable[..., ListenerThread]) -> None:
    listener = strict_listener(header_timeout_s=1, idle_timeout_s=30)
    conn = http.client.HTTPConnection("127.0.0.1", listener.port, timeout=10)
    try:
        for i in range(2):
            conn.request("GET", f"/?id={DEVICE}&lat=30.2{i}&lon=120.1")
            response = conn.getresponse()
            response.read()
            assert response.status == 200
            time.sleep(1.5)  # longer than the header timeout, shorter than the idle timeout
    finally:
        conn.close()


def test_connections_over_the_per_address_cap_are_refused_and_others_still_served(
    strict_listener: Callable[..., ListenerThread],
) -> None:
    listener = strict_listener(max_connections_per_address=3, header_timeout_s=30)
    port = listener.port
    stalled = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(3)]
    try:
        time.sleep(0.3)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as extra:
            extra.settimeout(5)
            answer = extra.recv(4096)
        assert answer.startswith(b"HTTP/1.1 503 ") or answer == b""
        # Another address is served while 127.0.0.1 is at its cap.
        with socket.create_connection(("127.0.0.1", port), timeout=5, source_address=("127.0.0.2", 0)) as other:
            other.sendall(f"GET /?id={DEVICE}&lat=30.2&lon=120.1 HTTP/1.1\r\nConnection: close\r\n\r\n".encode())
            assert other.recv(4096).startswith(b"HTTP/1.1 200 ")
        assert listener.server.stats.refused_connections >= 1
    finally:
        for sock in stalled:
            sock.close()
    # Once the stalled connections are gone, the address is served again.
    time.sleep(0.3)
    assert send(port, "GET", f"/?id={DEVICE}&lat=30.21&lon=120.1")[0] == 200


# ---------------------------------------------------------------- who may report, and what refusals reveal


def _answers(port: int, path: str, token: str | None) -> set[tuple[int, str]]:
    """The answers for a known and an unknown device, in the query and the JSON layouts, with `token`."""
    suffix = "" if token is None else f"&token={token}"
    answers = set()
    for device in (DEVICE, "no-such-device"):
        answers.add(send(port, "GET", f"{path}?id={device}&lat=30.2&lon=120.1{suffix}"))
        body = json.dumps({"device_id": device, "location": _good(1)}).encode()
        json_path = path if token is None else f"{path}?token={token}"
        answers.add(send(port, "POST", json_path, body, {"Content-Type": "application/json"}))
    return answers


@pytest.mark.parametrize("closed", [True, False], ids=["no-token-configured", "wrong-token"])
def test_refusals_are_identical_for_known_and_unknown_devices(endpoint: Endpoint, gps_cfg, closed) -> None:
    endpoint.configure(replace(gps_cfg, open_ingest=False, token="" if closed else "a-long-enough-secret-token"))
    for token in (None, "wrong", "a-long-enough-secret-tokeX"):
        answers = _answers(endpoint.port, endpoint.path, token)
        assert len(answers) == 1, answers
        ((status, text),) = answers
        assert status == 403 and DEVICE not in text and "no-such-device" not in text
    assert not TrackPoint.objects.exists()


def test_a_disabled_device_is_refused_exactly_like_an_unknown_one(endpoint: Endpoint, gps_cfg) -> None:
    token = "a-long-enough-secret-token"
    endpoint.configure(replace(gps_cfg, open_ingest=False, token=token))
    make_device("switched-off", disabled=True)
    port, path = endpoint.port, endpoint.path

    def answers(device: str) -> list[tuple[int, str]]:
        body = json.dumps({"device_id": device, "location": _good(1)}).encode()
        found = [
            send(port, "GET", f"{path}?id={device}&lat=30.2&lon=120.1&token={token}"),
            send(port, "POST", f"{path}?token={token}", body, {"Content-Type": "application/json"}),
        ]
        return [(status, text.replace(device, "<id>")) for status, text in found]

    disabled, unknown = answers("switched-off"), answers("no-such-device")
    assert disabled == unknown
    assert [status for status, _ in disabled] == [400, 404]  # Traccar's answers for the query and JSON layouts
    assert not TrackPoint.objects.exists()


def test_the_token_lets_a_device_in(endpoint: Endpoint, gps_cfg) -> None:
    endpoint.configure(replace(gps_cfg, open_ingest=False, token="a-long-enough-secret-token"))
    port, path = endpoint.port, endpoint.path
    assert send(port, "GET", f"{path}?id={DEVICE}&lat=30.2&lon=120.1&token=a-long-enough-secret-token")[0] == 200
    headers = {"X-GridCare-Token": "a-long-enough-secret-token"}
    assert send(port, "GET", f"{path}?id={DEVICE}&lat=30.21&lon=120.1", headers=headers)[0] == 200
    assert TrackPoint.objects.count() == 2
    assert all("token" not in p.attributes for p in TrackPoint.objects.all())


def test_ingest_is_closed_by_default_and_check_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    config = gps_config.load_config({})
    assert not config.token and not config.open_ingest
    monkeypatch.delenv("GRIDCARE_GPS_TOKEN", raising=False)
    monkeypatch.delenv("GRIDCARE_GPS_OPEN", raising=False)
    assert "gridcare.I011" in {m.id for m in run_checks()}
    monkeypatch.setenv("GRIDCARE_GPS_OPEN", "true")
    found = {m.id: m.msg for m in run_checks()}
    assert "open to anyone" in found["gridcare.W010"]
    monkeypatch.setenv("GRIDCARE_GPS_TOKEN", "short")
    found = {m.id: m.msg for m in run_checks()}
    assert "gridcare.W010" not in found and "gridcare.W012" in found
    monkeypatch.setenv("GRIDCARE_GPS_TOKEN", "a-long-enough-secret-token")
    assert not {m.id for m in run_checks()} & {"gridcare.W010", "gridcare.W012", "gridcare.I011"}
