"""Meter-event ingest settings read from the environment through the helpers that fail loudly (as the GPS ingest
reads its own). The ping interface is chosen by `settings.GRIDCARE_AMI_PINGER` (gridcare/settings.py).

Read once per process with `get_config()`; tests build their own with `load_config(environ)` and install it with
`override(config)`.
"""

from __future__ import annotations

import datetime as dt
import os
import zoneinfo
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured

from gridcare.core.env import env_int, env_str


@dataclass(frozen=True)
class IngestConfig:
    # The head-end's shared secret (X-GridCare-Token). Empty: only administrators may post; never anonymous.
    token: str
    max_future_seconds: int
    # Zone of times written without one (`2026-06-01 08:00:00`); empty: such times are refused.
    naive_time_zone: str
    max_events: int  # per request or MQTT message
    max_body_bytes: int  # per MQTT message (HTTP bodies are bounded by DATA_UPLOAD_MAX_MEMORY_SIZE)
    mqtt_host: str
    mqtt_port: int
    mqtt_topic: str
    mqtt_username: str
    mqtt_password: str
    mqtt_client_id: str
    batch_size: int  # events the MQTT subscriber writes in one transaction at most
    flush_ms: int  # …and how long it waits for more after the first

    @property
    def max_future(self) -> dt.timedelta:
        return dt.timedelta(seconds=self.max_future_seconds)

    @property
    def naive_tz(self) -> dt.tzinfo | None:
        return zoneinfo.ZoneInfo(self.naive_time_zone) if self.naive_time_zone else None


def load_config(environ: Mapping[str, str] | None = None) -> IngestConfig:
    environ = os.environ if environ is None else environ
    naive = env_str("GRIDCARE_AMI_NAIVE_TIME_ZONE", "", environ).strip()
    if naive:
        try:
            zoneinfo.ZoneInfo(naive)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ImproperlyConfigured(
                f"GRIDCARE_AMI_NAIVE_TIME_ZONE={naive!r} is not a known time zone; use e.g. Asia/Shanghai, "
                "or leave it empty to refuse times without a zone."
            ) from None
    topic = env_str("GRIDCARE_AMI_MQTT_TOPIC", "gridcare/ami", environ).strip().rstrip("/")
    if not topic or "+" in topic or "#" in topic:
        raise ImproperlyConfigured(
            f"GRIDCARE_AMI_MQTT_TOPIC={topic!r} must be a plain topic prefix such as gridcare/ami (no wildcards)."
        )
    return IngestConfig(
        token=env_str("GRIDCARE_AMI_TOKEN", "", environ).strip(),
        max_future_seconds=env_int("GRIDCARE_AMI_MAX_FUTURE_SECONDS", 600, minimum=0, environ=environ),
        naive_time_zone=naive,
        max_events=env_int("GRIDCARE_AMI_MAX_EVENTS", 1000, minimum=1, environ=environ),
        # 1,000 events of about 130 bytes each, with room for vendor fields.
        max_body_bytes=env_int("GRIDCARE_AMI_MAX_BODY_BYTES", 524288, minimum=1024, environ=environ),
        mqtt_host=env_str("GRIDCARE_AMI_MQTT_HOST", "127.0.0.1", environ),
        mqtt_port=env_int("GRIDCARE_AMI_MQTT_PORT", 1883, minimum=1, environ=environ),
        mqtt_topic=topic,
        mqtt_username=env_str("GRIDCARE_AMI_MQTT_USERNAME", "", environ),
        mqtt_password=env_str("GRIDCARE_AMI_MQTT_PASSWORD", "", environ),
        mqtt_client_id=env_str("GRIDCARE_AMI_MQTT_CLIENT_ID", "gridcare-ami", environ),
        batch_size=env_int("GRIDCARE_AMI_BATCH_SIZE", 1000, minimum=1, environ=environ),
        flush_ms=env_int("GRIDCARE_AMI_FLUSH_MS", 50, minimum=1, environ=environ),
    )


_config: IngestConfig | None = None


def get_config() -> IngestConfig:
    global _config
    if _config is None:
        _config = load_config()
    return _config


@contextmanager
def override(config: IngestConfig) -> Iterator[IngestConfig]:
    global _config
    previous, _config = _config, config
    try:
        yield config
    finally:
        _config = previous
