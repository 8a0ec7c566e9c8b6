"""System checks for configuration mistakes that settings alone cannot catch."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.checks import Error, Warning, register
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
