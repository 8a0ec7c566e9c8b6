"""Template filters that need the work-order model: a status code shown with its Chinese label."""

from __future__ import annotations

from typing import Any

from django import template

from gridcare.workorders.models import Status

register = template.Library()


@register.filter
def status_label(value: Any) -> str:
    return str(Status(value).label) if value in Status.values else str(value)
