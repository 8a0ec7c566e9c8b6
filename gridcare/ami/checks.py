"""System checks of the meter-event settings (registered by AmiAppConfig.ready)."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Info, Warning, register
from django.core.exceptions import ImproperlyConfigured

from gridcare.ami.config import load_config
from gridcare.ami.ping import load_pinger

SHORT_TOKEN = 16


@register()
def check_ami_settings(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """The ingest variables are read when the first event arrives and the pinger when prediction first asks:
    read both at start, so a mistake stops `serve`, `worker` and `migrate` with the variable named."""
    errors: list[CheckMessage] = []
    try:
        load_config(os.environ)
    except ImproperlyConfigured as exc:
        errors.append(Error(str(exc), hint="See docs/meter-events.md for the variables.", id="gridcare.E003"))
    path = settings.GRIDCARE_AMI_PINGER
    try:
        load_pinger(path)
    except Exception as exc:  # an import error, a constructor that fails, a class without ping()
        errors.append(
            Error(
                f"GRIDCARE_AMI_PINGER={path!r} cannot be used: {type(exc).__name__}: {exc}",
                hint='Use "simulated" or the dotted path of a class with ping(meter_nos, now); '
                "see docs/meter-events.md (Ping).",
                id="gridcare.E004",
            )
        )
    return errors


@register()
def check_ami_ingest(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """Who may post meter events: a forged last gasp opens an outage and sends a crew, so the head-end's secret
    must be long, and without one only administrators may post."""
    try:
        config = load_config(os.environ)
    except ImproperlyConfigured:
        return []  # reported by check_ami_settings (gridcare.E003)
    hint = "See docs/meter-events.md (Authentication)."
    if not config.token:
        return [
            Info(
                "Meter events are accepted from administrators only: GRIDCARE_AMI_TOKEN is not set.",
                hint="Set GRIDCARE_AMI_TOKEN and configure the head-end to send it as X-GridCare-Token. " + hint,
                id="gridcare.I013",
            )
        ]
    if len(config.token) < SHORT_TOKEN:
        return [
            Warning(
                f"GRIDCARE_AMI_TOKEN is shorter than {SHORT_TOKEN} characters: it can be guessed.",
                hint="Use e.g. `python -c 'import secrets; print(secrets.token_urlsafe(24))'`. " + hint,
                id="gridcare.W014",
            )
        ]
    return []
