"""Background jobs of the GPS app, run by `gridcare worker`: pruning the track beyond the retention period."""

from __future__ import annotations

import datetime as dt

from gridcare.core.worker import job
from gridcare.gps.services import track_prune


@job("gps.prune", queue="default", budget=5.0, max_rounds=50)
def handle_prune(now: dt.datetime) -> int:
    """One batch of expired track points per call; the worker calls again while there are more."""
    return track_prune(now=now)
