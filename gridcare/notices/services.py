"""Every write of the notices app: outages and their notices, announcements, preferences, templates, follow-ups.

Queueing is set-based: a notice's messages are written with one `INSERT … SELECT` per channel from the audience
query, so a feeder of 100,000 customers is queued in one statement per channel, never row by row in Python.
The repair app uses `outage_publish_fault`, `outage_add_callers`, `outage_update_etr` and `outage_restore`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from gridcare.core.audit import record_event
from gridcare.core.errors import Conflict, NotFound, ServiceError
from gridcare.customers.models import Customer, CustomerStatus
from gridcare.grid.models import Feeder, ServicePoint, TransformerArea
from gridcare.notices import rendering, rules
from gridcare.notices.audiences import Audience, audience_queryset, check_accounts, network_q
from gridcare.notices.config import CHANNELS, get_config
from gridcare.notices.models import (
    ChannelPreference,
    FollowUpTask,
    Message,
    MessageStatus,
    Notice,
    NoticeKind,
    NoticeTemplate,
    Outage,
    OutageCustomer,
    OutageKind,
    OutageStatus,
)
from gridcare.org.models import OrgUnit

Actor = Any  # a User, a system name (str) or None

OUTAGE_FIELDS = ["kind", "status", "title", "cause", "starts_at", "ends_at", "etr", "restored_at", "scope_label"]


def _now(now: dt.datetime | None) -> dt.datetime:
    value = now or timezone.now()
    if timezone.is_naive(value):
        raise ServiceError("时间必须带时区")
    return value


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def _check_channels(channels: Sequence[str] | None) -> list[str]:
    config = get_config()
    if not channels:
        # Nobody chose: use the default channels that are set up here (a fresh install has no SMS gateway).
        channels = [ch for ch in config.default_channels if config.configured(ch)]
    chosen = list(dict.fromkeys(channels))
    if not chosen:
        raise ServiceError("请至少选择一个发送渠道", field="channels")
    for ch in chosen:
        if ch not in CHANNELS:
            raise ServiceError(f"未知渠道 {ch}；可用：{', '.join(CHANNELS)}", field="channels")
        if not config.configured(ch):
            hint = "GRIDCARE_SMS_URL" if ch == "sms" else "GRIDCARE_SMTP_HOST"
            raise ServiceError(f"渠道 {ch} 尚未配置（设置环境变量 {hint}）", field="channels")
    return chosen


# --- set-based queueing -----------------------------------------------------------------------------------------


def _adapt(value: dt.datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def _insert_select(
    *, notice: Notice, customers: QuerySet[Customer], channel: str, next_at: dt.datetime, now: dt.datetime
) -> None:
    """One INSERT … SELECT: a message for every customer of the query; opted-out ones are logged as suppressed."""
    q = connection.ops.quote_name
    sql, params = customers.order_by().values_list("id").query.sql_with_params()
    head: list[Any] = [notice.pk, channel]
    if notice.legally_required:
        status_sql, join = "%s", ""
        status_params: list[Any] = [MessageStatus.QUEUED]
        join_params: list[Any] = []
    else:
        status_sql = "CASE WHEN p.id IS NULL THEN %s ELSE %s END"
        status_params = [MessageStatus.QUEUED, MessageStatus.SUPPRESSED]
        join = (
            f" LEFT JOIN {q(ChannelPreference._meta.db_table)} p"
            " ON p.customer_id = sub.id AND p.channel = %s AND p.opted_out = %s"
        )
        join_params = [channel, True]
    # Table names come from our models and the subquery from the ORM; every value is a bound parameter.
    statement = (
        f"INSERT INTO {q(Message._meta.db_table)} (notice_id, customer_id, channel, status, attempts, "  # noqa: S608
        "next_attempt_at, queued_at, lease_owner, address, body, provider_ref, response, last_error) "
        f"SELECT %s, sub.id, %s, {status_sql}, 0, %s, %s, '', '', '', '', '', '' FROM ({sql}) sub{join}"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, [*head, *status_params, _adapt(next_at), _adapt(now), *params, *join_params])


def _audience_chunks(audience: Audience | QuerySet[Customer]) -> list[QuerySet[Customer]]:
    """Long uploaded lists are split so no single statement exceeds the database's parameter limit."""
    if isinstance(audience, QuerySet):
        return [audience]
    if len(audience.account_nos) <= 5000:
        return [audience_queryset(audience)]
    chunks = []
    for i in range(0, len(audience.account_nos), 5000):
        part = Audience(**{**audience.__dict__, "account_nos": audience.account_nos[i : i + 5000]})
        chunks.append(audience_queryset(part))
    return chunks


def _queue_notice(
    *,
    kind: str,
    title: str,
    customers: Audience | QuerySet[Customer],
    channels: Sequence[str],
    context: dict[str, Any],
    urgent: bool,
    legally_required: bool,
    follow_up: bool,
    audience_label: str,
    actor: Actor,
    now: dt.datetime,
    outage: Outage | None = None,
) -> Notice:
    config = get_config()
    notice = Notice.objects.create(
        kind=kind,
        outage=outage,
        outage_revision=outage.revision if outage else 0,
        title=title[:200],
        channels=list(channels),
        context={"hotline": config.hotline, "company": config.company, "title": title, **context},
        urgent=urgent,
        legally_required=legally_required,
        audience_label=audience_label[:300],
        created_at=now,
        created_by=_actor_name(actor),
    )
    next_at = rules.not_before(now, urgent=urgent, start=config.quiet_start, end=config.quiet_end)
    chunks = _audience_chunks(customers)
    for qs in chunks:
        for ch in channels:
            _insert_select(notice=notice, customers=qs, channel=ch, next_at=next_at, now=now)
    notice.recipients = Message.objects.filter(notice=notice, channel=channels[0]).count()
    notice.save(update_fields=["recipients"])
    tasks = 0
    if follow_up:
        due = now + dt.timedelta(hours=4)
        if outage is not None and outage.starts_at - dt.timedelta(hours=24) > now:
            due = outage.starts_at - dt.timedelta(hours=24)
        for qs in chunks:
            tasks += _create_follow_ups(notice=notice, customers=qs, due_at=due)
    record_event(
        actor=actor,
        action="notice.queue",
        subject=notice,
        new={
            "kind": kind,
            "channels": list(channels),
            "recipients": notice.recipients,
            "follow_ups": tasks,
            "urgent": urgent,
            "legally_required": legally_required,
            "outage": outage.pk if outage else None,
        },
        at=now,
    )
    return notice


def _actor_name(actor: Actor) -> str:
    if actor is None:
        return "系统"
    if isinstance(actor, str):
        return actor[:150]
    return (actor.get_full_name() or actor.get_username())[:150]


def _create_follow_ups(*, notice: Notice, customers: QuerySet[Customer], due_at: dt.datetime) -> int:
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


# --- outages ----------------------------------------------------------------------------------------------------


def _scope_label(feeders: Sequence[Feeder], areas: Sequence[TransformerArea], sps: Sequence[ServicePoint]) -> str:
    parts = [f"{f.name}（全线）" for f in feeders[:10]]
    parts += [a.name for a in areas[:20]]
    parts += [sp.address or sp.code for sp in sps[:10]]
    more = max(len(feeders) - 10, 0) + max(len(areas) - 20, 0) + max(len(sps) - 10, 0)
    label = "、".join(parts) + (f" 等 {more} 处" if more else "")
    return label[:500]


def _outage_context(outage: Outage) -> dict[str, Any]:
    return {
        "title": outage.title,
        "window": rules.format_window(outage.starts_at, outage.ends_at),
        "scope": outage.scope_label,
        "reason": outage.cause or outage.get_kind_display(),
        "etr": rules.format_local(outage.etr or outage.ends_at),
    }


def _validate_window(starts_at: dt.datetime, ends_at: dt.datetime | None) -> None:
    if timezone.is_naive(starts_at) or (ends_at is not None and timezone.is_naive(ends_at)):
        raise ServiceError("停电时间必须带时区", field="starts_at")
    if ends_at is not None and ends_at <= starts_at:
        raise ServiceError("预计结束时间须晚于开始时间", field="ends_at")


def _scope_ids(outage: Outage) -> tuple[frozenset[int], frozenset[int], frozenset[int]]:
    return (
        frozenset(outage.feeders.values_list("pk", flat=True)),
        frozenset(outage.areas.values_list("pk", flat=True)),
        frozenset(outage.service_points.values_list("pk", flat=True)),
    )


def _outage_customers(outage: Outage) -> QuerySet[Customer]:
    f, a, s = _scope_ids(outage)
    return Customer.objects.exclude(status=CustomerStatus.CLOSED).filter(network_q(list(f), list(a), list(s)))


def _active_ids(outage: Outage) -> QuerySet[OutageCustomer, Any]:
    return OutageCustomer.objects.filter(outage=outage, active=True).values("customer_id")


def _active_customers(outage: Outage) -> QuerySet[Customer]:
    return Customer.objects.filter(pk__in=_active_ids(outage))


def _add_affected(outage: Outage, customers: QuerySet[Customer]) -> None:
    """Keep the audience with the outage: reactivate earlier rows, insert the new ones (one statement)."""
    OutageCustomer.objects.filter(outage=outage, active=False, customer_id__in=customers.values("pk")).update(
        active=True
    )
    fresh = customers.exclude(pk__in=OutageCustomer.objects.filter(outage=outage).values("customer_id"))
    sql, params = fresh.order_by().values_list("id").query.sql_with_params()
    q = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {q(OutageCustomer._meta.db_table)} (outage_id, customer_id, active, is_caller) "  # noqa: S608
            f"SELECT %s, sub.id, %s, %s FROM ({sql}) sub",
            [outage.pk, True, False, *params],
        )


def _refresh_counts(outage: Outage) -> None:
    outage.affected_count = OutageCustomer.objects.filter(outage=outage, active=True).count()
    district_ids = (
        Customer.objects.filter(pk__in=_active_ids(outage)).order_by().values_list("district_id", flat=True).distinct()
    )
    outage.districts.set(list(district_ids))


def _set_scope(
    outage: Outage, feeders: Sequence[Feeder], areas: Sequence[TransformerArea], sps: Sequence[ServicePoint]
) -> None:
    if not (feeders or areas or sps):
        raise ServiceError("请指定停电范围：线路、台区或计量点", field="scope")
    outage.feeders.set(feeders)
    outage.areas.set(areas)
    outage.service_points.set(sps)
    outage.scope_label = _scope_label(feeders, areas, sps)


def outage_create(
    *,
    kind: str,
    title: str,
    unit: OrgUnit,
    starts_at: dt.datetime,
    ends_at: dt.datetime | None,
    feeders: Sequence[Feeder] = (),
    areas: Sequence[TransformerArea] = (),
    service_points: Sequence[ServicePoint] = (),
    cause: str = "",
    actor: Actor,
    now: dt.datetime | None = None,
) -> Outage:
    """A draft outage; nobody is told anything until `outage_publish`."""
    now = _now(now)
    if kind not in OutageKind.values:
        raise ServiceError(f"未知停电类型 {kind}", field="kind")
    if not title.strip():
        raise ServiceError("请填写标题", field="title")
    _validate_window(starts_at, ends_at)
    with transaction.atomic():
        outage = Outage.objects.create(
            kind=kind,
            title=title.strip()[:200],
            cause=cause.strip()[:200],
            unit=unit,
            starts_at=starts_at,
            ends_at=ends_at,
            created_at=now,
            updated_at=now,
        )
        _set_scope(outage, feeders, areas, service_points)
        outage.save(update_fields=["scope_label"])
        record_event(actor=actor, action="outage.create", subject=outage, new=_snapshot(outage), at=now)
    return outage


def _snapshot(outage: Outage) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name in OUTAGE_FIELDS:
        value = getattr(outage, name)
        data[name] = value.isoformat() if isinstance(value, dt.datetime) else value
    return data


def _lead_time(outage: Outage, now: dt.datetime, late_reason: str) -> bool:
    """Whether the publication is late; a late one without a reason is refused."""
    config = get_config()
    check = rules.lead_time_check(
        kind=outage.kind,
        starts_at=outage.starts_at,
        now=now,
        planned_days=config.planned_days,
        temporary_hours=config.temporary_hours,
    )
    if check is None or not check.late:
        return False
    if not late_reason.strip():
        raise ServiceError(check.message, field="late_reason")
    return True


def outage_publish(
    *,
    outage: Outage,
    actor: Actor,
    channels: Sequence[str] | None = None,
    late_reason: str = "",
    follow_up: bool = True,
    now: dt.datetime | None = None,
) -> Notice:
    """Compute the affected customers from the topology now, keep them, and queue the notice to each of them."""
    now = _now(now)
    chosen = _check_channels(channels)
    with transaction.atomic():
        outage = Outage.objects.select_for_update().get(pk=outage.pk)
        if outage.status != OutageStatus.DRAFT:
            raise Conflict(f"该停电信息已{outage.get_status_display()}，不能再次发布")
        late = _lead_time(outage, now, late_reason)
        customers = _outage_customers(outage)
        _add_affected(outage, customers)
        outage.status = OutageStatus.PUBLISHED
        outage.published_at = now
        outage.updated_at = now
        outage.is_late = late
        outage.late_reason = late_reason.strip()[:300] if late else ""
        outage.revision = 1
        _refresh_counts(outage)
        outage.save()
        record_event(
            actor=actor,
            action="outage.publish",
            subject=outage,
            new={"affected": outage.affected_count, "is_late": late, "late_reason": outage.late_reason},
            at=now,
        )
        notice = _queue_notice(
            kind=NoticeKind.OUTAGE_PUBLISHED,
            title=outage.title,
            customers=_active_customers(outage),
            channels=chosen,
            context=_outage_context(outage),
            # Temporary maintenance has only 24 h to reach people: it is not held back by quiet hours.
            urgent=outage.kind != OutageKind.PLANNED,
            legally_required=True,
            follow_up=follow_up,
            audience_label=outage.scope_label,
            actor=actor,
            now=now,
            outage=outage,
        )
    return notice


_STALE_KINDS = [NoticeKind.OUTAGE_PUBLISHED, NoticeKind.OUTAGE_CHANGED]


def _supersede_queued(outage: Outage, keep: Sequence[Notice], why: str) -> int:
    """Messages still waiting that announce an old window are not sent; the newer notice replaces them."""
    return (
        Message.objects.filter(notice__outage=outage, notice__kind__in=_STALE_KINDS, status=MessageStatus.QUEUED)
        .exclude(notice__in=[n.pk for n in keep])
        .update(status=MessageStatus.SUPPRESSED, last_error=why)
    )


def outage_update(
    *,
    outage: Outage,
    actor: Actor,
    starts_at: dt.datetime | None = None,
    ends_at: dt.datetime | None = None,
    feeders: Sequence[Feeder] | None = None,
    areas: Sequence[TransformerArea] | None = None,
    service_points: Sequence[ServicePoint] | None = None,
    title: str | None = None,
    cause: str | None = None,
    late_reason: str = "",
    channels: Sequence[str] | None = None,
    now: dt.datetime | None = None,
) -> list[Notice]:
    """Edit an outage. Once published, only a changed window or scope is told to customers:
    the customers still affected hear of a new window; newly covered ones get the notice; those no longer
    covered are told they are released. A title or cause edit notifies nobody."""
    now = _now(now)
    with transaction.atomic():
        outage = Outage.objects.select_for_update().get(pk=outage.pk)
        if outage.status in (OutageStatus.CANCELLED, OutageStatus.RESTORED):
            raise Conflict(f"该停电信息已{outage.get_status_display()}，不能修改")
        before = _snapshot(outage)
        old_window = (outage.starts_at, outage.ends_at)
        old_scope = _scope_ids(outage)
        new_start = starts_at or outage.starts_at
        new_end = ends_at if ends_at is not None else outage.ends_at
        _validate_window(new_start, new_end)
        if title is not None:
            if not title.strip():
                raise ServiceError("请填写标题", field="title")
            outage.title = title.strip()[:200]
        if cause is not None:
            outage.cause = cause.strip()[:200]
        outage.starts_at, outage.ends_at = new_start, new_end
        if feeders is not None or areas is not None or service_points is not None:
            _set_scope(
                outage,
                feeders if feeders is not None else list(outage.feeders.all()),
                areas if areas is not None else list(outage.areas.all()),
                service_points if service_points is not None else list(outage.service_points.all()),
            )
        change = rules.classify_change(
            old_window=old_window,
            new_window=(outage.starts_at, outage.ends_at),
            old_scope=old_scope,
            new_scope=_scope_ids(outage),
        )
        outage.updated_at = now
        notices: list[Notice] = []
        if outage.status == OutageStatus.PUBLISHED and change.material:
            if change.time_changed and _lead_time(outage, now, late_reason):
                outage.is_late = True
                outage.late_reason = late_reason.strip()[:300]
            chosen = _check_channels(channels or _last_channels(outage))
            outage.revision += 1
            context = _outage_context(outage)
            common = {
                "title": outage.title,
                "channels": chosen,
                "context": context,
                "urgent": outage.kind != OutageKind.PLANNED or change.time_changed,
                "legally_required": True,
                "actor": actor,
                "now": now,
                "outage": outage,
            }
            new_customers = _outage_customers(outage)
            old_active = _active_ids(outage)
            # Order matters: these INSERT … SELECTs read the affected set before it is updated below.
            if change.time_changed:
                kept = new_customers.filter(pk__in=old_active)
                notices.append(
                    _queue_notice(
                        kind=NoticeKind.OUTAGE_CHANGED,
                        customers=kept,
                        follow_up=True,
                        audience_label=outage.scope_label,
                        **common,  # type: ignore[arg-type]
                    )
                )
            if change.scope_changed:
                added = new_customers.exclude(pk__in=old_active)
                removed = Customer.objects.filter(pk__in=old_active).exclude(pk__in=new_customers.values("pk"))
                if added.exists():
                    notices.append(
                        _queue_notice(
                            kind=NoticeKind.OUTAGE_PUBLISHED,
                            customers=added,
                            follow_up=True,
                            audience_label="范围调整新增",
                            **common,  # type: ignore[arg-type]
                        )
                    )
                if removed.exists():
                    notices.append(
                        _queue_notice(
                            kind=NoticeKind.OUTAGE_RELEASED,
                            customers=removed,
                            follow_up=False,
                            audience_label="范围调整移出",
                            **common,  # type: ignore[arg-type]
                        )
                    )
                OutageCustomer.objects.filter(outage=outage, active=True, is_caller=False).exclude(
                    customer_id__in=new_customers.values("pk")
                ).update(active=False)
                _add_affected(outage, new_customers)
                _refresh_counts(outage)
            if change.time_changed:
                _supersede_queued(outage, notices, "停电时间已变更，由新通知替代")
        outage.save()
        old, new = _diff(before, _snapshot(outage))
        if new:
            record_event(
                actor=actor,
                action="outage.update",
                subject=outage,
                old=old,
                new=new,
                note=f"通知 {sum(n.recipients for n in notices)} 户" if notices else "无需通知客户",
                at=now,
            )
    return notices


def _diff(old: dict[str, Any], new: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    keys = [k for k in new if old.get(k) != new.get(k)]
    return {k: old.get(k) for k in keys}, {k: new[k] for k in keys}


def _last_channels(outage: Outage) -> list[str]:
    last = outage.notices.order_by("-created_at", "-id").first()
    return list(last.channels) if last else get_config().default_channels


def outage_cancel(
    *, outage: Outage, reason: str, actor: Actor, channels: Sequence[str] | None = None, now: dt.datetime | None = None
) -> Notice | None:
    """Cancel; if it was published, everyone told about it hears it is off, and unsent notices are held back."""
    now = _now(now)
    if not reason.strip():
        raise ServiceError("请填写取消原因", field="reason")
    with transaction.atomic():
        outage = Outage.objects.select_for_update().get(pk=outage.pk)
        if outage.status in (OutageStatus.CANCELLED, OutageStatus.RESTORED):
            raise Conflict(f"该停电信息已{outage.get_status_display()}")
        was_published = outage.status == OutageStatus.PUBLISHED
        outage.status = OutageStatus.CANCELLED
        outage.updated_at = now
        notice = None
        if was_published:
            outage.revision += 1
            _supersede_queued(outage, [], "停电已取消")
            notice = _queue_notice(
                kind=NoticeKind.OUTAGE_CANCELLED,
                title=outage.title,
                customers=_active_customers(outage),
                channels=_check_channels(channels or _last_channels(outage)),
                context={**_outage_context(outage), "reason": reason.strip()},
                urgent=True,
                legally_required=True,
                follow_up=False,
                audience_label=outage.scope_label,
                actor=actor,
                now=now,
                outage=outage,
            )
        outage.save()
        record_event(
            actor=actor, action="outage.cancel", subject=outage, new={"status": outage.status}, note=reason, at=now
        )
    return notice


def outage_publish_fault(
    *,
    unit: OrgUnit,
    title: str,
    cause: str,
    started_at: dt.datetime,
    etr: dt.datetime | None,
    actor: Actor,
    feeders: Sequence[Feeder] = (),
    areas: Sequence[TransformerArea] = (),
    service_points: Sequence[ServicePoint] = (),
    callers: Sequence[Customer] = (),
    source_ref: str = "",
    channels: Sequence[str] | None = None,
    notify_affected: bool = True,
    now: dt.datetime | None = None,
) -> Outage:
    """For the repair app: a fault outage built from grouped repair calls, published at once.

    The customers under the scope are kept as affected, `callers` are marked as such (and added even if the
    topology does not place them under the scope), and — with `notify_affected` — all of them are told that
    the fault is known, its cause and the ETR. Calling it twice with the same `source_ref` is refused.
    """
    now = _now(now)
    chosen = _check_channels(channels)
    if etr is not None and etr <= started_at:
        raise ServiceError("预计恢复时间须晚于停电开始时间", field="etr")
    with transaction.atomic():
        if source_ref and Outage.objects.filter(source_ref=source_ref).exists():
            raise Conflict(f"来源 {source_ref} 已有故障停电信息")
        outage = outage_create(
            kind=OutageKind.FAULT,
            title=title,
            unit=unit,
            starts_at=started_at,
            ends_at=None,
            feeders=feeders,
            areas=areas,
            service_points=service_points,
            cause=cause,
            actor=actor,
            now=now,
        )
        outage.etr = etr
        outage.source_ref = source_ref[:64]
        outage.status = OutageStatus.PUBLISHED
        outage.published_at = now
        outage.revision = 1
        _add_affected(outage, _outage_customers(outage))
        _mark_callers(outage, callers)
        _refresh_counts(outage)
        outage.save()
        record_event(
            actor=actor,
            action="outage.publish_fault",
            subject=outage,
            new={"affected": outage.affected_count, "etr": _iso(etr), "source_ref": source_ref},
            at=now,
        )
        if notify_affected:
            _queue_notice(
                kind=NoticeKind.OUTAGE_ETR,
                title=outage.title,
                customers=_active_customers(outage),
                channels=chosen,
                context=_outage_context(outage),
                urgent=True,
                legally_required=False,
                follow_up=True,
                audience_label=outage.scope_label,
                actor=actor,
                now=now,
                outage=outage,
            )
    return outage


def _mark_callers(outage: Outage, callers: Sequence[Customer]) -> int:
    ids = [c.pk for c in callers]
    if not ids:
        return 0
    rows = OutageCustomer.objects.filter(outage=outage, customer_id__in=ids)
    existing = set(rows.values_list("customer_id", flat=True))
    OutageCustomer.objects.filter(outage=outage, customer_id__in=ids).update(is_caller=True, active=True)
    OutageCustomer.objects.bulk_create(
        [OutageCustomer(outage=outage, customer_id=cid, is_caller=True) for cid in ids if cid not in existing],
        ignore_conflicts=True,
    )
    return len(ids)


def outage_add_callers(
    *, outage: Outage, callers: Sequence[Customer], actor: Actor, now: dt.datetime | None = None
) -> int:
    """For the repair app: customers who called about this outage; they are told when power is back."""
    now = _now(now)
    with transaction.atomic():
        outage = Outage.objects.select_for_update().get(pk=outage.pk)
        if outage.status != OutageStatus.PUBLISHED:
            raise Conflict("只能为进行中的停电添加来电客户")
        n = _mark_callers(outage, callers)
        _refresh_counts(outage)
        outage.updated_at = now
        outage.save()
        record_event(
            actor=actor,
            action="outage.add_callers",
            subject=outage,
            new={"callers": [c.account_no for c in callers][:50]},
            at=now,
        )
    return n


def outage_update_etr(
    *,
    outage: Outage,
    etr: dt.datetime,
    reason: str,
    actor: Actor,
    channels: Sequence[str] | None = None,
    now: dt.datetime | None = None,
) -> Notice | None:
    """For the repair app: a new estimated restoration time, with the reason (required). Affected customers and
    callers are told only when the ETR moved by at least GRIDCARE_ETR_NOTIFY_MINUTES (or there was none)."""
    now = _now(now)
    if not reason.strip():
        raise ServiceError("请填写预计恢复时间调整原因", field="reason")
    if timezone.is_naive(etr):
        raise ServiceError("预计恢复时间必须带时区", field="etr")
    with transaction.atomic():
        outage = Outage.objects.select_for_update().get(pk=outage.pk)
        if outage.status != OutageStatus.PUBLISHED:
            raise Conflict(f"该停电信息已{outage.get_status_display()}，不能更新预计恢复时间")
        if etr <= outage.starts_at:
            raise ServiceError("预计恢复时间须晚于停电开始时间", field="etr")
        old = outage.etr
        outage.etr = etr
        outage.etr_reason = reason.strip()[:200]
        outage.updated_at = now
        notify = rules.etr_moved_enough(old, etr, get_config().etr_notify_minutes)
        notice = None
        if notify:
            outage.revision += 1
            notice = _queue_notice(
                kind=NoticeKind.OUTAGE_ETR,
                title=outage.title,
                customers=_active_customers(outage),
                channels=_check_channels(channels or _last_channels(outage)),
                context={**_outage_context(outage), "reason": outage.cause or reason.strip()},
                urgent=True,
                legally_required=False,
                follow_up=False,
                audience_label=outage.scope_label,
                actor=actor,
                now=now,
                outage=outage,
            )
        outage.save()
        record_event(
            actor=actor,
            action="outage.update_etr",
            subject=outage,
            old={"etr": _iso(old)},
            new={"etr": _iso(etr)},
            note=reason,
            at=now,
        )
    return notice


def outage_restore(
    *,
    outage: Outage,
    restored_at: dt.datetime,
    actor: Actor,
    note: str = "",
    channels: Sequence[str] | None = None,
    now: dt.datetime | None = None,
) -> Notice:
    """For the repair app (and planned work finishing): power is back; every caller and affected customer is
    told, with the hotline to call if they are still without power."""
    now = _now(now)
    if timezone.is_naive(restored_at):
        raise ServiceError("恢复送电时间必须带时区", field="restored_at")
    with transaction.atomic():
        outage = Outage.objects.select_for_update().get(pk=outage.pk)
        if outage.status != OutageStatus.PUBLISHED:
            raise Conflict(f"该停电信息已{outage.get_status_display()}，不能恢复送电")
        if restored_at < outage.starts_at:
            raise ServiceError("恢复送电时间不能早于停电开始", field="restored_at")
        outage.status = OutageStatus.RESTORED
        outage.restored_at = restored_at
        outage.updated_at = now
        outage.revision += 1
        Message.objects.filter(
            notice__outage=outage, notice__kind=NoticeKind.OUTAGE_ETR, status=MessageStatus.QUEUED
        ).update(status=MessageStatus.SUPPRESSED, last_error="已恢复送电")
        notice = _queue_notice(
            kind=NoticeKind.OUTAGE_RESTORED,
            title=outage.title,
            customers=_active_customers(outage),
            channels=_check_channels(channels or _last_channels(outage)),
            context=_outage_context(outage),
            urgent=outage.kind == OutageKind.FAULT,
            legally_required=False,
            follow_up=False,
            audience_label=outage.scope_label,
            actor=actor,
            now=now,
            outage=outage,
        )
        outage.save()
        record_event(
            actor=actor,
            action="outage.restore",
            subject=outage,
            new={"status": outage.status, "restored_at": restored_at.isoformat()},
            note=note,
            at=now,
        )
    return notice


# --- announcements ----------------------------------------------------------------------------------------------


def announcement_send(
    *,
    title: str,
    text: str,
    audience: Audience,
    actor: Actor,
    channels: Sequence[str] | None = None,
    urgent: bool = False,
    legally_required: bool = False,
    follow_up: bool = False,
    allow_unknown_accounts: bool = False,
    now: dt.datetime | None = None,
) -> Notice:
    """Policy or price announcement (政策/电价公告) to an audience; optional follow-ups for key customers."""
    now = _now(now)
    if not title.strip():
        raise ServiceError("请填写标题", field="title")
    if not text.strip():
        raise ServiceError("请填写公告正文", field="text")
    chosen = _check_channels(channels)
    if audience.account_nos and not allow_unknown_accounts:
        missing = check_accounts(audience.account_nos)
        if missing:
            raise ServiceError(
                f"名单中有 {len(missing)} 个户号不存在：{'、'.join(missing[:10])}{'…' if len(missing) > 10 else ''}",
                field="account_nos",
            )
    with transaction.atomic():
        return _queue_notice(
            kind=NoticeKind.ANNOUNCEMENT,
            title=title.strip(),
            customers=audience,
            channels=chosen,
            context={"text": text.strip()},
            urgent=urgent,
            legally_required=legally_required,
            follow_up=follow_up,
            audience_label=audience.label(),
            actor=actor,
            now=now,
        )


# --- reminders --------------------------------------------------------------------------------------------------


def reminder_queue(
    *,
    kind: str,
    period: str,
    rows: Sequence[tuple[int, dict[str, Any]]],
    actor: Actor,
    channels: Sequence[str] | None = None,
    now: dt.datetime | None = None,
) -> Notice:
    """Queue one reminder kind for one period (e.g. payment_due for 2026-05) to (customer id, values) rows.

    Idempotent: the notice is found by its key and a customer already queued is skipped, so the daily
    scan can run any number of times.
    """
    now = _now(now)
    if kind not in {
        NoticeKind.BILL_ISSUED,
        NoticeKind.PAYMENT_DUE,
        NoticeKind.LOW_BALANCE,
        NoticeKind.ARREARS_DISCONNECT,
        NoticeKind.RECONNECTED,
    }:
        raise ServiceError(f"未知提醒类型 {kind}", field="kind")
    chosen = _check_channels(channels)
    config = get_config()
    # The 7-day disconnection notice is required by the supply rules; opt-outs do not apply to it.
    legally_required = kind == NoticeKind.ARREARS_DISCONNECT
    with transaction.atomic():
        notice, created = Notice.objects.get_or_create(
            dedupe_key=f"{kind}:{period}",
            defaults={
                "kind": kind,
                "title": f"{NoticeKind(kind).label}（{period}）",
                "channels": chosen,
                "context": {"hotline": config.hotline, "company": config.company, "month": period},
                "urgent": kind == NoticeKind.RECONNECTED,
                "legally_required": legally_required,
                "audience_label": "缴费数据",
                "created_at": now,
                "created_by": _actor_name(actor),
            },
        )
        next_at = rules.not_before(now, urgent=notice.urgent, start=config.quiet_start, end=config.quiet_end)
        ids = [cid for cid, _ in rows]
        opted: set[tuple[int, str]] = set()
        if not legally_required:
            for i in range(0, len(ids), 5000):
                opted |= set(
                    ChannelPreference.objects.filter(customer_id__in=ids[i : i + 5000], opted_out=True).values_list(
                        "customer_id", "channel"
                    )
                )
        messages = [
            Message(
                notice=notice,
                customer_id=cid,
                channel=ch,
                status=MessageStatus.SUPPRESSED if (cid, ch) in opted else MessageStatus.QUEUED,
                next_attempt_at=next_at,
                queued_at=now,
                params=values,
            )
            for cid, values in rows
            for ch in notice.channels
        ]
        before = notice.recipients
        Message.objects.bulk_create(messages, ignore_conflicts=True, batch_size=2000)
        notice.recipients = Message.objects.filter(notice=notice, channel=notice.channels[0]).count()
        notice.save(update_fields=["recipients"])
        record_event(
            actor=actor,
            action="notice.reminders",
            subject=notice,
            new={"kind": kind, "period": period, "added": notice.recipients - before, "created": created},
            at=now,
        )
    return notice


# --- preferences, templates, follow-ups, receipts ---------------------------------------------------------------


def preference_set(
    *,
    customer: Customer,
    channel: str,
    actor: Actor,
    address: str | None = None,
    opted_out: bool | None = None,
    now: dt.datetime | None = None,
) -> ChannelPreference:
    """A customer's e-mail address (or SMS number override) and opt-out for one channel."""
    now = _now(now)
    if channel not in CHANNELS:
        raise ServiceError(f"未知渠道 {channel}", field="channel")
    if address is not None and channel == "email" and address and "@" not in address:
        raise ServiceError("电子邮件地址格式不正确", field="address")
    with transaction.atomic():
        pref, _ = ChannelPreference.objects.select_for_update().get_or_create(
            customer=customer, channel=channel, defaults={"updated_at": now}
        )
        old = {"address": pref.address, "opted_out": pref.opted_out}
        if address is not None:
            pref.address = address.strip()[:200]
        if opted_out is not None:
            pref.opted_out = opted_out
        pref.updated_at = now
        pref.save()
        record_event(
            actor=actor,
            action="notice.preference",
            subject=customer,
            old={channel: old},
            new={channel: {"address": pref.address, "opted_out": pref.opted_out}},
            at=now,
        )
    return pref


def _template_check(kind: str, channel: str) -> None:
    if kind not in NoticeKind.values:
        raise ServiceError(f"未知通知类型 {kind}", field="kind")
    if channel not in CHANNELS:
        raise ServiceError(f"未知渠道 {channel}", field="channel")


def template_save(
    *, kind: str, channel: str, subject: str, body: str, actor: Actor, now: dt.datetime | None = None
) -> NoticeTemplate:
    """Replace the built-in text for one kind and channel. Unknown placeholders and brace mistakes are refused
    here, naming the culprit, so they never reach a customer (nor stop a delivery batch)."""
    now = _now(now)
    _template_check(kind, channel)
    if not subject.strip():
        raise ServiceError("标题模板不能为空", field="subject")
    if not body.strip():
        raise ServiceError("正文模板不能为空", field="body")
    for name, text in (("subject", subject), ("body", body)):
        try:
            rendering.validate(text)
        except rendering.TemplateError as exc:
            raise ServiceError(str(exc), field=name) from None
    with transaction.atomic():
        old = NoticeTemplate.objects.select_for_update().filter(kind=kind, channel=channel).first()
        tpl, _ = NoticeTemplate.objects.update_or_create(
            kind=kind, channel=channel, defaults={"subject": subject, "body": body, "updated_at": now}
        )
        record_event(
            actor=actor,
            action="notice.template",
            subject=tpl,
            old={"subject": old.subject, "body": old.body} if old else {},
            new={"subject": subject, "body": body},
            at=now,
        )
    return tpl


def template_reset(*, kind: str, channel: str, actor: Actor, now: dt.datetime | None = None) -> bool:
    """Go back to the built-in text; returns whether there was an edited template to drop."""
    now = _now(now)
    _template_check(kind, channel)
    with transaction.atomic():
        tpl = NoticeTemplate.objects.select_for_update().filter(kind=kind, channel=channel).first()
        if tpl is None:
            return False
        record_event(
            actor=actor,
            action="notice.template_reset",
            subject=tpl,
            old={"subject": tpl.subject, "body": tpl.body},
            new={},
            at=now,
        )
        tpl.delete()
    return True


def follow_up_complete(*, task: FollowUpTask, note: str, actor: Actor, now: dt.datetime | None = None) -> FollowUpTask:
    now = _now(now)
    with transaction.atomic():
        n = FollowUpTask.objects.filter(pk=task.pk, status=FollowUpTask.Status.OPEN).update(
            status=FollowUpTask.Status.DONE, done_at=now, note=note.strip()
        )
        if n == 0:
            raise Conflict("该跟进任务已完成")
        task.refresh_from_db()
        record_event(actor=actor, action="notice.follow_up_done", subject=task, note=note, at=now)
    return task


_RECEIPT_FINAL = {MessageStatus.DELIVERED, MessageStatus.FAILED}


def _receipt_message(channel: str, ref: str) -> Message | None:
    """The message a receipt is about: by the gateway's id, or by our own key when the gateway echoes it back
    (the only handle on a message whose worker died before recording the gateway's answer)."""
    msg = (
        Message.objects.select_for_update()
        .filter(channel=channel, provider_ref=ref)
        .exclude(status__in=[MessageStatus.QUEUED, MessageStatus.SUPPRESSED])
        .order_by("-id")
        .first()
    )
    if msg is not None:
        return msg
    parts = ref.split("-")
    if len(parts) == 4 and parts[0] == "gc" and parts[3] == channel and parts[1].isdigit() and parts[2].isdigit():
        return (
            Message.objects.select_for_update()
            .filter(notice_id=int(parts[1]), customer_id=int(parts[2]), channel=channel)
            .first()
        )
    return None


def message_mark_delivered(
    *, channel: str, provider_ref: str, delivered: bool, detail: str, actor: Actor, now: dt.datetime | None = None
) -> tuple[Message, bool]:
    """A delivery receipt from the gateway: sent → delivered, or sent → failed, with the gateway's words in the
    delivery log. Returns the message and whether this receipt changed it.

    A repeated receipt changes nothing; one that contradicts the recorded outcome is refused (Conflict). A
    receipt for a message parked as `uncertain` (its worker died inside the gateway call) settles it: the
    gateway did get it. Unknown refs are `NotFound`; nothing is written unless the whole receipt applies.
    """
    from gridcare.notices.models import DeliveryAttempt

    now = _now(now)
    if channel not in CHANNELS:
        raise NotFound(f"未知渠道 {channel}；可用：{', '.join(CHANNELS)}")
    ref = provider_ref.strip()
    if not ref:
        raise ServiceError("回执缺少网关编号 ref", field="ref")
    if len(ref) > 100 or not ref.isprintable():
        raise ServiceError("网关编号 ref 须为不超过 100 个可打印字符", field="ref")
    detail = "".join(ch for ch in detail if ch.isprintable() or ch in "\n\t").strip()[:2000]
    outcome = MessageStatus.DELIVERED if delivered else MessageStatus.FAILED
    with transaction.atomic():
        msg = _receipt_message(channel, ref)
        if msg is None:
            raise NotFound(f"没有网关编号为 {ref} 的{channel}消息")
        if msg.status in _RECEIPT_FINAL and msg.sent_at is not None:
            if msg.status == outcome:
                return msg, False  # the gateway repeated itself
            raise Conflict(
                f"消息 {ref} 已记录为{msg.get_status_display()}，与回执（{'已送达' if delivered else '失败'}）不一致"
            )
        if msg.status not in (MessageStatus.SENT, MessageStatus.UNCERTAIN):
            raise Conflict(f"消息 {ref} 当前为{msg.get_status_display()}，尚未发出，不能登记回执；请稍后重试")
        old = msg.status
        msg.status = outcome
        msg.lease_owner, msg.lease_until = "", None
        if old == MessageStatus.UNCERTAIN:
            msg.sent_at = msg.sent_at or now
        if delivered:
            msg.delivered_at = now
        else:
            msg.last_error = f"回执：{detail}"[:4000]
        msg.save(update_fields=["status", "lease_owner", "lease_until", "sent_at", "delivered_at", "last_error"])
        DeliveryAttempt.objects.create(
            message=msg,
            at=now,
            outcome=DeliveryAttempt.Outcome.DELIVERED if delivered else DeliveryAttempt.Outcome.FAILED,
            detail=f"回执（{ref}）：{detail or ('已送达' if delivered else '未送达')}"[:4000],
            worker=_actor_name(actor),
        )
    return msg, True


def reminders_queue_due(
    *, reminders: Sequence[Any], actor: Actor, channels: Sequence[str] | None = None, now: dt.datetime | None = None
) -> dict[str, int]:
    """Queue `reminders.Reminder` items (from payment data): one idempotent notice per kind and period."""
    now = _now(now)
    accounts = sorted({r.account_no for r in reminders})
    ids: dict[str, int] = {}
    for i in range(0, len(accounts), 5000):
        ids.update(Customer.objects.filter(account_no__in=accounts[i : i + 5000]).values_list("account_no", "id"))
    groups: dict[tuple[str, str], list[tuple[int, dict[str, Any]]]] = {}
    for r in reminders:
        cid = ids.get(r.account_no)
        if cid is not None:
            groups.setdefault((r.kind, r.period), []).append((cid, r.values))
    counts: dict[str, int] = {}
    for (kind, period), rows in sorted(groups.items()):
        reminder_queue(kind=kind, period=period, rows=rows, actor=actor, channels=channels, now=now)
        counts[kind] = counts.get(kind, 0) + len(rows)
    return counts
