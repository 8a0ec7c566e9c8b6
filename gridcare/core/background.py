"""Heavy one-off work as BackgroundTask rows that `gridcare worker` runs a batch at a time.

An app declares a kind with `@task_kind("app.name", queue=...)`: a step `(task, now) -> finished` that does one
batch starting at `task.checkpoint` and moves `task.checkpoint`, `task.done`, `task.total` and `task.result`
on. A request only queues the task (`task_enqueue`) and returns at once; the worker claims the oldest
unfinished task of its queue and runs one step per call, inside one transaction with the task row locked, so
other jobs interleave between batches, two workers never run the same batch, and a worker that dies mid-batch
leaves the checkpoint of the last committed batch for the next one to resume from.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

from gridcare.core.models import BackgroundTask

log = logging.getLogger("gridcare.background")

Step = Callable[[BackgroundTask, dt.datetime], bool]


@dataclass(frozen=True)
class TaskKind:
    name: str
    step: Step
    queue: str
    label: str


KINDS: dict[str, TaskKind] = {}


def task_kind(name: str, *, queue: str = "default", label: str = "") -> Callable[[Step], Step]:
    def register(step: Step) -> Step:
        KINDS[name] = TaskKind(name, step, queue, label or name)
        return step

    return register


def tasks_queued_by(answers: Iterable[tuple[Any, Any]]) -> list[BackgroundTask]:
    """The tasks the receivers of a signal queued (Signal.send's answers; receivers that queued none say None)."""
    return [answer for _receiver, answer in answers if isinstance(answer, BackgroundTask)]


def task_label(task: BackgroundTask) -> str:
    kind = KINDS.get(task.name)
    return kind.label if kind else task.name


def actor_name(actor: Any) -> str:
    if actor is None:
        return "系统"
    if isinstance(actor, str):
        return actor
    return str(actor.get_full_name() or actor.get_username())


def task_actor(task: BackgroundTask) -> Any:
    """Who the task's audit events name: the requesting user, else the recorded name (e.g. "cli")."""
    return task.requested_by or task.requested_by_name or None


def task_enqueue(*, name: str, actor: Any, now: dt.datetime, params: dict[str, Any] | None = None) -> BackgroundTask:
    if name not in KINDS:
        raise LookupError(f"unknown background task kind {name!r}; known: {', '.join(sorted(KINDS))}")
    return BackgroundTask.objects.create(
        name=name,
        queue=KINDS[name].queue,
        params=params or {},
        requested_by=None if actor is None or isinstance(actor, str) else actor,
        requested_by_name=actor_name(actor),
        created_at=now,
    )


def task_resume(*, task: BackgroundTask) -> bool:
    """A failed task goes back to its queue; the next batch starts from its last checkpoint."""
    return bool(
        BackgroundTask.objects.filter(pk=task.pk, state=BackgroundTask.State.FAILED).update(
            state=BackgroundTask.State.QUEUED, error=""
        )
    )


_UNFINISHED = (BackgroundTask.State.QUEUED, BackgroundTask.State.RUNNING)


def task_run_batch(*, now: dt.datetime, queue: str | None = None, task_id: int | None = None) -> BackgroundTask | None:
    """Claim the oldest unfinished task (of `queue`, or the one `task_id`) and run one batch of it.

    Returns the task as it stands after the batch, or None when there was nothing to run.
    """
    with transaction.atomic():
        qs = BackgroundTask.objects.filter(state__in=_UNFINISHED).order_by("pk")
        if queue is not None:
            qs = qs.filter(queue=queue)
        if task_id is not None:
            qs = qs.filter(pk=task_id)
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True)
        task = qs.first()
        if task is None:
            return None
        try:
            with transaction.atomic():  # the batch: its work and its checkpoint commit together or not at all
                kind = KINDS.get(task.name)
                if kind is None:
                    raise LookupError(f"no step registered for {task.name!r}")
                task.started_at = task.started_at or now
                task.state = BackgroundTask.State.RUNNING
                if kind.step(task, now):
                    task.state = BackgroundTask.State.DONE
                    task.finished_at = now
                task.save()
        except Exception as exc:  # a failing task must not stop the worker; it waits, with its error, for a resume
            log.exception("background task #%s failed; resume it to continue from its checkpoint", task.pk)
            BackgroundTask.objects.filter(pk=task.pk).update(
                state=BackgroundTask.State.FAILED, error=f"{type(exc).__name__}: {exc}"[:4000], finished_at=now
            )
            task.refresh_from_db()
        return task


def task_run_until_done(*, task: BackgroundTask, clock: Callable[[], dt.datetime]) -> BackgroundTask:
    """Run every remaining batch of one task here and now (the `gridcare calendar import` command waits)."""
    while True:
        current = task_run_batch(now=clock(), task_id=task.pk)
        if current is None:
            return BackgroundTask.objects.get(pk=task.pk)
        if current.state in (BackgroundTask.State.DONE, BackgroundTask.State.FAILED):
            return current


def handle_queue(queue: str) -> Callable[[dt.datetime], int]:
    """The worker job of one queue: one batch of its oldest unfinished task per call (1), or 0 when idle."""

    def handle(now: dt.datetime) -> int:
        task = task_run_batch(now=now, queue=queue)
        return 0 if task is None else 1

    handle.__name__ = f"handle_background_{queue}"
    return handle
