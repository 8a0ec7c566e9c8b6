"""The MQTT subscriber against the local Mosquitto broker (127.0.0.1:1883): events land once, each refused item
or message is counted, and the consumers hear of the new events. Skipped, with the reason, without a broker."""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace

import paho.mqtt.client as mqtt
import pytest

from gridcare.ami.config import IngestConfig
from gridcare.ami.models import MeterEvent
from gridcare.ami.mqtt import MeterEventSubscriber
from tests.ami.conftest import Recorder, event

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
    return f"gridcare-test-{uuid.uuid4().hex[:8]}/ami"


@pytest.fixture
def subscriber(meters, ami_cfg: IngestConfig, topic: str) -> Iterator[MeterEventSubscriber]:
    config = replace(ami_cfg, max_body_bytes=4096)
    sub = MeterEventSubscriber(config, topic=topic, client_id=f"gc-test-{uuid.uuid4().hex[:8]}", persistent=False)
    sub.start()
    assert sub.connected.wait(10), "broker did not accept the subscription"
    try:
        yield sub
    finally:
        sub.stop()


def publish(topic: str, payloads: list[bytes], head_end: str = "HE-1") -> None:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"gc-pub-{uuid.uuid4().hex[:8]}")
    client.connect(*BROKER)
    client.loop_start()
    try:
        for payload in payloads:
            client.publish(f"{topic}/{head_end}", payload, qos=1).wait_for_publish(5)
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


def test_events_published_by_a_head_end_land_once_and_reach_the_consumers(
    subscriber: MeterEventSubscriber, topic: str, meters, recorder: Recorder
) -> None:
    north, other = list(meters.values())[:2]
    batch = json.dumps({"events": [event(f"B-{m}", m, at=1780272000) for m in north]}).encode()
    publish(
        topic,
        [
            json.dumps(event("S-1", other[0], kind="失压", at="2026-06-01T08:00:00+08:00")).encode(),
            batch,
            batch,  # resent: nothing stored twice
            json.dumps([event("G-1", "GHOST"), event("X-1", other[1], kind="??")]).encode(),
            b"not json",
            b"[" + b" " * 5000 + b"]",  # over GRIDCARE_AMI_MAX_BODY_BYTES (4096 here)
        ],
    )
    stats = subscriber.stats
    wait_for(lambda: stats.messages == 6 and stats.stored + stats.duplicates + stats.unknown_meters == 10)
    wait_for(lambda: len(recorder.delivered) == 5)
    assert (stats.stored, stats.duplicates, stats.unknown_meters) == (5, 4, 1)
    assert (stats.rejected_messages, stats.invalid) == (2, 3)  # two whole messages, and one item of a batch
    assert set(MeterEvent.objects.values_list("channel", flat=True)) == {"mqtt"}
    assert MeterEvent.objects.get(event_id="S-1").kind == "voltage_loss"
    assert sorted(recorder.delivered) == sorted(["S-1", *(f"B-{m}" for m in north)])
    wait_for(lambda: not MeterEvent.objects.filter(processed_at__isnull=True).exists())


def test_the_command_subscribes_stores_and_reports_what_it_did(
    meters, ami_cfg: IngestConfig, topic: str, capsys
) -> None:
    from django.core.management import CommandError, call_command

    from gridcare.ami import config as ami_config

    meter = next(iter(meters.values()))[0]
    # Retained, so the broker hands it to the command as soon as it subscribes (no race with its start).
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"gc-pub-{uuid.uuid4().hex[:8]}")
    client.connect(*BROKER)
    client.loop_start()
    client.publish(f"{topic}/HE-2", json.dumps(event("R-1", meter)), qos=1, retain=True).wait_for_publish(5)
    try:
        config = replace(ami_cfg, mqtt_client_id=f"gc-cmd-{uuid.uuid4().hex[:8]}")
        with ami_config.override(config):
            call_command("ami", "mqtt", "--topic", topic, "--seconds", "2")
    finally:
        client.publish(f"{topic}/HE-2", b"", qos=1, retain=True).wait_for_publish(5)  # clear the retained message
        client.loop_stop()
        client.disconnect()
    out = capsys.readouterr().out
    assert f"subscribed to {topic}/+" in out and "stored=1" in out
    assert MeterEvent.objects.get().event_id == "R-1"
    with pytest.raises(CommandError, match="no wildcards"):
        call_command("ami", "mqtt", "--topic", "gridcare/#")
