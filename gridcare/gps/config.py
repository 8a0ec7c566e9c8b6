"""GPS ingest settings read from the environment through the helpers that fail loudly.

Read once per process with `get_config()`; tests and benchmarks build their own with `load_config(environ)`
and install it with `override(config)`.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured

from gridcare.core.env import env_bool, env_choice, env_int, env_str
from gridcare.gps.parsing import KMH_PER_UNIT, ParseOptions, load_tz


@dataclass(frozen=True)
class GpsConfig:
    retention_days: int
    speed_filter: bool
    max_speed_kmh: int
    jump_reset_count: int
    max_future_seconds: int
    naive_time_zone: str
    query_speed_unit: str
    token: str
    # Accept positions from anyone when no token is set: an explicit choice (a closed test network, the
    # demo), never the default, because an open ingest lets anyone move a vehicle to a fault.
    open_ingest: bool
    listen_host: str
    listen_port: int
    batch_size: int
    flush_ms: int
    max_body_bytes: int
    # The listener's defences against slow and greedy clients (seconds, connections).
    header_timeout_s: float
    body_timeout_s: float
    idle_timeout_s: float
    max_connections_per_address: int
    max_connections: int
    mqtt_host: str
    mqtt_port: int
    mqtt_topic: str
    mqtt_username: str
    mqtt_password: str
    mqtt_client_id: str

    def parse_options(self) -> ParseOptions:
        return ParseOptions(
            max_future=dt.timedelta(seconds=self.max_future_seconds),
            naive_tz=load_tz(self.naive_time_zone),
            query_speed_unit=self.query_speed_unit,
        )


def load_config(environ: Mapping[str, str] | None = None) -> GpsConfig:
    environ = os.environ if environ is None else environ
    naive_tz = env_str("GRIDCARE_GPS_NAIVE_TIME_ZONE", "UTC", environ)
    try:
        load_tz(naive_tz)
    except Exception:
        raise ImproperlyConfigured(
            f"GRIDCARE_GPS_NAIVE_TIME_ZONE={naive_tz!r} is not a known time zone; use UTC or e.g. Asia/Shanghai."
        ) from None
    topic = env_str("GRIDCARE_GPS_MQTT_TOPIC", "gridcare/gps", environ).strip().rstrip("/")
    if not topic or "+" in topic or "#" in topic:
        raise ImproperlyConfigured(
            f"GRIDCARE_GPS_MQTT_TOPIC={topic!r} must be a plain topic prefix such as gridcare/gps (no wildcards)."
        )
    return GpsConfig(
        retention_days=env_int("GRIDCARE_GPS_RETENTION_DAYS", 90, minimum=1, environ=environ),
        speed_filter=env_bool("GRIDCARE_GPS_SPEED_FILTER", True, environ),
        max_speed_kmh=env_int("GRIDCARE_GPS_MAX_SPEED_KMH", 200, minimum=10, environ=environ),
        jump_reset_count=env_int("GRIDCARE_GPS_JUMP_RESET_COUNT", 3, minimum=1, environ=environ),
        max_future_seconds=env_int("GRIDCARE_GPS_MAX_FUTURE_SECONDS", 600, minimum=0, environ=environ),
        naive_time_zone=naive_tz,
        query_speed_unit=env_choice("GRIDCARE_GPS_QUERY_SPEED_UNIT", "kn", set(KMH_PER_UNIT), environ),
        token=env_str("GRIDCARE_GPS_TOKEN", "", environ).strip(),
        open_ingest=env_bool("GRIDCARE_GPS_OPEN", False, environ),
        listen_host=env_str("GRIDCARE_GPS_HOST", "127.0.0.1", environ),
        listen_port=env_int("GRIDCARE_GPS_PORT", 5055, minimum=1, environ=environ),
        batch_size=env_int("GRIDCARE_GPS_BATCH_SIZE", 500, minimum=1, environ=environ),
        flush_ms=env_int("GRIDCARE_GPS_FLUSH_MS", 100, minimum=1, environ=environ),
        # A Traccar Client batch of the 500 fixes a request may carry is about 190 KB.
        max_body_bytes=env_int("GRIDCARE_GPS_MAX_BODY_BYTES", 262144, minimum=1024, environ=environ),
        # A phone on a poor mobile link sends a request head (~500 bytes) in well under a second and a full
        # 190 KB batch in well under half a minute; a client slower than that is holding a descriptor.
        header_timeout_s=env_int("GRIDCARE_GPS_HEADER_TIMEOUT_S", 10, minimum=1, environ=environ),
        body_timeout_s=env_int("GRIDCARE_GPS_BODY_TIMEOUT_S", 30, minimum=1, environ=environ),
        idle_timeout_s=env_int("GRIDCARE_GPS_IDLE_TIMEOUT_S", 120, minimum=1, environ=environ),
        # Generous: a whole fleet can sit behind one carrier-grade NAT address.
        max_connections_per_address=env_int(
            "GRIDCARE_GPS_MAX_CONNECTIONS_PER_ADDRESS", 256, minimum=1, environ=environ
        ),
        max_connections=env_int("GRIDCARE_GPS_MAX_CONNECTIONS", 10000, minimum=1, environ=environ),
        mqtt_host=env_str("GRIDCARE_GPS_MQTT_HOST", "127.0.0.1", environ),
        mqtt_port=env_int("GRIDCARE_GPS_MQTT_PORT", 1883, minimum=1, environ=environ),
        mqtt_topic=topic,
        mqtt_username=env_str("GRIDCARE_GPS_MQTT_USERNAME", "", environ),
        mqtt_password=env_str("GRIDCARE_GPS_MQTT_PASSWORD", "", environ),
        mqtt_client_id=env_str("GRIDCARE_GPS_MQTT_CLIENT_ID", "gridcare-gps", environ),
    )


_config: GpsConfig | None = None


def get_config() -> GpsConfig:
    global _config
    if _config is None:
        _config = load_config()
    return _config


@contextmanager
def override(config: GpsConfig) -> Iterator[GpsConfig]:
    global _config
    previous, _config = _config, config
    try:
        yield config
    finally:
        _config = previous
