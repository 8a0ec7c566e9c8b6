"""`gridcare ami mqtt`: subscribe to <topic>/<head-end> and store the meter events published there.

The payload is the HTTP layout (one event, `{"events": [...]}` or an array); the last topic level names the
head-end that published, so the broker's ACL can give each head-end its own topic. Messages are queued and
written by one thread in batches (up to `batch_size` events, `flush_ms` after the first), and acknowledged by
hand (paho's manual_ack) only after their events are committed: with QoS 1 and a persistent session the broker
delivers again whatever a crash lost. A message that cannot be read is acknowledged too (it would fail the same
way again), logged and counted; MQTT has no way to answer the sender.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from django.db import close_old_connections, connection
from django.utils import timezone

from gridcare.ami import ingest
from gridcare.ami.config import IngestConfig
from gridcare.ami.models import Channel
from gridcare.ami.parsing import AmiRejected, ParsedBatch
from gridcare.ami.services import meter_events_ingest

log = logging.getLogger("gridcare.ami")

# A batch is written as soon as the queue has been quiet this long: light traffic is stored at once.
IDLE_GAP_S = 0.005


@dataclass
class MqttStats:
    messages: int = 0
    stored: int = 0
    duplicates: int = 0
    unknown_meters: int = 0
    conflicts: int = 0
    invalid: int = 0  # events refused by the parser (in readable messages, or whole unreadable messages)
    rejected_messages: int = 0  # messages of which nothing could be read
    failed: int = 0  # messages left unacknowledged because the database failed
    reasons: Counter[str] = field(default_factory=Counter)


@dataclass
class _Job:
    message: mqtt.MQTTMessage
    batch: ParsedBatch


class MeterEventSubscriber:
    def __init__(
        self,
        config: IngestConfig,
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
        self.stats = MqttStats()
        self.connected = threading.Event()  # set once the broker has acknowledged the subscription
        self._lock = threading.Lock()
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._writer = threading.Thread(target=self._run, name="ami-mqtt-writer", daemon=True)
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
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message

    def start(self) -> MeterEventSubscriber:
        self._writer.start()
        self.client.connect(self.host, self.port, keepalive=30)
        self.client.loop_start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Write what is queued, then disconnect."""
        self._queue.put(None)
        self._writer.join(timeout)
        self.client.loop_stop()
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

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.stats.messages += 1
        try:
            if len(message.payload) > self.config.max_body_bytes:
                raise AmiRejected(f"消息超过 {self.config.max_body_bytes} 字节 (payload too large)", status=413)
            batch = ingest.parse(message.payload, now=timezone.now(), config=self.config)
        except AmiRejected as exc:
            with self._lock:
                self.stats.rejected_messages += 1
                self.stats.invalid += max(len(exc.errors), 1)
                self.stats.reasons[exc.reason] += 1
            log.info("MQTT message on %s refused: %s", message.topic, exc.reason)
            client.ack(message.mid, message.qos)
            return
        if batch.errors:
            log.info("MQTT message on %s: %d events refused: %s", message.topic, len(batch.errors), batch.errors[:5])
        self._queue.put(_Job(message, batch))

    def _run(self) -> None:
        flush_s = self.config.flush_ms / 1000.0
        stopping = False
        try:
            while not stopping:
                first = self._queue.get()
                if first is None:
                    break
                jobs, count = [first], len(first.batch.events)
                deadline = time.monotonic() + flush_s
                while count < self.config.batch_size:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    try:
                        job = self._queue.get(timeout=min(remaining, IDLE_GAP_S))
                    except queue.Empty:
                        break
                    if job is None:
                        stopping = True
                        break
                    jobs.append(job)
                    count += len(job.batch.events)
                self._flush(jobs)
        finally:
            connection.close()

    def _flush(self, jobs: list[_Job]) -> None:
        close_old_connections()
        events = [event for job in jobs for event in job.batch.events]
        try:
            result = meter_events_ingest(events=events, channel=Channel.MQTT, now=timezone.now())
        except Exception as exc:
            connection.close()  # a broken connection must not poison the next batch
            if len(jobs) > 1:
                # The batch joins messages of several head-ends: one the database refuses must not fail the
                # others, so each is written on its own and only the one at fault stays unacknowledged.
                log.warning(
                    "MQTT batch of %d events failed (%s); writing its %d messages one by one",
                    len(events),
                    exc,
                    len(jobs),
                )
                for job in jobs:
                    self._flush([job])
                return
            log.exception(
                "MQTT message on %s could not be stored; the broker will deliver it again", jobs[0].message.topic
            )
            with self._lock:
                self.stats.failed += 1
            return
        start = 0
        for job in jobs:
            n = len(job.batch.events)
            answer = ingest.receipt(job.batch, result.outcomes[start : start + n])
            start += n
            with self._lock:
                self.stats.stored += answer.stored
                self.stats.duplicates += answer.duplicates
                self.stats.unknown_meters += answer.unknown_meters
                self.stats.conflicts += answer.conflicts
                self.stats.invalid += answer.invalid
            if answer.unknown_meters or answer.conflicts:
                log.info("MQTT message on %s: %s", job.message.topic, answer.summary)
            self.client.ack(job.message.mid, job.message.qos)
