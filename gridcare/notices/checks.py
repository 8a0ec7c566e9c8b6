"""System checks of the notices settings (registered by NoticesConfig.ready)."""

from __future__ import annotations

import os
from typing import Any

from django.core.checks import Error, register
from django.core.exceptions import ImproperlyConfigured

from gridcare.notices.config import load_config


@register()
def check_notice_settings(app_configs: Any, **kwargs: Any) -> list[Error]:
    """The notices variables are read from the environment when first used: read them here too, so a mistake
    stops `gridcare serve`, `worker` and `migrate` at start with the variable named, not the first message
    batch an hour later."""
    try:
        load_config(os.environ)
    except ImproperlyConfigured as exc:
        return [Error(str(exc), hint="See docs/notices.md for the variables.", id="gridcare.E001")]
    return []
