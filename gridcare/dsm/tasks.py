"""Background jobs of the dsm app: load-limit monitoring (each pass checks one limit up to yesterday)."""

from __future__ import annotations

import datetime as dt

from gridcare.core.worker import job
from gridcare.dsm.services import load_limit_check_one


@job("dsm.load_limits", queue="analytics", budget=10.0, max_rounds=1000)
def handle_load_limits(now: dt.datetime) -> int:
    """1 while limits were due (the loop calls again), 0 when every limit is checked through yesterday."""
    return 0 if load_limit_check_one(now=now) < 0 else 1
