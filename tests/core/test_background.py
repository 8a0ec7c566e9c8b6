"""Heavy one-off work as background tasks: batches with progress, and a restart from the last checkpoint."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from gridcare.core import background
from gridcare.core.models import BackgroundTask, CalendarDay, CalendarYear, Event
from gridcare.core.signals import calendar_changed
from gridcare.workorders.models import WorkOrder
from tests.conftest import City
from tests.workorders.helpers import bj, complaint, deadline

pytestmark = pytest.mark.django_db

NOW = bj(2027, 9, 30, 18)


def enter_national_day_2027() -> None:
    CalendarYear.objects.create(year=2027, source="测试")
    CalendarDay.objects.bulk_create(
        [CalendarDay(date=dt.date(2027, 10, day), kind="holiday", name="国庆节") for day in range(1, 8)]
    )


def test_calendar_change_recomputes_open_deadlines_in_batches_and_a_new_worker_continues(city: City) -> None:
    orders = [complaint(city, bj(2027, 9, 30, 16)) for _ in range(3)]
    enter_national_day_2027()
    (task,) = background.tasks_queued_by(calendar_changed.send(sender=CalendarYear, actor="cli"))
    BackgroundTask.objects.filter(pk=task.pk).update(params={"batch": 1})

    first = background.task_run_batch(now=NOW, queue="deadlines")
    assert first is not None and first.state == BackgroundTask.State.RUNNING
    assert (first.done, first.total, first.checkpoint) == (1, 3, orders[0].pk)
    assert deadline(WorkOrder.objects.get(pk=orders[0].pk), "contact").due_at == bj(2027, 10, 8, 16)
    assert deadline(WorkOrder.objects.get(pk=orders[1].pk), "contact").due_at == bj(2027, 10, 1, 16)  # not yet

    # The worker that ran the first batch is gone; any other picks the task up at its checkpoint.
    while (current := background.task_run_batch(now=NOW, queue="deadlines")) is not None:
        last = current
    assert last.state == BackgroundTask.State.DONE and (last.done, last.total) == (3, 3)
    assert last.result["moved"] == 6 and last.finished_at == NOW  # contact and reply of each order
    for order in orders:
        assert deadline(WorkOrder.objects.get(pk=order.pk), "contact").due_at == bj(2027, 10, 8, 16)
    assert Event.objects.filter(action="workorder.deadline_recompute", actor_name="cli").count() == 6


@pytest.fixture
def crashing_kind() -> Iterator[list[int]]:
    """A task that writes one audit event per batch and crashes in its second batch until told otherwise."""
    crash_at = [2]

    def step(task: BackgroundTask, now: dt.datetime) -> bool:
        n = int(task.checkpoint or 0) + 1
        Event.objects.create(at=now, action="test.batch", subject_type="test", subject_id=str(n))
        if n == crash_at[0]:
            raise RuntimeError("the worker died here")
        task.checkpoint, task.done, task.total = n, n, 3
        return n == 3

    background.task_kind("test.crashing", queue="default")(step)
    yield crash_at
    background.KINDS.pop("test.crashing", None)


def test_a_batch_that_crashes_leaves_nothing_and_the_task_resumes_from_its_checkpoint(
    city: City, crashing_kind: list[int]
) -> None:
    task = background.task_enqueue(name="test.crashing", actor=city.admin, now=NOW)
    background.task_run_batch(now=NOW, queue="default")
    failed = background.task_run_batch(now=NOW, queue="default")
    assert failed is not None and failed.state == BackgroundTask.State.FAILED
    assert failed.checkpoint == 1 and "the worker died here" in failed.error
    assert list(Event.objects.filter(action="test.batch").values_list("subject_id", flat=True)) == ["1"]
    assert background.task_run_batch(now=NOW, queue="default") is None  # a failed task waits for a resume

    crashing_kind[0] = 0
    assert background.task_resume(task=task)
    done = background.task_run_until_done(task=task, clock=lambda: NOW)
    assert done.state == BackgroundTask.State.DONE and done.done == 3 and done.error == ""
    assert sorted(Event.objects.filter(action="test.batch").values_list("subject_id", flat=True)) == ["1", "2", "3"]
    assert done.requested_by == city.admin


def test_an_unknown_kind_is_refused_when_queued() -> None:
    with pytest.raises(LookupError, match="unknown background task kind 'nope'"):
        background.task_enqueue(name="nope", actor="cli", now=NOW)
