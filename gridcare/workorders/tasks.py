"""Background jobs of the work-order app (run by `gridcare worker`)."""

from __future__ import annotations

import datetime as dt

from gridcare.core.worker import job
from gridcare.workorders.supervision import handle_due_deadlines


@job("workorders.deadlines", queue="deadlines", budget=2.0, max_rounds=1000)
def deadlines(now: dt.datetime) -> int:
    return handle_due_deadlines(now)
