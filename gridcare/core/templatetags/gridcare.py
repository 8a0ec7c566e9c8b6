"""Template filters for the screens: event names in Chinese, durations, masked phones.

Filters that need a higher app's models live in that app (work-order statuses: `{% load workorders %}`)."""

from __future__ import annotations

from django import template

from gridcare.core.contributions import from_apps
from gridcare.core.text import format_duration, mask_phone

register = template.Library()

# Apps add their event names in `gridcare/<app>/labels.py` as EVENT_LABELS = {"app.action": "中文"}.
_labels: dict[str, str] | None = None


def event_labels() -> dict[str, str]:
    global _labels
    if _labels is None:
        found: dict[str, str] = {}
        for labels in from_apps("labels.EVENT_LABELS"):
            found.update(labels)
        _labels = found
    return _labels


@register.filter
def event_label(action: str) -> str:
    return event_labels().get(action, action)


@register.filter
def duration(minutes: float | None) -> str:
    return "" if minutes is None else format_duration(minutes)


@register.filter
def masked(phone: str) -> str:
    return mask_phone(phone)
