"""The deadline pass of `gridcare worker`: warn before, supervise at, and escalate after each deadline.

Rows are claimed in batches inside one transaction: `select_for_update(skip_locked=True)` on
PostgreSQL, and SQLite's IMMEDIATE transactions (settings) serialise writers, so two workers never
act on the same deadline twice. Only rows whose `next_check_at` has passed are read, through its index.

This is the one hot loop over many rows, so it reads plain tuples and writes with prepared
statements (`executemany`) instead of model instances: a pass over 10,000 due deadlines must take
about a second (bench/bench_deadlines.py).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.db import connection, transaction

from gridcare.core.models import Event
from gridcare.org.selectors import escalation_chains
from gridcare.workorders import sla
from gridcare.workorders.models import Deadline, WorkOrder

BATCH = 1000
STEP_ACTIONS = {"warn": "workorder.deadline_warn", "supervise": "workorder.supervise", "escalate": "workorder.escalate"}
LATE_NOTE = "补发：工作进程停止期间到期"
FIELDS = (
    "id",
    "state",
    "escalation_level",
    "warn_at",
    "due_at",
    "milestone",
    "step_code",
    "order_id",
    "order__number",
    "order__unit_id",
    "order__category__sla_policy__escalate_every_minutes",
)


def handle_due_deadlines(now: dt.datetime, batch: int = BATCH) -> int:
    """Act on up to `batch` due deadlines; returns how many were handled (0 when nothing is due)."""
    ops = connection.ops
    with transaction.atomic():
        qs = Deadline.objects.filter(next_check_at__lte=now).order_by("next_check_at")
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True, of=("self",))
        rows = list(qs.values_list(*FIELDS)[:batch])
        if not rows:
            return 0
        chains = escalation_chains({r[9] for r in rows if r[9]})
        updates: list[tuple[Any, ...]] = []
        events: list[tuple[Any, ...]] = []
        overdue: set[int] = set()
        supervised: set[int] = set()
        at = ops.adapt_datetimefield_value(now)
        for pk, state, level, warn, due, milestone, step_code, order_id, number, unit_id, every_min in rows:
            unit_name, chain = chains.get(unit_id, (None, []))
            plan = sla.supervision_plan(
                now=now,
                state=state,
                level=level,
                warn=warn,
                due=due,
                escalate_every=dt.timedelta(minutes=every_min or 60),
                chain_length=max(len(chain) - 1, 0),
            )
            due_text = due.isoformat() if plan.steps else ""
            for step in plan.steps:
                # Plain values only, so json.dumps stays on its C fast path.
                new: dict[str, Any] = {
                    "milestone": milestone,
                    "step": step_code,
                    "due_at": due_text,
                    "level": step.level,
                    "unit": unit_name,
                    "scheduled_at": step.scheduled_at.isoformat(),
                }
                if chain:
                    new["call"], new["phone"] = (
                        chain[0] if step.kind == "warn" else chain[min(step.level, len(chain)) - 1]
                    )
                late = (now - step.scheduled_at).total_seconds() > 300
                events.append(
                    (
                        at,
                        "系统",
                        STEP_ACTIONS[step.kind],
                        "workorders.workorder",
                        str(order_id),
                        number,
                        json.dumps(new, ensure_ascii=False),
                        LATE_NOTE if late else "",
                    )
                )
                if step.kind != "warn":
                    supervised.add(order_id)
            if plan.state == "overdue":
                overdue.add(order_id)
            check = ops.adapt_datetimefield_value(plan.next_check_at) if plan.next_check_at else None
            updates.append((plan.state, plan.level, check, pk))
        json_param = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {Deadline._meta.db_table} SET state = %s, escalation_level = %s, next_check_at = %s "  # noqa: S608
                "WHERE id = %s",
                updates,
            )
            if events:
                # The same rows gridcare.core.audit would write, in the same transaction as the change.
                cursor.executemany(
                    f"INSERT INTO {Event._meta.db_table} (at, actor_name, action, subject_type, subject_id, "  # noqa: S608
                    f"subject_label, new, note) VALUES (%s, %s, %s, %s, %s, %s, {json_param}, %s)",
                    events,
                )
        if overdue:
            WorkOrder.objects.filter(pk__in=overdue, is_overdue=False).update(is_overdue=True)
        if supervised:
            WorkOrder.objects.filter(pk__in=supervised, is_supervised=False).update(is_supervised=True)
        return len(rows)
