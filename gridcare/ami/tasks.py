"""Background jobs of the AMI app, run by `gridcare worker`: delivering again the meter events a consumer failed
on, or that the process which stored them did not get to deliver."""

from __future__ import annotations

import datetime as dt

from gridcare.ami.services import meter_events_retry
from gridcare.core.worker import job


# The alerts queue: a last gasp that waits is an outage nobody has been sent to.
@job("ami.deliver", queue="alerts", budget=5.0, max_rounds=20)
def handle_deliver(now: dt.datetime) -> int:
    """One batch of events whose lease has run out per call; the worker calls again while there are more."""
    return meter_events_retry(now=now)
