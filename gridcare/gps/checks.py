"""System checks of the GPS ingest settings (registered by GpsConfig.ready)."""

from __future__ import annotations

import os
from typing import Any

from django.core.checks import CheckMessage, Error, Info, Warning, register
from django.core.exceptions import ImproperlyConfigured

from gridcare.gps.config import load_config

GPS_SHORT_TOKEN = 16


@register()
def check_gps_settings(app_configs: Any, **kwargs: Any) -> list[Error]:
    """The GPS variables are read when the first report arrives: read them at start too, so a mistake stops
    `gridcare serve`, `worker` and `migrate` with the variable named."""
    try:
        load_config(os.environ)
    except ImproperlyConfigured as exc:
        return [Error(str(exc), hint="See docs/gps.md for the variables.", id="gridcare.E002")]
    return []


@register()
def check_gps_ingest(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """Who may report a vehicle's position: anyone who moves a vehicle to a fault's location makes it the
    first candidate for the repair, so an ingest open to anyone is worth a warning at every start."""
    try:
        config = load_config(os.environ)
    except ImproperlyConfigured:
        return []  # reported by check_gps_settings (gridcare.E002)
    hint = "See docs/gps.md (Security)."
    if config.token:
        if len(config.token) < GPS_SHORT_TOKEN:
            return [
                Warning(
                    f"GRIDCARE_GPS_TOKEN is shorter than {GPS_SHORT_TOKEN} characters: it can be guessed.",
                    hint="Use e.g. `python -c 'import secrets; print(secrets.token_urlsafe(24))'`. " + hint,
                    id="gridcare.W012",
                )
            ]
        return []
    if config.open_ingest:
        return [
            Warning(
                "GPS ingest is open to anyone (GRIDCARE_GPS_OPEN=true, no GRIDCARE_GPS_TOKEN): any client that "
                "reaches /gps/osmand or gps-listen can move any vehicle, and can probe which device ids exist.",
                hint="Set GRIDCARE_GPS_TOKEN and put it in the devices' server URL (?token=…). " + hint,
                id="gridcare.W010",
            )
        ]
    return [
        Info(
            "GPS ingest refuses every device: GRIDCARE_GPS_TOKEN is not set.",
            hint="Set GRIDCARE_GPS_TOKEN to receive positions over HTTP. " + hint,
            id="gridcare.I011",
        )
    ]
