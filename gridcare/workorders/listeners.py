"""How work orders follow the holiday calendar: core announces `calendar_changed`, this app queues the recompute.

The recompute of every open deadline is a background task run in batches of orders (each batch commits its
deadlines together with the task's checkpoint), so an administrator's click returns at once and a worker that
stops half-way resumes where the last batch ended. Connected in WorkordersConfig.ready().
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.dispatch import receiver
from django.utils import timezone

from gridcare.core.background import task_actor, task_enqueue, task_kind
from gridcare.core.calendar import invalidate_calendar
from gridcare.core.models import BackgroundTask
from gridcare.core.signals import calendar_changed
from gridcare.workorders.models import Deadline, DeadlineState, SlaPolicy
from gridcare.workorders.services import deadlines_recompute

RECOMPUTE = "workorders.deadlines_recompute"
# Orders per batch: a few hundred keep one batch near a second, well inside the deadlines queue's poll.
RECOMPUTE_BATCH = 500


@receiver(calendar_changed, dispatch_uid="workorders.recompute_on_calendar_change")
def recompute_on_calendar_change(sender: Any, *, actor: Any, **kwargs: Any) -> BackgroundTask:
    invalidate_calendar()
    return task_enqueue(name=RECOMPUTE, actor=actor, now=timezone.now(), params={"batch": RECOMPUTE_BATCH})


def _open_deadlines() -> Any:
    return Deadline.objects.filter(
        met_at__isnull=True, step_code="", order__category__sla_policy__isnull=False
    ).exclude(state=DeadlineState.CANCELLED)


@task_kind(RECOMPUTE, queue="deadlines", label="按现行节假日历重算在途工单时限")
def recompute_deadlines_batch(task: BackgroundTask, now: dt.datetime) -> bool:
    """One batch: the open deadlines of the next orders by id after the checkpoint. True when none are left."""
    after = int(task.checkpoint or 0)
    batch = int(task.params.get("batch", RECOMPUTE_BATCH))
    if task.total is None:
        task.total = _open_deadlines().values("order_id").distinct().count()
    order_ids = list(
        _open_deadlines()
        .filter(order_id__gt=after)
        .order_by("order_id")
        .values_list("order_id", flat=True)
        .distinct()[:batch]
    )
    moved = int(task.result.get("moved", 0))
    if order_ids:
        upto = order_ids[-1]
        policies = SlaPolicy.objects.filter(
            pk__in=_open_deadlines()
            .filter(order_id__gt=after, order_id__lte=upto)
            .values("order__category__sla_policy")
        ).order_by("pk")
        for policy in policies:
            moved += deadlines_recompute(policy=policy, actor=task_actor(task), now=now, orders_between=(after, upto))
        task.checkpoint = upto
        task.done += len(order_ids)
    task.result = {"moved": moved, "summary": f"open work-order deadlines recomputed: {moved} moved"}
    return len(order_ids) < batch
