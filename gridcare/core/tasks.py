"""Worker jobs of core: one per queue, running one batch of that queue's oldest unfinished BackgroundTask."""

from __future__ import annotations

from gridcare.core.background import handle_queue
from gridcare.core.worker import QUEUES, job

for _queue in QUEUES:
    # Budget: a task kind's step is one batch; recomputing 500 orders' deadlines takes about a second.
    job(f"core.background.{_queue}", queue=_queue, budget=10.0, max_rounds=1000)(handle_queue(_queue))
