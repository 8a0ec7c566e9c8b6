"""The `gridcare worker` registry and loop: background jobs are `handle_x(now) -> int` functions that claim due rows.

Each app lists its jobs in `gridcare/<app>/tasks.py` with `@job("name", queue=..., budget=...)`. A job claims the
rows it acts on with a compare-and-swap update or `select_for_update(skip_locked=True)`, so any number of workers
can run side by side and none acts twice; it returns how many rows it handled (0 = nothing due).

Queues let a deployment run jobs apart (`gridcare worker --queue alerts,deadlines` beside
`gridcare worker --queue analytics`); one worker without `--queue` runs them all. Either way one call of a job
is one batch that should end within the job's `budget` seconds: the loop interleaves the batches of every job,
and polls an idle job again every `interval` seconds while others are still busy, so a long analytics run never
holds back the four-minute repair-acceptance alert or the deadline pass by more than one batch.
The loop reads the time from a clock it is given, so jobs never read the clock inside their logic and tests
can drive time forward without sleeping.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.utils.module_loading import autodiscover_modules

from gridcare.core import metrics

log = logging.getLogger("gridcare.worker")

Job = Callable[[dt.datetime], int]
Clock = Callable[[], dt.datetime]

# In the order a round visits them: what a late run would hurt most comes first.
QUEUES = ("alerts", "deadlines", "delivery", "default", "analytics")


@dataclass(frozen=True)
class RegisteredJob:
    name: str
    func: Job
    max_rounds: int
    queue: str
    budget: float  # seconds one call (one batch) may take before the loop warns that it holds others back


JOBS: dict[str, RegisteredJob] = {}


def job(name: str, *, queue: str = "default", budget: float = 10.0, max_rounds: int = 100) -> Callable[[Job], Job]:
    """Register a job; one pass calls it until it reports nothing more to do (at most `max_rounds` batches)."""
    if queue not in QUEUES:
        raise ValueError(f"job {name}: unknown queue {queue!r}; queues: {', '.join(QUEUES)}")

    def register(func: Job) -> Job:
        JOBS[name] = RegisteredJob(name, func, max_rounds, queue, budget)
        return func

    return register


def discover() -> dict[str, RegisteredJob]:
    autodiscover_modules("tasks")
    return JOBS


def parse_queues(text: str) -> set[str]:
    """`alerts,deadlines` → {"alerts", "deadlines"}; an unknown name is a ValueError naming the known ones."""
    names = {part.strip() for part in text.split(",") if part.strip()}
    unknown = names - set(QUEUES)
    if not names or unknown:
        raise ValueError(f"unknown queue(s): {', '.join(sorted(unknown)) or '(none)'}; queues: {', '.join(QUEUES)}")
    return names


def select_jobs(only: Iterable[str] | None = None, queues: Iterable[str] | None = None) -> list[RegisteredJob]:
    only_set, queue_set = set(only or ()), set(queues or ())
    chosen = [
        registered
        for name, registered in discover().items()
        if (not only_set or name in only_set) and (not queue_set or registered.queue in queue_set)
    ]
    return sorted(chosen, key=lambda r: (QUEUES.index(r.queue), r.name))


@dataclass
class _JobState:
    registered: RegisteredJob
    busy: bool = True  # returned rows on its last call (or not called yet): call again at once
    rounds: int = 0
    total: int = 0
    last_call: dt.datetime | None = None


def run_pass(
    now: dt.datetime | None = None,
    only: set[str] | None = None,
    *,
    queues: set[str] | None = None,
    clock: Clock | None = None,
    interval: float = 5.0,
) -> dict[str, int]:
    """Run the selected jobs until none has more to do; returns how many rows each handled.

    Every round calls each busy job once (one batch), in queue order. A job that found nothing is idle, but is
    polled again once `interval` seconds have passed while other jobs are still busy: a pass that lasts ten
    minutes because of a tag run still sends the alerts that fall due during it. Without a `clock` every call
    sees `now` (a pass at one instant, as the tests of single jobs use it).
    """
    if clock is None:
        fixed = now if now is not None else dt.datetime.now(dt.UTC)

        def clock() -> dt.datetime:
            return fixed

    states = [_JobState(r) for r in select_jobs(only, queues)]
    poll = dt.timedelta(seconds=interval)
    while any(s.busy for s in states):
        for state in states:
            started = clock()
            if not state.busy and (state.last_call is None or started - state.last_call < poll):
                continue
            if not state.busy and state.last_call is not None:
                # How late the loop came back to this queue: the lag a long batch elsewhere caused.
                metrics.worker_queue_lag(state.registered.queue, (started - state.last_call - poll).total_seconds())
            n = _call(state.registered, started, clock)
            state.last_call = started
            state.rounds += 1
            state.total += n
            state.busy = n > 0 and state.rounds < state.registered.max_rounds
            if not state.busy and n > 0:
                log.info(
                    "job %s: %s batches this pass, the rest waits for the next", state.registered.name, state.rounds
                )
    return {s.registered.name: s.total for s in states}


def _call(registered: RegisteredJob, now: dt.datetime, clock: Clock) -> int:
    try:
        n = registered.func(now)
    except Exception:  # one failing job must not stop the others: it is retried on the next pass
        log.exception("job %s failed; it will be retried on the next pass", registered.name)
        metrics.worker_job_failed(registered.name, registered.queue)
        n = 0
    seconds = max(0.0, (clock() - now).total_seconds())
    metrics.worker_job_ran(registered.name, registered.queue, seconds, n)
    if seconds > registered.budget:
        log.warning(
            "job %s took %.1f s for one batch, over its budget of %.0f s: other queues waited",
            registered.name,
            seconds,
            registered.budget,
        )
    return n
