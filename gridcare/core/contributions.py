"""What the apps above core contribute by convention: `gridcare/<app>/<module>.py` defining one name.

Core's navigation (`nav.NAV_ITEMS`), home page (`home.HOME_PANELS`) and event labels (`labels.EVENT_LABELS`)
are filled this way, so core lists no app and imports none.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.utils.module_loading import import_string


def from_apps(dotted: str) -> list[Any]:
    """`from_apps("nav.NAV_ITEMS")`: each GridCare app's value of that name, in INSTALLED_APPS order."""
    found = []
    for config in apps.get_app_configs():
        if config.name.startswith("gridcare."):
            try:
                found.append(import_string(f"{config.name}.{dotted}"))
            except ImportError:
                continue
    return found
