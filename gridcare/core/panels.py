"""Panels of the signed-in home page, contributed by the apps above core.

Core draws the page but knows no customers or orders: each app may list panels in `gridcare/<app>/home.py` as
`HOME_PANELS = [HomePanel(template=..., context=..., order=...)]`, the same way apps add `nav.py` entries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

from gridcare.core.contributions import from_apps


@dataclass(frozen=True)
class HomePanel:
    template: str
    # Called per request with the request; returns the panel's template context (it checks the user's scope).
    context: Callable[[HttpRequest], dict[str, Any]]
    order: int = 100


_collected: list[HomePanel] | None = None


def home_panels() -> list[HomePanel]:
    global _collected
    if _collected is None:
        found = [panel for panels in from_apps("home.HOME_PANELS") for panel in panels]
        _collected = sorted(found, key=lambda panel: panel.order)
    return _collected


def render_context(request: HttpRequest) -> list[dict[str, Any]]:
    """What the home template includes, in order: each panel's template with its own context."""
    return [{"template": panel.template, "context": panel.context(request)} for panel in home_panels()]
