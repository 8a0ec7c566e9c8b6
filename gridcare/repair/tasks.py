"""Background jobs of the repair flow (run by `gridcare worker`)."""

from __future__ import annotations

import datetime as dt

from gridcare.core.worker import job
from gridcare.repair.escalation import handle_unaccepted
from gridcare.repair.services.meters import restorations_check


@job("repair.acceptance", queue="alerts", budget=2.0, max_rounds=100)
def acceptance(now: dt.datetime) -> int:
    return handle_unaccepted(now)


@job("repair.restorations", queue="alerts", budget=2.0, max_rounds=1)
def restorations(now: dt.datetime) -> int:
    """Meters still off after their outage was restored are predicted afresh (a nested outage)."""
    return len(restorations_check(now=now))
