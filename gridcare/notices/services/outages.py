"""Outages and what their customers are told: publish, change, cancel, fault outages from repair, ETR, restore.

The repair app uses `outage_publish_fault`, `outage_add_callers`, `outage_update_etr` and `outage_restore`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from gridcare.core.audit import record_event
from gridcare.core.errors import Conflict, ServiceError
from gridcare.customers.models import Customer, CustomerStatus
from gridcare.grid.models import Feeder, ServicePoint, TransformerArea
from gridcare.notices import rules
from gridcare.notices.audiences import network_q
from gridcare.notices.config import get_config
from gridcare.notices.models import (
    Message,
    MessageStatus,
    Notice,
    NoticeKind,
    Outage,
    OutageCustomer,
    OutageKind,
    OutageStatus,
)
from gridcare.notices.services.common import Actor, check_channels, checked_now, iso
from gridcare.notices.services.queue import insert_select, queue_notice
from gridcare.org.models import OrgUnit

OUTAGE_FIELDS = ["kind", "status", "title", "cause", "starts_at", "ends_at", "etr", "restored_at", "scope_label"]


# --- outages ----------------------------------------------------------------------------------------------------


def _scope_label(feeders: Sequence[Feeder], areas: Sequence[TransformerArea], sps: Sequence[ServicePoint]) -> str:
    parts = [f"{f.name}（全线）" for f in feeders[:10]]
    parts += [a.name for a in areas[:20]]
    parts += [sp.address or sp.code for sp in sps[:10]]
    more = max(len(feeders) - 10, 0) + max(len(areas) - 20, 0) + max(len(sps) - 10, 0)
    label = "、".join(parts) + (f" 等 {more} 处" if more else "")
    return label[:500]


def outage_context(outage: Outage) -> dict[str, Any]:
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
    insert_select(
        model=OutageCustomer,
        fields=("outage", "customer", "active", "is_caller"),
        select_sql=f"SELECT %s, sub.id, %s, %s FROM ({sql}) sub",  # noqa: S608 - ORM subquery, bound values
        params=[outage.pk, True, False, *params],
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
    now = checked_now(now)
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
    now = checked_now(now)
    chosen = check_channels(channels)
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
        notice = queue_notice(
            kind=NoticeKind.OUTAGE_PUBLISHED,
            title=outage.title,
            customers=_active_customers(outage),
            channels=chosen,
            context=outage_context(outage),
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
    now = checked_now(now)
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
            chosen = check_channels(channels or _last_channels(outage))
            outage.revision += 1
            context = outage_context(outage)
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
                    queue_notice(
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
                        queue_notice(
                            kind=NoticeKind.OUTAGE_PUBLISHED,
                            customers=added,
                            follow_up=True,
                            audience_label="范围调整新增",
                            **common,  # type: ignore[arg-type]
                        )
                    )
                if removed.exists():
                    notices.append(
                        queue_notice(
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
    now = checked_now(now)
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
            notice = queue_notice(
                kind=NoticeKind.OUTAGE_CANCELLED,
                title=outage.title,
                customers=_active_customers(outage),
                channels=check_channels(channels or _last_channels(outage)),
                context={**outage_context(outage), "reason": reason.strip()},
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
    now = checked_now(now)
    chosen = check_channels(channels)
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
            new={"affected": outage.affected_count, "etr": iso(etr), "source_ref": source_ref},
            at=now,
        )
        if notify_affected:
            queue_notice(
                kind=NoticeKind.OUTAGE_ETR,
                title=outage.title,
                customers=_active_customers(outage),
                channels=chosen,
                context=outage_context(outage),
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
    now = checked_now(now)
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
    now = checked_now(now)
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
            notice = queue_notice(
                kind=NoticeKind.OUTAGE_ETR,
                title=outage.title,
                customers=_active_customers(outage),
                channels=check_channels(channels or _last_channels(outage)),
                context={**outage_context(outage), "reason": outage.cause or reason.strip()},
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
            old={"etr": iso(old)},
            new={"etr": iso(etr)},
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
    now = checked_now(now)
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
        notice = queue_notice(
            kind=NoticeKind.OUTAGE_RESTORED,
            title=outage.title,
            customers=_active_customers(outage),
            channels=check_channels(channels or _last_channels(outage)),
            context=outage_context(outage),
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
