"""Intake (受理): one request becomes one order, written in one go, with its deadlines and audit event."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from gridcare.core import metrics
from gridcare.core.audit import build_event
from gridcare.core.bulk import WriteSet, next_id_sql
from gridcare.core.errors import Conflict, ServiceError
from gridcare.customers.models import Customer
from gridcare.org.models import User
from gridcare.workorders.kinds import DEFAULT, handler_for
from gridcare.workorders.models import (
    Category,
    CategoryKind,
    Channel,
    IdempotencyKey,
    Priority,
    Status,
    WorkOrder,
)
from gridcare.workorders.reference import reference
from gridcare.workorders.services._base import NUMBER_SERIAL_DIGITS, REPEAT_WINDOW, Actor, _actor_unit, _now
from gridcare.workorders.services.applications import _start_steps
from gridcare.workorders.services.deadlines import _intake_deadlines, _supply_class
from gridcare.workorders.services.lifecycle import workorder_reply
from gridcare.workorders.services.routing import route


def _reserve(customer: Customer | None, category: Category, now: dt.datetime) -> tuple[int, WorkOrder | None]:
    """The new order's id, and the order this call repeats: the earliest live order of the same customer in a
    similar category within the repeat window (its main order when it has been merged), or None.

    One SELECT for both — intake's only read before it writes. The id comes first so that the order's number,
    its events and its deadlines can all be written in one go (`WriteSet`)."""
    next_id = next_id_sql(WorkOrder)
    with connection.cursor() as cursor:
        if customer is None:
            cursor.execute(f"SELECT {next_id}")
            return int(cursor.fetchone()[0]), None
        # The family (the category, its parent and their children) from the cached taxonomy: no join needed.
        family = {category.pk, category.parent_id} - {None}
        similar = [c.pk for c in reference().categories.values() if c.pk in family or c.parent_id in family]
        similar = similar or [category.pk]
        in_similar = ", ".join(["%s"] * len(similar))
        sql = (
            f"SELECT {next_id}, r.id, r.number, r.status, r.main_id FROM (SELECT 1 AS one) AS x LEFT JOIN ("  # noqa: S608 - placeholders only
            f"SELECT id, number, status, main_id FROM {WorkOrder._meta.db_table} WHERE customer_id = %s"
            f" AND accepted_at >= %s AND category_id IN ({in_similar}) AND status <> %s"
            " ORDER BY accepted_at, id LIMIT 1) AS r ON 1 = 1"
        )
        ops = connection.ops
        cursor.execute(
            sql, [customer.pk, ops.adapt_datetimefield_value(now - REPEAT_WINDOW), *similar, Status.CANCELLED]
        )
        new_id, pk, number, status, main_id = cursor.fetchone()
    if pk is None:
        return int(new_id), None
    if status == Status.MERGED and main_id:
        return int(new_id), WorkOrder.objects.get(pk=main_id)
    # Enough of the order for what intake does with it: point at it, count the call, name it in the event.
    earlier = WorkOrder(pk=pk, number=number, status=status, main_id=main_id)
    earlier._state.adding, earlier._state.db = False, connection.alias
    return int(new_id), earlier


def workorder_create(
    *,
    actor: Actor,
    channel: str,
    category: Category,
    description: str,
    customer: Customer | None = None,
    caller_name: str = "",
    caller_phone: str = "",
    address: str = "",
    area_class: str | None = None,
    priority: str | None = None,
    application_params: dict[str, Any] | None = None,
    reply_text: str = "",
    dispatch: bool | None = None,
    call_ended_at: dt.datetime | None = None,
    claim: IdempotencyKey | None = None,
    now: dt.datetime | None = None,
) -> WorkOrder:
    """Accept a request. Repair calls (故障报修) also open a repair ticket (A = when the call ended) and
    wait for the shift lead to send them (B); other orders are routed at once unless `dispatch=False`.
    `claim`, an unsaved Idempotency-Key, is written with the order (see `workorder_create_idempotent`)."""
    now = _now(now)
    kind = handler_for(category)
    if dispatch is None:
        dispatch = kind.dispatch_at_intake
    if channel not in Channel.values:
        raise ServiceError(f"未知的受理渠道 {channel!r}；可选：{', '.join(Channel.values)}", field="channel")
    if not category.is_active:
        raise ServiceError(f"分类「{category}」已停用", field="category")
    if not description.strip():
        raise ServiceError("请填写客户诉求内容", field="description")
    if customer is None and not (caller_name.strip() and caller_phone.strip()):
        raise ServiceError("非客户来电须登记来电人姓名和联系电话", field="caller_phone")
    if priority is not None and priority not in Priority.values:
        raise ServiceError(f"未知的优先级 {priority!r}", field="priority")
    params = dict(application_params or {})
    if category.kind == CategoryKind.APPLICATION and category.code != "app_new" and customer is None:
        raise ServiceError("变更用电业务须指定客户户号", field="customer")
    if reply_text and not category.answerable_at_intake:
        raise ServiceError(f"「{category}」须派发处理，不能当场答复", field="reply_text")
    kind.check_intake(call_ended_at=call_ended_at, now=now)  # before anything is written
    resolved_area = area_class or (customer.area_class if customer else "urban")
    # Decide the route before the insert, so an order is written once, already with its unit: intake is
    # the hottest path of the system (hundreds a second in a storm), every statement saved counts.
    unit = (
        route(category=category, customer=customer, area_class=resolved_area) if dispatch and not reply_text else None
    )
    sender = _actor_unit(actor) if unit is not None else None
    # Most orders are written by one WriteSet: on PostgreSQL a single round trip that is its own transaction.
    # A transaction is opened only where the WriteSet needs one (SQLite) or more work follows the write (the
    # kind's handler, e.g. a repair ticket; application steps; an answer given at intake). No savepoint: intake
    # writes everything or nothing.
    has_handler = kind is not DEFAULT
    follow_up = has_handler or category.is_application or bool(reply_text)
    atomic = WriteSet.needs_transaction() or follow_up
    with transaction.atomic(savepoint=False) if atomic else nullcontext():
        order_id, main = _reserve(customer, category, now)
        order = WorkOrder(
            pk=order_id,
            # The customer-facing number: acceptance date (Beijing time) and the id, never changed afterwards.
            number=f"{timezone.localtime(now):%Y%m%d}{order_id:0{NUMBER_SERIAL_DIGITS}d}",
            channel=channel,
            category=category,
            priority=priority or category.priority,
            status=Status.DISPATCHED if unit is not None else Status.ACCEPTED,
            unit=unit,
            sender_unit=sender,
            customer=customer,
            caller_name=caller_name or (customer.name if customer else ""),
            caller_phone=caller_phone,
            address=address or (customer.address if customer else ""),
            area_class=resolved_area,
            supply_class=_supply_class(customer, params),
            description=description.strip(),
            created_by=actor if isinstance(actor, User) else None,
            accepted_at=now,
            application_params=params,
            repeat_of=main,
        )
        deadlines = _intake_deadlines(order, now)  # before the order is written: it may carry a calendar warning
        events = [
            build_event(
                actor=actor,
                action="workorder.create",
                subject=order,
                at=now,
                new={
                    "number": order.number,
                    "category": category.code,
                    "channel": channel,
                    "status": Status.ACCEPTED,
                    "customer": customer.account_no if customer else None,
                },
            )
        ]
        if main is not None:
            events.append(
                build_event(
                    actor=actor,
                    action="workorder.repeat_call",
                    subject=main,
                    at=now,
                    new={"repeat_order": order.number},
                    note="重复来电",
                )
            )
        if unit is not None:
            events.append(
                build_event(
                    actor=actor,
                    action="workorder.dispatch",
                    subject=order,
                    at=now,
                    old={"status": Status.ACCEPTED},
                    new={
                        "status": Status.DISPATCHED,
                        "unit": str(unit),
                        "sender_unit": str(sender) if sender else None,
                    },
                )
            )
        writes = WriteSet()
        writes.insert([order])
        writes.insert(events)  # the audit trail goes with the change it records, in the same transaction
        writes.insert(deadlines)
        if main is not None:
            count_call = f"UPDATE {WorkOrder._meta.db_table} SET call_count = call_count + 1 WHERE id = %s"  # noqa: S608
            writes.execute(count_call, [main.pk])
        if claim is not None:
            claim.order = order
            writes.insert([claim])
        writes.write()
        # Counted when the order is committed (at once outside a transaction): a rolled-back intake is no intake.
        transaction.on_commit(lambda: metrics.intake_recorded(channel))
        if not has_handler:
            # What the API answers with, without reading the order back; an order with a kind handler is read
            # back, as the handler may change it (a repair call may become a child of an earlier call).
            order.created_deadlines = deadlines  # type: ignore[attr-defined]
        if category.is_application:
            _start_steps(order, now)
        kind.on_created(order, actor=actor, unit=unit, call_ended_at=call_ended_at, now=now)
        if reply_text:
            return workorder_reply(order=order, actor=actor, text=reply_text, now=now)
    return order


def _request_hash(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def workorder_create_idempotent(
    *,
    key: str,
    user: User,
    payload: dict[str, Any],
    create: Callable[[IdempotencyKey], WorkOrder],
    now: dt.datetime | None = None,
) -> tuple[WorkOrder, bool]:
    """Create once per (user, Idempotency-Key); a retry returns the first order. Returns (order, created).

    `create(claim)` must write the unsaved key `claim` together with the order (`workorder_create(claim=…)`)."""
    if not key or len(key) > 100:
        raise ServiceError("Idempotency-Key 须为 1–100 个字符", field="Idempotency-Key")
    digest = _request_hash(payload)
    claim = IdempotencyKey(key=key, user=user, request_hash=digest, created_at=_now(now))
    # Optimistic: most keys are new, so write the key with the order and let the unique (user, key) constraint
    # catch a retry, instead of reading the key table before every order. The write is all or nothing; a
    # savepoint is needed only inside someone else's transaction, so that undoing it does not undo theirs.
    try:
        with transaction.atomic() if connection.in_atomic_block else nullcontext():
            return create(claim), True
    except IntegrityError:
        # A retry (or a concurrent one that won the race): nothing of this attempt was kept; the first order is
        # the answer.
        existing = IdempotencyKey.objects.select_related("order").filter(user=user, key=key).first()
        if existing is None:
            raise
    if existing.request_hash != digest:
        raise Conflict("该 Idempotency-Key 已用于另一份不同的请求")
    return existing.order, False
