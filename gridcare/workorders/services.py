"""Every write to a work order: intake, routing, the lifecycle, deadlines, merging, return visits, applications.

Each function is keyword-only, atomic, and writes its audit event in the same transaction. State
changes are compare-and-swap updates on (status, version), so of two concurrent transitions of one
order exactly one wins and the other gets a Conflict (HTTP 409).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from contextlib import nullcontext
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from gridcare.core.audit import build_event, record_event
from gridcare.core.calendar import load_calendar
from gridcare.core.errors import Conflict, ServiceError
from gridcare.core.fastinsert import WriteSet, next_id_sql
from gridcare.core.workdays import working_seconds_between
from gridcare.customers.models import Customer
from gridcare.customers.services import customer_create, customer_update
from gridcare.grid.models import AreaClass
from gridcare.org.models import OrgUnit, User
from gridcare.workorders import sla
from gridcare.workorders.models import (
    ApplicationStep,
    Category,
    CategoryKind,
    Channel,
    Deadline,
    DeadlineState,
    IdempotencyKey,
    Milestone,
    Priority,
    ReturnVisit,
    RoutingRule,
    SlaPolicy,
    Status,
    SupplyClass,
    TimeUnit,
    VisitAttempt,
    VisitOutcome,
    WorkOrder,
)
from gridcare.workorders.reference import reference
from gridcare.workorders.states import InvalidTransition, target_state

Actor = User | str | None
REPEAT_WINDOW = dt.timedelta(hours=getattr(settings, "GRIDCARE_REPEAT_WINDOW_HOURS", 72))
VISIT_ATTEMPTS = 3
NUMBER_SERIAL_DIGITS = 8  # an order number is the acceptance date and the id in (at least) this many digits
VISIT_ATTEMPT_GAP = dt.timedelta(minutes=getattr(settings, "GRIDCARE_VISIT_ATTEMPT_GAP_MINUTES", 30))
TIMED_MILESTONES = [Milestone.CONTACT, Milestone.REPLY, Milestone.COMPLETE, Milestone.ARRIVE, Milestone.RESTORE]


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or timezone.now()


def _actor_unit(actor: Actor) -> OrgUnit | None:
    return actor.unit if isinstance(actor, User) else None


# ---- routing ---------------------------------------------------------------------------------


def route(*, category: Category, customer: Customer | None, area_class: str) -> OrgUnit | None:
    """The unit a new order goes to: the most specific routing rule that matches, else the category's
    default unit kind within the customer's supply unit, else the first such unit of the company."""
    ref = reference()
    district_id = customer.district_id if customer else None
    ancestry = {category.pk, category.parent_id}
    candidates = [
        r
        for r in ref.rules
        if (r.category_id is None or r.category_id in ancestry)
        and (r.area_class in ("", area_class))
        and (r.district_id is None or r.district_id == district_id)
    ]

    def specificity(rule: RoutingRule) -> tuple[int, int, int]:
        cat = 2 if rule.category_id == category.pk else (1 if rule.category_id else 0)
        return (-rule.rank, cat, int(bool(rule.district_id)) + int(bool(rule.area_class)))

    if candidates:
        return max(candidates, key=specificity).unit
    kind = category.default_unit_kind
    same_kind = ref.units_by_kind.get(kind, [])
    if customer is not None:
        home = ref.units.get(customer.service_unit_id)
        if home is not None:
            if home.kind == kind:
                return home
            inside = [u for u in same_kind if u.path.startswith(home.path)]
            if inside:
                return inside[0]
    return same_kind[0] if same_kind else None


# ---- deadlines -------------------------------------------------------------------------------


def _targets(policy: SlaPolicy | None) -> list[sla.Target]:
    if policy is None:
        return []
    cached = reference().targets.get(policy.pk)
    if cached is not None:
        return cached
    return [
        sla.Target(t.milestone, t.amount, t.unit, t.priority, t.area_class, t.supply_class)
        for t in policy.targets.all()
    ]


def _make_deadline(
    order: WorkOrder,
    *,
    milestone: str,
    amount: int,
    unit: str,
    started_at: dt.datetime,
    now: dt.datetime,
    policy: SlaPolicy | None,
    step_code: str = "",
) -> Deadline:
    cal = load_calendar()
    computed = sla.due_at(started_at, amount, unit, cal)
    warn = sla.warn_at(
        started_at,
        computed.at,
        lead_minutes=policy.warn_lead_minutes if policy else None,
        share=policy.warn_share if policy else Decimal("0.25"),
    )
    if computed.warnings and not order.calendar_warning:
        order.calendar_warning = computed.warnings[0][:200]
        if not order._state.adding:  # a new order is written afterwards, warning included
            WorkOrder.objects.filter(pk=order.pk).update(calendar_warning=order.calendar_warning)
    return Deadline(
        order=order,
        milestone=milestone,
        step_code=step_code,
        amount=amount,
        unit=unit,
        started_at=started_at,
        due_at=computed.at,
        warn_at=warn,
        next_check_at=warn if warn > now else computed.at,
    )


def _intake_deadlines(order: WorkOrder, now: dt.datetime) -> list[Deadline]:
    """The new order's deadlines, unsaved (intake writes them with the order)."""
    policy = order.category.sla_policy
    targets = _targets(policy)
    rows = []
    for milestone in TIMED_MILESTONES:
        target = sla.resolve_target(
            targets,
            milestone=milestone,
            priority=order.priority,
            area_class=order.area_class,
            supply_class=order.supply_class,
        )
        if target is not None:
            rows.append(
                _make_deadline(
                    order,
                    milestone=milestone,
                    amount=target.amount,
                    unit=target.unit,
                    started_at=order.accepted_at,
                    now=now,
                    policy=policy,
                )
            )
    return rows


def deadlines_preview(
    *,
    category: Category,
    accepted_at: dt.datetime,
    customer: Customer | None = None,
    priority: str | None = None,
    area_class: str | None = None,
    supply_class: str | None = None,
) -> tuple[list[Deadline], str]:
    """The deadlines an order would get if accepted at `accepted_at`, and the calendar's warning for a year it
    has no data for ("" when none): the same computation as intake, on an order that is never written. What
    an agent tells a caller ("we will contact you by …"), and how anyone can check the SLA rules for any date."""
    if priority is not None and priority not in Priority.values:
        raise ServiceError(f"未知的优先级 {priority!r}；可选：{', '.join(Priority.values)}", field="priority")
    if area_class is not None and area_class not in AreaClass.values:
        raise ServiceError(f"未知的城乡类别 {area_class!r}；可选：{', '.join(AreaClass.values)}", field="area_class")
    if supply_class and supply_class not in SupplyClass.values:
        known = ", ".join(v for v in SupplyClass.values if v)
        raise ServiceError(f"未知的供电类别 {supply_class!r}；可选：{known}", field="supply_class")
    if timezone.is_naive(accepted_at):
        accepted_at = timezone.make_aware(accepted_at)  # read as the service's local time (Beijing)
    order = WorkOrder(
        category=category,
        priority=priority or category.priority,
        customer=customer,
        area_class=area_class or (customer.area_class if customer else AreaClass.URBAN),
        supply_class=supply_class or _supply_class(customer, {}),
        accepted_at=accepted_at,
    )
    return _intake_deadlines(order, accepted_at), order.calendar_warning


def _meet(order: WorkOrder, milestones: list[str], now: dt.datetime, step_code: str | None = None) -> None:
    qs = Deadline.objects.filter(order=order, milestone__in=milestones, met_at__isnull=True).exclude(
        state=DeadlineState.CANCELLED
    )
    if step_code is not None:
        qs = qs.filter(step_code=step_code)
    qs.update(met_at=now, state=DeadlineState.MET, next_check_at=None)


def _pause_deadlines(order: WorkOrder) -> None:
    Deadline.objects.filter(order=order, met_at__isnull=True).exclude(state=DeadlineState.CANCELLED).update(
        next_check_at=None
    )


def _resume_deadlines(order: WorkOrder, paused_from: dt.datetime, now: dt.datetime) -> None:
    cal = load_calendar()
    policy = order.category.sla_policy
    for d in Deadline.objects.filter(order=order, met_at__isnull=True).exclude(state=DeadlineState.CANCELLED):
        pause = (
            (now - paused_from).total_seconds()
            if d.unit == TimeUnit.MINUTES
            else working_seconds_between(paused_from, now, cal)
        )
        d.paused_seconds += pause
        _reschedule(d, cal, policy, now)
        d.save(update_fields=["paused_seconds", "due_at", "warn_at", "next_check_at", "state", "escalation_level"])


def _reschedule(d: Deadline, cal: Any, policy: SlaPolicy | None, now: dt.datetime) -> tuple[str, ...]:
    """Move the deadline to what the calendar now says; returns the calendar's warnings for its span."""
    computed = sla.due_at(d.started_at, d.amount, d.unit, cal, d.paused_seconds)
    d.due_at = computed.at
    d.warn_at = sla.warn_at(
        d.started_at,
        d.due_at,
        lead_minutes=policy.warn_lead_minutes if policy else None,
        share=policy.warn_share if policy else Decimal("0.25"),
    )
    if d.due_at > now and d.state == DeadlineState.OVERDUE:
        # The deadline moved back into the future: supervision starts over from the new due time.
        d.state, d.escalation_level = DeadlineState.PENDING, 0
    if d.state == DeadlineState.PENDING:
        d.next_check_at = d.warn_at if d.warn_at > now else d.due_at
    elif d.state == DeadlineState.WARNED:
        d.next_check_at = d.due_at
    else:
        d.next_check_at = now
    return tuple(computed.warnings)


def _paused_seconds_from_events(order: WorkOrder, unit: str, cal: Any, now: dt.datetime) -> float:
    from gridcare.core.models import Event

    total = 0.0
    started: dt.datetime | None = None
    for action, at in (
        Event.objects.filter(
            subject_type="workorders.workorder",
            subject_id=str(order.pk),
            action__in=["workorder.suspend", "workorder.resume"],
        )
        .order_by("at", "id")
        .values_list("action", "at")
    ):
        if action == "workorder.suspend":
            started = at
        elif started is not None:
            total += (
                (at - started).total_seconds()
                if unit == TimeUnit.MINUTES
                else working_seconds_between(started, at, cal)
            )
            started = None
    return total


def deadlines_recompute(
    *, policy: SlaPolicy, actor: Actor, now: dt.datetime | None = None, orders_between: tuple[int, int] | None = None
) -> int:
    """After a policy or calendar change: recompute every open deadline from the policy and the event history.

    `orders_between=(after, upto)` limits it to orders with after < id <= upto: one batch of a background task."""
    now = _now(now)
    cal = load_calendar(fresh=True)
    reference(fresh=True)  # the policy was just edited: read it anew
    targets = _targets(policy)
    changed = 0
    orders: dict[int, WorkOrder] = {}
    warnings: dict[int, str] = {}
    with transaction.atomic():
        open_deadlines = (
            Deadline.objects.select_related("order")
            .filter(order__category__sla_policy=policy, met_at__isnull=True, step_code="")
            .exclude(state=DeadlineState.CANCELLED)
        )
        if orders_between is not None:
            open_deadlines = open_deadlines.filter(order_id__gt=orders_between[0], order_id__lte=orders_between[1])
        for d in open_deadlines:
            order = d.order
            target = sla.resolve_target(
                targets,
                milestone=d.milestone,
                priority=order.priority,
                area_class=order.area_class,
                supply_class=order.supply_class,
            )
            if target is None:
                continue
            before = (d.amount, d.unit, d.due_at)
            d.amount, d.unit = target.amount, target.unit
            d.paused_seconds = _paused_seconds_from_events(order, d.unit, cal, now)
            orders[order.pk] = order
            for warning in _reschedule(d, cal, policy, now):
                warnings.setdefault(order.pk, warning[:200])
            if order.status == Status.SUSPENDED:
                d.next_check_at = None
            if (d.amount, d.unit, d.due_at) != before:
                d.save()
                changed += 1
                record_event(
                    actor=actor,
                    action="workorder.deadline_recompute",
                    subject=order,
                    # Both instants in the service's time zone: the old one was read back in UTC.
                    old={"milestone": d.milestone, "due_at": timezone.localtime(before[2])},
                    new={
                        "milestone": d.milestone,
                        "due_at": timezone.localtime(d.due_at),
                        "amount": d.amount,
                        "unit": d.unit,
                    },
                )
        # An order's calendar warning follows the calendar: gone once the year has been entered.
        for pk, order in orders.items():
            if order.calendar_warning != warnings.get(pk, ""):
                WorkOrder.objects.filter(pk=pk).update(calendar_warning=warnings.get(pk, ""))
    return changed


def deadlines_recompute_all(*, actor: Actor, now: dt.datetime | None = None) -> int:
    """After a change to the holiday calendar: every policy's open deadlines, recomputed. Returns how many moved."""
    return sum(deadlines_recompute(policy=policy, actor=actor, now=now) for policy in SlaPolicy.objects.order_by("pk"))


# ---- intake ----------------------------------------------------------------------------------


def _supply_class(customer: Customer | None, params: dict[str, Any]) -> str:
    if params.get("supply_class") in SupplyClass.values:
        return str(params["supply_class"])
    if customer is None:
        return ""
    if customer.customer_type == "hv":
        return SupplyClass.HV_DUAL if params.get("dual_source") else SupplyClass.HV_SINGLE
    return SupplyClass.LV_RESIDENT if customer.customer_type == "lv_resident" else SupplyClass.LV_BUSINESS


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
    is_repair = category.kind == CategoryKind.REPAIR
    if dispatch is None:
        dispatch = not is_repair
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
    if is_repair and call_ended_at is not None:
        from gridcare.repair.services import call_ended_check

        call_ended_check(call_ended_at, now)  # before anything is written
    resolved_area = area_class or (customer.area_class if customer else "urban")
    # Decide the route before the insert, so an order is written once, already with its unit: intake is
    # the hottest path of the system (hundreds a second in a storm), every statement saved counts.
    unit = (
        route(category=category, customer=customer, area_class=resolved_area) if dispatch and not reply_text else None
    )
    sender = _actor_unit(actor) if unit is not None else None
    # Most orders are written by one WriteSet: on PostgreSQL a single round trip that is its own transaction.
    # A transaction is opened only where the WriteSet needs one (SQLite) or more work follows the write (repair
    # tickets, application steps, an answer given at intake). No savepoint: intake writes everything or nothing.
    follow_up = is_repair or category.is_application or bool(reply_text)
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
        if not is_repair:
            # What the API answers with, without reading the order back; a repair call is read back, as
            # opening its ticket may make it a child of an earlier call on the same fault.
            order.created_deadlines = deadlines  # type: ignore[attr-defined]
        if category.is_application:
            _start_steps(order, now)
        if is_repair:
            from gridcare.repair.services import repair_send, repair_ticket_open

            repair_ticket_open(order=order, actor=actor, call_ended_at=call_ended_at, now=now)
            if unit is not None and unit.kind == OrgUnit.Kind.REPAIR_CENTER:
                repair_send(order=order, unit=unit, actor=actor, now=now)
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


# ---- the lifecycle ----------------------------------------------------------------------------


def _transition(
    order: WorkOrder,
    action: str,
    actor: Actor,
    now: dt.datetime,
    *,
    note: str = "",
    to: str | None = None,
    extra: dict[str, Any] | None = None,
    **changes: Any,
) -> WorkOrder:
    """Compare-and-swap the order from its current status to the next; write the event."""
    target = target_state(order.status, action)
    new_status = to or target or order.status
    rows = WorkOrder.objects.filter(pk=order.pk, status=order.status, version=order.version).update(
        status=new_status, version=F("version") + 1, **changes
    )
    if rows != 1:
        raise Conflict("工单已被他人更新，请刷新后重试")
    old_status = order.status
    record_event(
        actor=actor,
        action=f"workorder.{action}",
        subject=order,
        at=now,
        note=note,
        old={"status": old_status},
        new={"status": new_status, **{k: _jsonable(v) for k, v in changes.items()}, **(extra or {})},
    )
    order.refresh_from_db()
    return order


def _jsonable(value: Any) -> Any:
    if isinstance(value, OrgUnit | User | WorkOrder):
        return str(value)
    return value


def _fresh(order: WorkOrder) -> WorkOrder:
    return WorkOrder.objects.select_related("category", "category__sla_policy", "unit", "customer").get(pk=order.pk)


def workorder_dispatch(
    *, order: WorkOrder, actor: Actor, unit: OrgUnit | None = None, now: dt.datetime | None = None
) -> WorkOrder:
    now = _now(now)
    with transaction.atomic():
        order = _fresh(order)
        unit = unit or route(category=order.category, customer=order.customer, area_class=order.area_class)
        if unit is None:
            raise ServiceError("没有匹配的派单规则，请选择处理单位", field="unit")
        sender = _actor_unit(actor) or order.sender_unit
        order = _transition(order, "dispatch", actor, now, unit=unit, sender_unit=sender, handler=None)
        if order.category.kind == CategoryKind.REPAIR and unit.kind == OrgUnit.Kind.REPAIR_CENTER:
            from gridcare.repair.services import repair_send

            repair_send(order=order, unit=unit, actor=actor, now=now)  # B: the shift lead sent it
        return order


def workorder_transfer(
    *, order: WorkOrder, actor: Actor, unit: OrgUnit, reason: str, now: dt.datetime | None = None
) -> WorkOrder:
    now = _now(now)
    if not reason.strip():
        raise ServiceError("转派须说明原因", field="reason")
    with transaction.atomic():
        order = _fresh(order)
        if unit.pk == order.unit_id:
            raise ServiceError("工单已在该单位", field="unit")
        if order.category.kind == CategoryKind.REPAIR and unit.kind == OrgUnit.Kind.REPAIR_CENTER:
            from gridcare.repair.services import repair_transfer

            repair_transfer(order=order, unit=unit, actor=actor, now=now)  # the ticket follows the order
        return _transition(order, "transfer", actor, now, note=reason, unit=unit, sender_unit=order.unit, handler=None)


def workorder_recall(*, order: WorkOrder, actor: Actor, reason: str, now: dt.datetime | None = None) -> WorkOrder:
    """The sender takes back an order sent to the wrong unit, at once."""
    now = _now(now)
    with transaction.atomic():
        order = _fresh(order)
        back_to = order.sender_unit
        order = _transition(order, "recall", actor, now, note=reason or "派错单位，撤回", unit=back_to, handler=None)
        if order.category.kind == CategoryKind.REPAIR:
            from gridcare.repair.services import repair_recalled_from_center

            repair_recalled_from_center(order=order, actor=actor, now=now)
        return order


def workorder_return(*, order: WorkOrder, actor: Actor, reason: str, now: dt.datetime | None = None) -> WorkOrder:
    """退单: the unit sends the order back to whoever sent it, with a reason."""
    now = _now(now)
    if not reason.strip():
        raise ServiceError("退单须说明原因", field="reason")
    with transaction.atomic():
        order = _fresh(order)
        return _transition(order, "return", actor, now, note=reason, unit=order.sender_unit, handler=None)


def workorder_take(*, order: WorkOrder, actor: Actor, now: dt.datetime | None = None) -> WorkOrder:
    now = _now(now)
    with transaction.atomic():
        order = _fresh(order)
        return _transition(order, "take", actor, now, handler=actor if isinstance(actor, User) else None)


def workorder_start(*, order: WorkOrder, actor: Actor, now: dt.datetime | None = None) -> WorkOrder:
    now = _now(now)
    with transaction.atomic():
        return _transition(_fresh(order), "start", actor, now)


def workorder_contact(*, order: WorkOrder, actor: Actor, note: str = "", now: dt.datetime | None = None) -> WorkOrder:
    """The handler has spoken to the customer: meets the contact deadline (complaints: 1 working day)."""
    now = _now(now)
    with transaction.atomic():
        order = _transition(_fresh(order), "contact", actor, now, note=note)
        _meet(order, [Milestone.CONTACT], now)
        return order


def workorder_reply(*, order: WorkOrder, actor: Actor, text: str, now: dt.datetime | None = None) -> WorkOrder:
    now = _now(now)
    if not text.strip():
        raise ServiceError("请填写答复内容", field="text")
    with transaction.atomic():
        order = _fresh(order)
        # Repair calls grouped under one outage are answered together when power is back.
        if order.status == Status.ACCEPTED and not (
            order.category.answerable_at_intake or order.category.kind == CategoryKind.REPAIR
        ):
            raise InvalidTransition("reply", order.status)
        if order.category.is_application and order.steps.filter(done_at__isnull=True).exists():
            raise ServiceError("业务环节尚未全部完成，不能答复办结", field="text")
        order = _transition(order, "reply", actor, now, reply_text=text.strip(), replied_at=now)
        _meet(order, [Milestone.CONTACT, Milestone.REPLY, Milestone.COMPLETE], now)
        if order.category.kind == CategoryKind.REPAIR:
            # Answered without a repair (a planned outage, the customer's own wiring): nobody is sent. After
            # a repair the ticket is already restored and this does nothing.
            from gridcare.repair.services import repair_ticket_close

            repair_ticket_close(order=order, actor=actor, reason=f"已答复：{text.strip()[:150]}", now=now)
        if order.category.return_visit_required:
            ReturnVisit.objects.create(order=order, created_at=now)
            return _to_visit(order, actor, now)
        return _transition(order, "archive", actor, now, closed_at=now, note="无需回访，自动归档")


def _to_visit(order: WorkOrder, actor: Actor, now: dt.datetime) -> WorkOrder:
    rows = WorkOrder.objects.filter(pk=order.pk, status=Status.REPLIED, version=order.version).update(
        status=Status.RETURN_VISIT, version=F("version") + 1
    )
    if rows != 1:
        raise Conflict("工单已被他人更新，请刷新后重试")
    record_event(
        actor=actor,
        action="workorder.await_visit",
        subject=order,
        at=now,
        old={"status": Status.REPLIED},
        new={"status": Status.RETURN_VISIT},
    )
    order.refresh_from_db()
    return order


def workorder_archive(*, order: WorkOrder, actor: Actor, now: dt.datetime | None = None) -> WorkOrder:
    now = _now(now)
    with transaction.atomic():
        return _transition(_fresh(order), "archive", actor, now, closed_at=now)


def workorder_reopen(*, order: WorkOrder, actor: Actor, reason: str, now: dt.datetime | None = None) -> WorkOrder:
    """Back to the unit that handled it, with a fresh reply deadline (after an unsatisfied return visit)."""
    now = _now(now)
    with transaction.atomic():
        order = _fresh(order)
        order = _transition(order, "reopen", actor, now, note=reason, replied_at=None, closed_at=None, handler=None)
        policy = order.category.sla_policy
        target = sla.resolve_target(
            _targets(policy),
            milestone=Milestone.REPLY,
            priority=order.priority,
            area_class=order.area_class,
            supply_class=order.supply_class,
        )
        if target is not None:
            _make_deadline(
                order,
                milestone=Milestone.REPLY,
                amount=target.amount,
                unit=target.unit,
                started_at=now,
                now=now,
                policy=policy,
            ).save()
        return order


def workorder_suspend(*, order: WorkOrder, actor: Actor, reason: str, now: dt.datetime | None = None) -> WorkOrder:
    """挂起: the SLA clock stops until the order is resumed (e.g. the customer asked to wait)."""
    now = _now(now)
    if not reason.strip():
        raise ServiceError("挂起须说明原因", field="reason")
    with transaction.atomic():
        order = _fresh(order)
        order = _transition(
            order, "suspend", actor, now, note=reason, paused_at=now, pause_reason=reason, resume_status=order.status
        )
        _pause_deadlines(order)
        return order


def workorder_resume(*, order: WorkOrder, actor: Actor, now: dt.datetime | None = None) -> WorkOrder:
    now = _now(now)
    with transaction.atomic():
        order = _fresh(order)
        paused_from = order.paused_at or now
        order = _transition(
            order,
            "resume",
            actor,
            now,
            to=order.resume_status or Status.IN_PROGRESS,
            paused_at=None,
            pause_reason="",
            resume_status="",
            extra={"paused_minutes": round((now - paused_from).total_seconds() / 60, 1)},
        )
        _resume_deadlines(order, paused_from, now)
        return order


def workorder_cancel(*, order: WorkOrder, actor: Actor, reason: str, now: dt.datetime | None = None) -> WorkOrder:
    now = _now(now)
    if not reason.strip():
        raise ServiceError("撤销须说明原因", field="reason")
    with transaction.atomic():
        order = _transition(_fresh(order), "cancel", actor, now, note=reason, closed_at=now)
        Deadline.objects.filter(order=order, met_at__isnull=True).update(
            state=DeadlineState.CANCELLED, next_check_at=None
        )
        if order.category.kind == CategoryKind.REPAIR:
            from gridcare.repair.services import repair_ticket_close

            repair_ticket_close(order=order, actor=actor, reason=reason, now=now)
        return order


def workorder_merge(
    *, child: WorkOrder, main: WorkOrder, actor: Actor, reason: str = "", now: dt.datetime | None = None
) -> WorkOrder:
    """主单/子单: the child is closed into the main order; its calls count on the main order."""
    now = _now(now)
    if child.pk == main.pk:
        raise ServiceError("不能把工单合并到自身", field="main")
    with transaction.atomic():
        child, main = _fresh(child), _fresh(main)
        if main.status in (Status.MERGED, Status.CANCELLED, Status.ARCHIVED):
            raise ServiceError(f"主单 {main.number} 已{main.get_status_display()}，不能作为主单", field="main")
        if main.main_id == child.pk or child.children.exists():
            raise ServiceError(f"工单 {child.number} 自身是主单，请先取消其子单的合并", field="child")
        child = _transition(
            child, "merge", actor, now, note=reason, main=main, resume_status=child.status, extra={"main": main.number}
        )
        Deadline.objects.filter(order=child, met_at__isnull=True).exclude(state=DeadlineState.CANCELLED).update(
            state=DeadlineState.CANCELLED, next_check_at=None
        )
        WorkOrder.objects.filter(pk=main.pk).update(call_count=F("call_count") + child.call_count)
        record_event(
            actor=actor,
            action="workorder.child_merged",
            subject=main,
            at=now,
            new={"child": child.number, "calls_added": child.call_count},
        )
        return child


def workorder_unmerge(*, child: WorkOrder, actor: Actor, reason: str = "", now: dt.datetime | None = None) -> WorkOrder:
    now = _now(now)
    with transaction.atomic():
        child = _fresh(child)
        main = child.main
        restored = child.resume_status or Status.ACCEPTED
        child = _transition(
            child,
            "unmerge",
            actor,
            now,
            to=restored,
            note=reason,
            main=None,
            resume_status="",
            extra={"main": main.number if main else None},
        )
        if main is not None:
            WorkOrder.objects.filter(pk=main.pk).update(call_count=F("call_count") - child.call_count)
            record_event(
                actor=actor, action="workorder.child_unmerged", subject=main, at=now, new={"child": child.number}
            )
        cal, policy = load_calendar(), child.category.sla_policy
        for d in Deadline.objects.filter(order=child, state=DeadlineState.CANCELLED, met_at__isnull=True):
            d.state = DeadlineState.PENDING
            d.escalation_level = 0
            _reschedule(d, cal, policy, now)
            d.save()
        return child


def workorder_supervise(*, order: WorkOrder, actor: Actor, note: str, now: dt.datetime | None = None) -> WorkOrder:
    """督办 by hand: quality staff can supervise any open order."""
    now = _now(now)
    if not note.strip():
        raise ServiceError("请填写督办意见", field="note")
    with transaction.atomic():
        return _transition(
            _fresh(order), "supervise", actor, now, note=note, is_supervised=True, extra={"manual": True}
        )


# ---- business applications ---------------------------------------------------------------------


def _process_for(order: WorkOrder) -> list[list[Any]]:
    process = order.category.process or {}
    steps = process.get(order.supply_class) or process.get("default") or []
    return [list(s) for s in steps]


def _start_steps(order: WorkOrder, now: dt.datetime) -> None:
    steps = _process_for(order)
    ApplicationStep.objects.bulk_create(
        ApplicationStep(
            order=order, seq=i, code=str(code), name=str(name), days=int(days), started_at=now if i == 1 else None
        )
        for i, (code, name, days) in enumerate(steps, start=1)
    )
    if steps:
        code, _, days = steps[0]
        _make_deadline(
            order,
            milestone=Milestone.STEP,
            step_code=str(code),
            amount=int(days),
            unit=TimeUnit.WORKING_DAYS,
            started_at=now,
            now=now,
            policy=order.category.sla_policy,
        ).save()


def workorder_complete_step(
    *,
    order: WorkOrder,
    actor: Actor,
    note: str = "",
    params: dict[str, Any] | None = None,
    now: dt.datetime | None = None,
) -> WorkOrder:
    """Finish the current process step; the last one applies the change to the customer's ledger."""
    now = _now(now)
    with transaction.atomic():
        order = _fresh(order)
        step = order.steps.filter(done_at__isnull=True).order_by("seq").first()
        if step is None:
            raise ServiceError("该工单没有待办的业务环节")
        if params:
            order.application_params = {**order.application_params, **params}
            WorkOrder.objects.filter(pk=order.pk).update(application_params=order.application_params)
        nxt = order.steps.filter(seq__gt=step.seq).order_by("seq").first()
        if nxt is None:
            _apply_ledger_effect(order, actor, now)  # raises before anything is marked done if params are wrong
        order = _transition(order, "complete_step", actor, now, note=note, extra={"step": step.code})
        ApplicationStep.objects.filter(pk=step.pk).update(done_at=now, note=note[:200])
        _meet(order, [Milestone.STEP], now, step_code=step.code)
        if nxt is not None:
            ApplicationStep.objects.filter(pk=nxt.pk).update(started_at=now)
            _make_deadline(
                order,
                milestone=Milestone.STEP,
                step_code=nxt.code,
                amount=nxt.days,
                unit=TimeUnit.WORKING_DAYS,
                started_at=now,
                now=now,
                policy=order.category.sla_policy,
            ).save()
        else:
            _meet(order, [Milestone.COMPLETE], now)
        return order


NEW_CUSTOMER_FIELDS = [
    "account_no",
    "name",
    "customer_type",
    "category",
    "voltage_level",
    "contract_kva",
    "address",
    "district",
    "service_point",
]


def _apply_ledger_effect(order: WorkOrder, actor: Actor, now: dt.datetime) -> None:
    effect = order.category.ledger_effect or {}
    params = order.application_params or {}
    if effect.get("create_customer"):
        _create_customer_from_application(order, params, actor, now)
        return
    changes: dict[str, Any] = dict(effect.get("set", {}))
    for field, param in effect.get("params", {}).items():
        if param not in params or params[param] in ("", None):
            raise ServiceError(f"办结前须填写业务参数 {param}", field=param)
        value = params[param]
        if field == "contract_kva":
            try:
                value = Decimal(str(value))
            except ArithmeticError:
                raise ServiceError(f"{param} 应为数字", field=param) from None
            if effect.get("delta"):
                value = (order.customer.contract_kva if order.customer else Decimal(0)) + value
        changes[field] = value
    if changes and order.customer is not None:
        customer_update(
            customer=order.customer, actor=actor, reason=f"工单 {order.number} {order.category.name}办结", **changes
        )


def _create_customer_from_application(order: WorkOrder, params: dict[str, Any], actor: Actor, now: dt.datetime) -> None:
    from gridcare.grid.models import District, ServicePoint

    missing = [f for f in NEW_CUSTOMER_FIELDS if not params.get(f)]
    if missing:
        raise ServiceError(f"新装办结前须填写：{', '.join(missing)}", field=missing[0])
    district = District.objects.filter(code=params["district"]).first()
    point = ServicePoint.objects.select_related("transformer_area__unit").filter(code=params["service_point"]).first()
    if district is None or point is None:
        raise ServiceError("行政区域或计量点编码不存在", field="district" if district is None else "service_point")
    customer = customer_create(
        actor=actor,
        contacts=[{"name": order.caller_name or params["name"], "phone": order.caller_phone}]
        if order.caller_phone
        else [],
        account_no=params["account_no"],
        name=params["name"],
        customer_type=params["customer_type"],
        category=params["category"],
        voltage_level=params["voltage_level"],
        contract_kva=Decimal(str(params["contract_kva"])),
        address=params["address"],
        district=district,
        area_class=district.area_class,
        service_point=point,
        service_unit=point.transformer_area.unit,
        opened_on=timezone.localtime(now).date(),
        lat=point.lat,
        lon=point.lon,
    )
    WorkOrder.objects.filter(pk=order.pk).update(customer=customer)
    order.customer = customer


# ---- return visits ------------------------------------------------------------------------------


def visit_record(
    *, visit: ReturnVisit, actor: Actor, result: str, note: str = "", now: dt.datetime | None = None
) -> ReturnVisit:
    """Record one call of a return visit. Unsatisfied reopens the order; 3 unanswered calls at
    different times make it unreachable; satisfied or basically satisfied archives the order."""
    now = _now(now)
    allowed = [VisitOutcome.SATISFIED, VisitOutcome.BASIC, VisitOutcome.UNSATISFIED, VisitOutcome.NO_ANSWER]
    if result not in allowed:
        raise ServiceError(f"回访结果须为：{', '.join(allowed)}", field="result")
    with transaction.atomic():
        visit = ReturnVisit.objects.select_for_update().select_related("order").get(pk=visit.pk)
        if visit.closed_at is not None:
            raise Conflict(f"回访已结束（{visit.get_outcome_display()}）")
        previous = list(visit.attempts.order_by("at"))
        if result == VisitOutcome.NO_ANSWER and previous and now - previous[-1].at < VISIT_ATTEMPT_GAP:
            raise ServiceError(
                f"两次回访须间隔至少 {int(VISIT_ATTEMPT_GAP.total_seconds() // 60)} 分钟，请稍后再拨", field="result"
            )
        VisitAttempt.objects.create(
            visit=visit, at=now, result=result, note=note[:200], by=actor if isinstance(actor, User) else None
        )
        record_event(
            actor=actor,
            action="visit.attempt",
            subject=visit.order,
            at=now,
            new={"result": result, "attempt": len(previous) + 1},
            note=note,
        )
        outcome = result
        if result == VisitOutcome.NO_ANSWER:
            unanswered = sum(1 for a in previous if a.result == VisitOutcome.NO_ANSWER) + 1
            if unanswered < VISIT_ATTEMPTS:
                return visit
            outcome = VisitOutcome.UNREACHABLE
        visit.outcome, visit.closed_at = outcome, now
        visit.save(update_fields=["outcome", "closed_at"])
        record_event(actor=actor, action="visit.close", subject=visit.order, at=now, new={"outcome": outcome})
        order = visit.order
        if outcome == VisitOutcome.UNSATISFIED:
            workorder_reopen(order=order, actor=actor, reason=f"回访不满意：{note}".strip("："), now=now)
        else:
            workorder_archive(order=order, actor=actor, now=now)
        return visit
