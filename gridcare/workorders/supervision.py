"""The deadline pass of `gridcare worker`: warn before, supervise at, and escalate after each deadline.

Rows are claimed in batches inside one transaction: `select_for_update(skip_locked=True)` on
PostgreSQL, and SQLite's IMMEDIATE transactions (settings) serialise writers, so two workers never
act on the same deadline twice. Only rows whose `next_check_at` has passed are read, through its index.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db import connection, transaction

from gridcare.core.audit import build_event, record_events
from gridcare.org.models import UnitManager
from gridcare.workorders import sla
from gridcare.workorders.models import Deadline, WorkOrder

BATCH = 1000
STEP_ACTIONS = {"warn": "workorder.deadline_warn", "supervise": "workorder.supervise", "escalate": "workorder.escalate"}


def handle_due_deadlines(now: dt.datetime, batch: int = BATCH) -> int:
    """Act on up to `batch` due deadlines; returns how many were handled (0 when nothing is due)."""
    with transaction.atomic():
        qs = (
            Deadline.objects.filter(next_check_at__lte=now)
            .order_by("next_check_at")
            .select_related("order", "order__unit", "order__category__sla_policy")
        )
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True, of=("self",))
        rows = list(qs[:batch])
        if not rows:
            return 0
        unit_ids = {d.order.unit_id for d in rows if d.order.unit_id}
        managers: dict[int, list[tuple[str, str]]] = defaultdict(list)
        for m in UnitManager.objects.filter(unit_id__in=unit_ids).order_by("unit_id", "rank", "id"):
            managers[m.unit_id].append((f"{m.title or '负责人'} {m.name}", m.phone))
        events = []
        overdue_orders: set[int] = set()
        supervised_orders: set[int] = set()
        for d in rows:
            order = d.order
            policy = order.category.sla_policy
            unit = order.unit
            chain = sla.chain_contacts(unit.duty_phone, managers[unit.pk]) if unit else []
            every = dt.timedelta(minutes=policy.escalate_every_minutes if policy else 60)
            plan = sla.supervision_plan(
                now=now,
                state=d.state,
                level=d.escalation_level,
                warn=d.warn_at,
                due=d.due_at,
                escalate_every=every,
                chain_length=max(len(chain) - 1, 0),
            )
            for step in plan.steps:
                contact = chain[min(step.level - 1, len(chain) - 1)] if chain and step.level >= 1 else None
                new = {
                    "milestone": d.milestone,
                    "step": d.step_code,
                    "due_at": d.due_at,
                    "level": step.level,
                    "unit": unit.name if unit else None,
                    "scheduled_at": step.scheduled_at,
                }
                if step.kind == "warn" and unit is not None:
                    new["call"], new["phone"] = "值班电话", unit.duty_phone
                elif contact is not None:
                    new["call"], new["phone"] = contact
                late = (now - step.scheduled_at).total_seconds() > 300
                events.append(
                    build_event(
                        actor=None,
                        action=STEP_ACTIONS[step.kind],
                        subject=order,
                        at=now,
                        new=new,
                        note="补发：工作进程停止期间到期" if late else "",
                    )
                )
                if step.kind != "warn":
                    supervised_orders.add(order.pk)
            if plan.state == "overdue":
                overdue_orders.add(order.pk)
            d.state, d.escalation_level, d.next_check_at = plan.state, plan.level, plan.next_check_at
        Deadline.objects.bulk_update(rows, ["state", "escalation_level", "next_check_at"], batch_size=500)
        record_events(events)
        if overdue_orders:
            WorkOrder.objects.filter(pk__in=overdue_orders, is_overdue=False).update(is_overdue=True)
        if supervised_orders:
            WorkOrder.objects.filter(pk__in=supervised_orders, is_supervised=False).update(is_supervised=True)
        return len(rows)
