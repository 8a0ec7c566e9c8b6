"""Background jobs of the repair flow (run by `gridcare worker`)."""

from __future__ import annotations

import datetime as dt

from gridcare.core.worker import job
from gridcare.repair.escalation import handle_unaccepted
from gridcare.repair.services import etr_refresh_due, storm_mode_evaluate
from gridcare.repair.services.meters import restorations_check


@job("repair.acceptance", queue="alerts", budget=2.0, max_rounds=100)
def acceptance(now: dt.datetime) -> int:
    return handle_unaccepted(now)


@job("repair.restorations", queue="alerts", budget=2.0, max_rounds=1)
def restorations(now: dt.datetime) -> int:
    """Meters still off after their outage was restored are predicted afresh (a nested outage)."""
    return len(restorations_check(now=now))


@job("repair.storm_mode", queue="alerts", budget=2.0, max_rounds=2)
def storm_mode(now: dt.datetime) -> int:
    """Calls per 10 minutes against the storm threshold, once a minute (claimed on the storm-mode row)."""
    return storm_mode_evaluate(now=now)


@job("repair.etr", queue="alerts", budget=5.0, max_rounds=50)
def estimates(now: dt.datetime) -> int:
    """ETRs of live outages that are new, assigned, reached by their crew, re-levelled or overdue; in batches."""
    return etr_refresh_due(now=now)
