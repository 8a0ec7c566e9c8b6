"""The deadline gauges at /metrics, read from the database when scraped (registered by WorkordersConfig.ready)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count, Min
from django.utils import timezone

from gridcare.core.metrics import register_scrape_gauge
from gridcare.workorders.models import Deadline


def deadline_lag() -> Iterable[tuple[tuple[str, ...], float]]:
    """How late the oldest due deadline check is, and how many are due: both from the next_check_at index."""
    now = timezone.now()
    due = Deadline.objects.filter(next_check_at__lte=now).aggregate(n=Count("pk"), oldest=Min("next_check_at"))
    lag = (now - due["oldest"]).total_seconds() if due["oldest"] else 0.0
    return [(("lag",), lag), (("due",), float(due["n"]))]


def register() -> None:
    register_scrape_gauge(
        "gridcare_deadline_checks",
        "Deadline checks the worker has not yet made: how many are due (kind=due) and how late the oldest one is "
        "in seconds (kind=lag; 0 when none is due).",
        deadline_lag,
        labels=("kind",),
    )
