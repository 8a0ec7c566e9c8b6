"""Background jobs of the tags app: the scheduled recomputation of due tags."""

from __future__ import annotations

import datetime as dt
import logging

from django.utils import timezone

from gridcare.core.errors import ServiceError
from gridcare.core.worker import job
from gridcare.tags import services
from gridcare.tags.models import TagRun

log = logging.getLogger("gridcare.tags")


@job("tags.scheduled_run", queue="analytics", budget=120.0, max_rounds=3)
def handle_scheduled_run(now: dt.datetime) -> int:
    """Queue yesterday's run if tags are due, then execute one queued run (claimed by compare-and-swap)."""
    as_of = timezone.localtime(now).date() - dt.timedelta(days=1)  # yesterday's data is complete
    services.queue_due_run(now=now, as_of=as_of)
    run = TagRun.objects.filter(status=TagRun.Status.QUEUED).order_by("pk").first()
    if run is None:
        return 0
    try:
        services.run_execute(run=run, now=now)
    except ServiceError as exc:
        log.warning("tag run #%s: %s", run.pk, exc.message)
    return 1
