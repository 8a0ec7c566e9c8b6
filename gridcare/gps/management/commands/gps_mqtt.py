"""`gridcare gps-mqtt [--host H] [--port P] [--topic T]`: store fixes published on <topic>/<device>."""

from __future__ import annotations

import signal
import threading
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from gridcare.gps.config import get_config
from gridcare.gps.mqtt import MqttIngest


class Command(BaseCommand):
    help = "Subscribe to the MQTT broker and store GPS positions published on gridcare/gps/<device>."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", help="broker host (default GRIDCARE_GPS_MQTT_HOST or 127.0.0.1)")
        parser.add_argument("--port", type=int, help="broker port (default GRIDCARE_GPS_MQTT_PORT or 1883)")
        parser.add_argument("--topic", help="topic prefix (default GRIDCARE_GPS_MQTT_TOPIC or gridcare/gps)")
        parser.add_argument("--seconds", type=float, default=0, help="stop after this many seconds (0 = run on)")

    def handle(self, *args: Any, **options: Any) -> None:
        config = get_config()
        topic = options["topic"]
        if topic is not None and (not topic.strip("/") or "+" in topic or "#" in topic):
            raise CommandError(f"--topic {topic!r} must be a plain prefix such as gridcare/gps (no wildcards)")
        ingest = MqttIngest(config, host=options["host"], port=options["port"], topic=topic)
        try:
            ingest.start()
        except OSError as exc:
            raise CommandError(f"cannot reach the MQTT broker at {ingest.host}:{ingest.port}: {exc}") from None
        stop = threading.Event()
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        if not ingest.connected.wait(10):
            ingest.stop()
            raise CommandError(f"the MQTT broker at {ingest.host}:{ingest.port} did not accept the connection")
        self.stdout.write(f"gps-mqtt subscribed to {ingest.topic}/+ on {ingest.host}:{ingest.port}")
        self.stdout.flush()
        deadline = time.monotonic() + options["seconds"] if options["seconds"] > 0 else None
        while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            stop.wait(0.2)
        ingest.stop()
        s = ingest.stats
        self.stdout.write(f"stopped: accepted={s.accepted} rejected={s.rejected} unknown={s.unknown_device}")
