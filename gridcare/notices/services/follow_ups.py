"""Follow-up tasks for the account managers of important and sensitive customers."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Q, QuerySet

from gridcare.core.audit import record_event
from gridcare.core.errors import Conflict, ServiceError
from gridcare.customers.models import Customer
from gridcare.notices.models import (
    FollowUpTask,
    Notice,
)
from gridcare.notices.services.common import Actor, checked_now


def follow_ups_create(*, notice: Notice, customers: QuerySet[Customer], due_at: dt.datetime) -> int:
    rows = customers.filter(Q(important_level__gt="") | Q(is_sensitive=True)).values_list(
        "id", "service_unit_id", "important_level", "is_sensitive", "account_manager_id"
    )
    tasks = [
        FollowUpTask(
            notice=notice,
            customer_id=cid,
            unit_id=unit_id,
            assignee_id=manager_id,  # the customer's account manager; the unit's queue when none is named
            reason="重要客户" if level else "敏感客户" if sensitive else "",
            due_at=due_at,
        )
        for cid, unit_id, level, sensitive, manager_id in rows
    ]
    FollowUpTask.objects.bulk_create(tasks, ignore_conflicts=True, batch_size=1000)
    return len(tasks)


def follow_up_complete(*, task: FollowUpTask, note: str, actor: Actor, now: dt.datetime | None = None) -> FollowUpTask:
    """Mark a task done with what came of it (the outcome note is required); once only."""
    now = checked_now(now)
    note = note.strip()
    if not note:
        raise ServiceError("请填写跟进结果", field="note")
    if len(note) > 2000:
        raise ServiceError("跟进结果不能超过 2000 字", field="note")
    with transaction.atomic():
        n = FollowUpTask.objects.filter(pk=task.pk, status=FollowUpTask.Status.OPEN).update(
            status=FollowUpTask.Status.DONE, done_at=now, note=note.strip()
        )
        if n == 0:
            raise Conflict("该跟进任务已完成")
        task.refresh_from_db()
        record_event(
            actor=actor,
            action="notice.follow_up_done",
            subject=task,
            old={"status": FollowUpTask.Status.OPEN},
            new={"status": task.status, "done_at": now.isoformat()},
            note=note,
            at=now,
        )
    return task
