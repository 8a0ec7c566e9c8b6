"""System checks for configuration mistakes that settings alone cannot catch."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Info, Warning, register
from django.core.exceptions import ImproperlyConfigured

from gridcare.org.roles import Role


@register()
def check_phone_roles(app_configs: Any, **kwargs: Any) -> list[Warning]:
    known = {role.value for role in Role}
    unknown = sorted(set(settings.GRIDCARE_PHONE_VISIBLE_ROLES) - known)
    if unknown:
        return [
            Warning(
                f"GRIDCARE_PHONE_VISIBLE_ROLES names unknown roles: {', '.join(unknown)}",
                hint=f"Known roles: {', '.join(sorted(known))}",
                id="gridcare.W001",
            )
        ]
    return []


@register()
def check_area_settings(app_configs: Any, **kwargs: Any) -> list[Error]:
    """Settings the notices and GPS areas read from the environment when first used: read them here too, so a
    mistake stops `gridcare serve`, `worker` and `migrate` at start with the variable named, not the first
    message batch or GPS report an hour later."""
    from gridcare.gps.config import load_config as gps_config
    from gridcare.notices.config import load_config as notice_config

    errors = []
    for check_id, load in (("gridcare.E001", notice_config), ("gridcare.E002", gps_config)):
        try:
            load(os.environ)
        except ImproperlyConfigured as exc:
            errors.append(Error(str(exc), hint="See docs/notices.md and docs/gps.md for the variables.", id=check_id))
    return errors


# ---------------------------------------------------------------- GPS ingest credential

GPS_SHORT_TOKEN = 16


@register()
def check_gps_ingest(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """Who may report a vehicle's position: anyone who moves a vehicle to a fault's location makes it the
    first candidate for the repair, so an ingest open to anyone is worth a warning at every start."""
    from gridcare.gps.config import load_config as gps_config

    try:
        config = gps_config(os.environ)
    except ImproperlyConfigured:
        return []  # reported by check_area_settings (gridcare.E002)
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
