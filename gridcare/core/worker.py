"""The `gridcare worker` registry: background jobs are `handle_x(now) -> int` functions that claim due rows.

Each app lists its jobs in `gridcare/<app>/tasks.py` with `@job("name")`. A job claims the rows it acts
on with a compare-and-swap update or `select_for_update(skip_locked=True)`, so any number of workers
can run side by side and none acts twice; it returns how many rows it handled (0 = nothing due).
The loop passes `now` in, so jobs never read the clock inside their logic and tests can pass any time.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.utils.module_loading import autodiscover_modules

log = logging.getLogger("gridcare.worker")

Job = Callable[[dt.datetime], int]


@dataclass(frozen=True)
class RegisteredJob:
    name: str
    func: Job
    max_rounds: int


JOBS: dict[str, RegisteredJob] = {}


def job(name: str, *, max_rounds: int = 100) -> Callable[[Job], Job]:
    """Register a job; one pass calls it until it reports nothing more to do (at most `max_rounds`)."""

    def register(func: Job) -> Job:
        JOBS[name] = RegisteredJob(name, func, max_rounds)
        return func

    return register


def discover() -> dict[str, RegisteredJob]:
    autodiscover_modules("tasks")
    return JOBS


def run_pass(now: dt.datetime, only: set[str] | None = None) -> dict[str, int]:
    """One pass over every job at `now`; returns how many rows each handled."""
    handled: dict[str, int] = {}
    for name, registered in sorted(discover().items()):
        if only and name not in only:
            continue
        total = 0
        for _ in range(registered.max_rounds):
            try:
                n = registered.func(now)
            except Exception:
                log.exception("job %s failed; it will be retried on the next pass", name)
                break
            total += n
            if n == 0:
                break
        handled[name] = total
    return handled
