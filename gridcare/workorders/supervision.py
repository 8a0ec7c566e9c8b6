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

# Rows per transaction. PostgreSQL: larger batches spread the fixed cost of each (the claiming query, the
# escalation chains, the commit) over more rows — 5,000 measured ≈ 15 % faster than 1,000. SQLite: one writer at a
# time, so a batch must stay short enough not to hold intake up.
BATCH = {"postgresql": 5000}
DEFAULT_BATCH = 1000
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


def handle_due_deadlines(now: dt.datetime, batch: int | None = None) -> int:
    """Act on up to `batch` due deadlines; returns how many were handled (0 when nothing is due)."""
    batch = batch or BATCH.get(connection.vendor, DEFAULT_BATCH)
    ops = connection.ops
    with transaction.atomic():
        qs = Deadline.objects.filter(next_check_at__lte=now).order_by("next_check_at")
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True, of=("self",))
        rows = list(qs.values_list(*FIELDS)[:batch])
        if not rows:
            return 0
        if connection.vendor == "postgresql":
            # The batch's state changes and its events commit together or not at all; if a crash loses the last
            # batches (at most ~0.6 s of commits), their deadlines are simply due again and handled once by the
            # next pass. So the pass need not wait for each commit to reach the disk.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit = off")
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
        _write(updates, events)
        _flag(overdue, "is_overdue")
        _flag(supervised, "is_supervised")
        return len(rows)


def _write(updates: list[tuple[Any, ...]], events: list[tuple[Any, ...]]) -> None:
    """The batch's deadline updates and events. On PostgreSQL as one UPDATE … FROM unnest(arrays) and one
    COPY: 1,000 separate statements each (even pipelined) were half the pass. SQLite runs executemany in C
    in-process, which is as fast as it gets there."""
    table, events_table = Deadline._meta.db_table, Event._meta.db_table
    columns = "at, actor_name, action, subject_type, subject_id, subject_label, new, note"
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {table} SET state = %s, escalation_level = %s, next_check_at = %s WHERE id = %s",  # noqa: S608
                updates,
            )
            if events:
                # The same rows gridcare.core.audit would write, in the same transaction as the change.
                cursor.executemany(
                    f"INSERT INTO {events_table} ({columns}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",  # noqa: S608
                    events,
                )
        return
    # Four array parameters, not 4,000 placeholders, bound by the server (the driver's plain cursor, not
    # Django's client-side one, which would quote every array element in Python).
    states, levels, checks, ids = (list(column) for column in zip(*updates, strict=True))
    with connection.connection.cursor() as raw:
        raw.execute(
            f"UPDATE {table} AS d SET state = v.state, escalation_level = v.level, next_check_at = v.next_check "  # noqa: S608
            "FROM unnest(%s::text[], %s::integer[], %s::timestamptz[], %s::bigint[]) "
            "AS v(state, level, next_check, id) WHERE d.id = v.id",
            [states, levels, checks, ids],
        )
        if events:
            # COPY: a third of the cost of a multi-row INSERT for a batch of events (measured).
            with raw.copy(f"COPY {events_table} ({columns}) FROM STDIN") as copy:
                for row in events:
                    copy.write_row(row)


def _flag(orders: set[int], flag: str) -> None:
    """Set a work-order flag on these orders (those that have it already are left alone)."""
    if not orders:
        return
    if connection.vendor == "postgresql":
        with connection.connection.cursor() as raw:  # one array parameter, bound by the server
            raw.execute(
                f"UPDATE {WorkOrder._meta.db_table} SET {flag} = true WHERE id = ANY(%s) AND NOT {flag}",  # noqa: S608
                [sorted(orders)],
            )
    else:
        WorkOrder.objects.filter(pk__in=orders, **{flag: False}).update(**{flag: True})
