"""System checks of the organisation settings (registered by OrgConfig.ready)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Warning, register

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
