"""The MQTT subscriber against the local Mosquitto broker (127.0.0.1:1883): JSON fixes land, garbage is counted."""

from __future__ import annotations

import datetime as dt
import json
import socket
import time
import uuid
from collections.abc import Callable, Iterator

import paho.mqtt.client as mqtt
import pytest
from django.utils import timezone

from gridcare.gps.config import GpsConfig
from gridcare.gps.models import LatestPosition, TrackPoint
from gridcare.gps.mqtt import MqttIngest
from tests.gps.conftest import make_device

BROKER = ("127.0.0.1", 1883)
pytestmark = pytest.mark.django_db(transaction=True)


def broker_up() -> bool:
    try:
        with socket.create_connection(BROKER, timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def topic() -> str:
    if not broker_up():
        pytest.skip("no MQTT broker at 127.0.0.1:1883 (install and start mosquitto to run this test)")
    return f"gridcare-test-{uuid.uuid4().hex[:8]}/gps"


@pytest.fixture
def subscriber(city, gps_cfg: GpsConfig, topic: str) -> Iterator[MqttIngest]:
    make_device("van-1")
    make_device("van-2")
    ingest = MqttIngest(gps_cfg, topic=topic, client_id=f"gc-test-{uuid.uuid4().hex[:8]}", persistent=False).start()
    assert ingest.connected.wait(10), "broker did not accept the subscription"
    try:
        yield ingest
    finally:
        ingest.stop()


def publish(topic: str, messages: list[tuple[str, bytes]]) -> None:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"gc-pub-{uuid.uuid4().hex[:8]}")
    client.connect(*BROKER)
    client.loop_start()
    try:
        for device, payload in messages:
            client.publish(f"{topic}/{device}", payload, qos=1).wait_for_publish(5)
    finally:
        client.loop_stop()
        client.disconnect()


def wait_for(condition: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_traccar_and_flat_json_land_and_garbage_is_rejected(subscriber: MqttIngest, topic: str) -> None:
    now = timezone.now()
    iso = (now - dt.timedelta(seconds=30)).isoformat()
    traccar = {
        "device_id": "van-1",
        "location": {
            "timestamp": iso,
            "coords": {"latitude": 30.2, "longitude": 120.2, "speed": 5, "heading": 10},
            "battery": {"level": 0.9},
        },
    }
    flat = {"lat": 30.3, "lon": 120.3, "speed": 10, "timestamp": int(now.timestamp()) - 10, "batt": 55}
    publish(
        topic,
        [
            ("van-1", json.dumps(traccar).encode()),
            ("van-2", json.dumps(flat).encode()),
            ("van-2", b"not json"),
            ("van-2", json.dumps({"lat": 91, "lon": 1}).encode()),
            ("ghost", json.dumps(flat).encode()),
        ],
    )
    stats = subscriber.stats
    wait_for(lambda: stats.accepted + stats.rejected + stats.unknown_device == 5)
    assert (stats.accepted, stats.rejected, stats.unknown_device) == (2, 2, 1)
    van1 = LatestPosition.objects.get(device__unique_id="van-1")
    assert (van1.lat, van1.battery) == (30.2, 90.0) and van1.speed_kmh == pytest.approx(18.0)
    van2 = TrackPoint.objects.get(device__unique_id="van-2")
    assert (van2.source, van2.lat, van2.battery) == ("mqtt", 30.3, 55) and van2.speed_kmh == pytest.approx(36.0)
