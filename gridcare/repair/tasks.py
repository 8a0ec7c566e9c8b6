"""Background jobs of the repair flow (run by `gridcare worker`)."""

from __future__ import annotations

import datetime as dt

from gridcare.core.worker import job
from gridcare.repair.escalation import handle_unaccepted


@job("repair.acceptance", queue="alerts", budget=2.0, max_rounds=100)
def acceptance(now: dt.datetime) -> int:
    return handle_unaccepted(now)
