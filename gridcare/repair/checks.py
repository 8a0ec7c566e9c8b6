"""System checks of the repair settings (registered by RepairConfig.ready)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register


@register()
def check_storm_thresholds(app_configs: Any, **kwargs: Any) -> list[Error]:
    """Storm mode needs a gap between its on and off counts, or it would switch off the minute after it switched
    on whenever the calls hover around one number (docs/storm-mode.md)."""
    on = settings.GRIDCARE_STORM_CALLS_PER_10MIN
    off = settings.GRIDCARE_STORM_CALLS_PER_10MIN_OFF
    if off >= on:
        return [
            Error(
                f"GRIDCARE_STORM_CALLS_PER_10MIN_OFF={off} must be below GRIDCARE_STORM_CALLS_PER_10MIN={on}.",
                hint="Leave it unset (half of the on count) or set it lower; see docs/storm-mode.md.",
                id="gridcare.E030",
            )
        ]
    return []
