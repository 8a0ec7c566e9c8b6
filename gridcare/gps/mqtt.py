"""`gridcare gps-mqtt`: subscribe to gridcare/gps/<device> and store the JSON fixes published there.

The topic names the device. Payloads use the Traccar Client JSON layout or a flat {lat, lon, …} object
(speed in m/s, as in all JSON). Messages are acknowledged by hand (paho's manual_ack) only after their
fix is committed, so with QoS 1 the broker redelivers whatever a crash lost. Rejected messages are
acknowledged too (a retry would fail the same way) and counted; MQTT has no way to answer the sender.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from django.utils import timezone

from gridcare.gps.config import GpsConfig
from gridcare.gps.parsing import GpsRejected, parse_mqtt
from gridcare.gps.services import IngestResult
from gridcare.gps.writer import BatchWriter, DeviceDirectory

log = logging.getLogger("gridcare.gps")


@dataclass
class MqttStats:
    accepted: int = 0
    rejected: int = 0
    unknown_device: int = 0
    failed: int = 0
    reasons: Counter[str] = field(default_factory=Counter)


class MqttIngest:
    def __init__(
        self,
        config: GpsConfig,
        *,
        host: str | None = None,
        port: int | None = None,
        topic: str | None = None,
        client_id: str | None = None,
        persistent: bool = True,
    ):
        self.config = config
        self.host = host or config.mqtt_host
        self.port = port or config.mqtt_port
        self.topic = (topic or config.mqtt_topic).rstrip("/")
        self.options = config.parse_options()
        self.stats = MqttStats()
        self.directory = DeviceDirectory()
        self.writer = BatchWriter(config)
        self.connected = threading.Event()  # set once the broker has acknowledged the subscription
        self._lock = threading.Lock()
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=client_id or config.mqtt_client_id,
            # A persistent session keeps the subscription and queued QoS 1 messages across restarts.
            clean_session=not persistent,
            manual_ack=True,
        )
        if config.mqtt_username:
            self.client.username_pw_set(config.mqtt_username, config.mqtt_password or None)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe

    def start(self) -> MqttIngest:
        """Load the devices, connect, and process messages in paho's background thread."""
        self.directory.load()
        self.writer.start()
        self.client.connect(self.host, self.port, keepalive=30)
        self.client.loop_start()
        return self

    def stop(self) -> None:
        self.client.loop_stop()
        self.writer.stop()
        self.client.disconnect()

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        if reason_code.is_failure:
            log.error("MQTT connection refused: %s", reason_code)
            return
        client.subscribe(f"{self.topic}/+", qos=1)

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, reason_codes: Any, properties: Any) -> None:
        if any(code.is_failure for code in reason_codes):
            log.error("MQTT subscription to %s/+ refused: %s", self.topic, reason_codes)
            return
        self.connected.set()

    def _count(self, key: str, reason: str | None = None) -> None:
        with self._lock:
            setattr(self.stats, key, getattr(self.stats, key) + 1)
            if reason:
                self.stats.reasons[reason] += 1

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        device = message.topic[len(self.topic) + 1 :]
        try:
            if len(message.payload) > self.config.max_body_bytes:
                raise GpsRejected(f"消息超过 {self.config.max_body_bytes} 字节 (payload too large)", status=413)
            parsed = parse_mqtt(device, message.payload, now=timezone.now(), options=self.options)
        except GpsRejected as exc:
            self._count("rejected", exc.reason)
            log.info("MQTT message on %s rejected: %s", message.topic, exc.reason)
            client.ack(message.mid, message.qos)
            return
        try:
            if self.directory.due_for_refresh():
                self.directory.load()
            device_pk = self.directory.lookup(parsed.device_id)
        except Exception:
            # The database, not the message: left unacknowledged, so the broker delivers it again after a
            # reconnect; an exception escaping here would stop paho's network thread.
            log.exception("device look-up failed for an MQTT message on %s", message.topic)
            self._count("failed")
            return
        if device_pk is None:
            self._count("unknown_device")
            client.ack(message.mid, message.qos)
            return
        future = self.writer.submit([(device_pk, fix) for fix in parsed.fixes])
        future.add_done_callback(lambda f: self._stored(f, message, len(parsed.fixes)))

    def _stored(self, future: Future[IngestResult], message: mqtt.MQTTMessage, count: int) -> None:
        if future.exception() is not None:
            # Not acknowledged: the broker delivers it again after a reconnect.
            self._count("failed")
            return
        with self._lock:
            self.stats.accepted += count
        self.client.ack(message.mid, message.qos)
