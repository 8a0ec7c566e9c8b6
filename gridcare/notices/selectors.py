"""Reads of the notices app: outages and logs within the user's data scope, and the public outage feed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet

from gridcare.core.errors import NotFound, ServiceError
from gridcare.customers.models import Customer
from gridcare.grid.models import District, Feeder, ServicePoint, TransformerArea
from gridcare.notices import delivery, rendering, rules
from gridcare.notices.channels import channel_choices, channel_class
from gridcare.notices.models import (
    FollowUpTask,
    InAppMessage,
    Message,
    Notice,
    NoticeKind,
    NoticeTemplate,
    Outage,
    OutageKind,
    OutageStatus,
)
from gridcare.org import policy
from gridcare.org.scope import unit_filter


def outages_visible(*, user: Any) -> QuerySet[Outage]:
    return Outage.objects.filter(unit_filter(user, "unit"))


def outage_get(*, user: Any, pk: int, action: str | None = None) -> Outage:
    """The outage within the user's scope; for an `action` of the policy table (`outage.edit`), also held by the
    user's own unit, or the role's 403. Another unit's outage answers exactly like a missing one."""
    if action is not None:
        policy.require_role(user, action)
    missing = f"停电信息 {pk} 不存在或不在您的数据范围内"
    outage = outages_visible(user=user).select_related("unit").filter(pk=pk).first()
    if outage is None:
        raise NotFound(missing)
    if action is not None:
        policy.authorize(user, action, holder=outage.unit, missing=missing)
    return outage


def notices_visible(*, user: Any) -> QuerySet[Notice]:
    """Outage notices follow the outage's unit; announcements and reminders are visible to every signed-in user."""
    if not getattr(user, "is_authenticated", False):
        return Notice.objects.none()
    return Notice.objects.filter(Q(outage__isnull=True) | Q(outage__in=outages_visible(user=user)))


def notice_get(*, user: Any, pk: int) -> Notice:
    notice = notices_visible(user=user).filter(pk=pk).first()
    if notice is None:
        raise NotFound(f"通知 {pk} 不存在或不在您的数据范围内")
    return notice


def notice_stats(notice: Notice) -> dict[str, dict[str, int]]:
    """Counts per channel and status: the notice's delivery log at a glance."""
    stats: dict[str, dict[str, int]] = {}
    rows = Message.objects.filter(notice=notice).values("channel", "status").annotate(n=Count("id"))
    for row in rows:
        stats.setdefault(row["channel"], {})[row["status"]] = row["n"]
    return stats


def notice_messages(notice: Notice, *, status: str = "", limit: int = 200) -> list[Message]:
    qs = Message.objects.filter(notice=notice).select_related("customer").order_by("id")
    if status:
        qs = qs.filter(status=status)
    return list(qs[:limit])


def resolve_scope(
    *, user: Any, feeder_codes: Sequence[str], area_codes: Sequence[str], service_point_codes: Sequence[str]
) -> tuple[list[Feeder], list[TransformerArea], list[ServicePoint]]:
    """Network codes typed by a person → elements in their data scope; unknown codes are named in the error."""

    def pick(model: Any, codes: Sequence[str], field: str, unit_path: str, label: str) -> list[Any]:
        codes = [c.strip() for c in codes if c.strip()]
        found = {o.code: o for o in model.objects.filter(unit_filter(user, unit_path), code__in=codes)}
        missing = [c for c in codes if c not in found]
        if missing:
            raise ServiceError(f"{label}不存在或不在您的数据范围内：{'、'.join(missing[:10])}", field=field)
        return [found[c] for c in dict.fromkeys(codes)]

    return (
        pick(Feeder, feeder_codes, "feeders", "unit", "线路"),
        pick(TransformerArea, area_codes, "areas", "unit", "台区"),
        pick(ServicePoint, service_point_codes, "service_points", "transformer_area__unit", "计量点"),
    )


def customer_messages(*, customer: Customer, limit: int = 50) -> list[Message]:
    return list(
        Message.objects.filter(customer=customer).select_related("notice").order_by("-queued_at", "-id")[:limit]
    )


def customer_inbox(*, customer: Customer, limit: int = 50) -> list[InAppMessage]:
    return list(InAppMessage.objects.filter(customer=customer)[:limit])


def customer_current_outages(*, customer: Customer) -> list[Outage]:
    return list(
        Outage.objects.filter(
            status=OutageStatus.PUBLISHED, customers__customer=customer, customers__active=True
        ).order_by("starts_at")
    )


def follow_ups_visible(*, user: Any) -> QuerySet[FollowUpTask]:
    """An account manager sees the tasks assigned to them by name (wherever the customer is), and the tasks that
    name nobody held by their own unit or one under it (the unit's queue, which its people work); shift leads
    see every task of their scope; administrators every task."""
    if not getattr(user, "is_authenticated", False):
        return FollowUpTask.objects.none()
    tasks = FollowUpTask.objects.select_related("customer", "notice", "assignee")
    if user.sees_everything:
        return tasks
    mine = Q(assignee=user)
    own = getattr(getattr(user, "unit", None), "path", "")
    if own:
        mine |= Q(assignee__isnull=True, unit__path__startswith=own)
    if policy.may(user, "notice.follow_up"):
        mine |= unit_filter(user, "unit")
    return tasks.filter(mine)


def follow_up_get(*, user: Any, pk: int) -> FollowUpTask:
    """A task the user may complete: their own by name, or one in their own unit's queue; otherwise the policy
    decides as everywhere: the role first (403, saying nothing about the task), then the task within reach (404
    like a missing one)."""
    missing = f"跟进任务 {pk} 不存在或不在您的数据范围内"
    task = FollowUpTask.objects.select_related("unit", "customer").filter(pk=pk).first()
    if task is not None and (
        task.assignee_id == user.pk or (task.assignee_id is None and policy.holds(user, task.unit))
    ):
        return task
    policy.require_role(user, "notice.follow_up")
    if task is None or not follow_ups_visible(user=user).filter(pk=pk).exists():
        raise NotFound(missing)
    policy.authorize(user, "notice.follow_up", holder=task.unit, missing=missing)
    return task


def preview(*, notice_kind: str, channel: str, context: dict[str, Any], customer: Customer | None) -> dict[str, Any]:
    """What one customer would receive, rendered with the live template, before anything is queued."""
    edited = delivery._templates()
    values = {
        **context,
        "customer_name": customer.name if customer else "张三",
        "account_no": customer.account_no if customer else "3300000001",
    }
    subject, body = rendering.render(delivery.template_for(notice_kind, channel, edited), values)
    cls = channel_class(channel)
    return {
        "channel": channel,
        "subject": subject,
        "body": body,
        "label": str(cls.label) if cls else channel,
        "shows_subject": cls.shows_subject if cls else True,
    }


# --- public outage information ----------------------------------------------------------------------------------


def public_outages(*, now: dt.datetime, district: str = "", kind: str = "") -> list[Outage]:
    """Planned and current outages anyone may see: published and not yet over, or restored/cancelled within a day."""
    recent = now - dt.timedelta(days=1)
    qs = Outage.objects.filter(
        Q(status=OutageStatus.PUBLISHED, ends_at__isnull=True)
        | Q(status=OutageStatus.PUBLISHED, ends_at__gte=now)
        | Q(
            status__in=[OutageStatus.RESTORED, OutageStatus.CANCELLED],
            updated_at__gte=recent,
            published_at__isnull=False,
        )
    )
    if district:
        qs = qs.filter(districts__code=district)
    if kind:
        qs = qs.filter(kind=kind)
    return list(qs.prefetch_related("districts").distinct().order_by("starts_at", "id"))


def public_districts() -> list[District]:
    return list(District.objects.order_by("code"))


def public_record(outage: Outage, *, now: dt.datetime) -> dict[str, Any]:
    current = outage.status == OutageStatus.PUBLISHED and outage.starts_at <= now
    if outage.status == OutageStatus.RESTORED:
        state = "restored"
    elif outage.status == OutageStatus.CANCELLED:
        state = "cancelled"
    else:
        state = "current" if current else "upcoming"
    return {
        "id": outage.pk,
        "kind": outage.kind,
        "kind_label": str(OutageKind(outage.kind).label),
        "planned": outage.kind != OutageKind.FAULT,
        "state": state,
        "title": outage.title,
        "scope": outage.scope_label,
        "districts": [{"code": d.code, "name": d.name} for d in outage.districts.all()],
        "starts_at": outage.starts_at.isoformat(),
        "ends_at": outage.ends_at.isoformat() if outage.ends_at else None,
        "window": rules.format_window(outage.starts_at, outage.ends_at),
        "cause": outage.cause,
        "etr": outage.etr.isoformat() if outage.etr else None,
        "restored_at": outage.restored_at.isoformat() if outage.restored_at else None,
        "etr_display": rules.format_local(outage.etr) if outage.etr else "",
        "last_update_display": rules.format_local(outage.updated_at),
        "affected_customers": outage.affected_count,
        "last_update": outage.updated_at.isoformat(),
    }


# --- templates --------------------------------------------------------------------------------------------------

# What a template is previewed with when no real notice of its kind is at hand.
_SAMPLE_VALUES: dict[str, str] = {
    "window": "2026-10-18 08:00 至 18:00",
    "scope": "10kV 城北一线（全线）",
    "reason": "线路设备检修",
    "etr": "2026-10-18 18:00",
    "title": "10kV 城北一线停电检修",
    "amount": "235.60",
    "due_date": "2026-10-25",
    "balance": "12.40",
    "disconnect_date": "2026-10-15",
    "month": "2026-09",
    "text": "自 11 月 1 日起执行新的居民分时电价。",
}
_OUTAGE_KINDS = {k for k in NoticeKind.values if k.startswith("outage_")}


@dataclass(frozen=True)
class TemplateRow:
    kind: str
    kind_label: str
    channel: str
    channel_label: str
    edited: NoticeTemplate | None
    template: rendering.Template

    @property
    def shows_subject(self) -> bool:
        cls = channel_class(self.channel)
        return cls.shows_subject if cls else True


def template_rows(*, kind: str = "", channel: str = "") -> list[TemplateRow]:
    """Every kind × channel with the text in use: the edited template or the built-in one."""
    edited = {(t.kind, t.channel): t for t in NoticeTemplate.objects.all()}
    rows = []
    for k in NoticeKind:
        for ch, ch_label in channel_choices():
            if (kind and k.value != kind) or (channel and ch != channel):
                continue
            tpl = edited.get((k.value, ch))
            text = rendering.Template(tpl.subject, tpl.body) if tpl else rendering.DEFAULTS[k.value]
            rows.append(TemplateRow(k.value, str(k.label), ch, ch_label, tpl, text))
    return rows


def template_sample(*, user: Any, kind: str, account_no: str = "") -> tuple[dict[str, Any], str]:
    """Placeholder values for previewing a template of `kind`: a real customer in the user's scope (the one asked
    for, or the first) and, for outage notices, the latest outage the user can see; the rest from a fixed sample.
    Returns the values and a line saying where they came from."""
    from gridcare.customers.selectors import customer_get, customers_visible
    from gridcare.notices.config import get_config
    from gridcare.notices.services import outage_context

    config = get_config()
    values: dict[str, Any] = {**_SAMPLE_VALUES, "hotline": config.hotline, "company": config.company}
    said = []
    customer: Customer | None
    if account_no.strip():
        customer = customer_get(user=user, account_no=account_no.strip())  # NotFound names the account
    else:
        customer = customers_visible(user=user).order_by("account_no").first()
    if customer is not None:
        values |= {"customer_name": customer.name, "account_no": customer.account_no}
        said.append(f"客户 {customer.name}（户号 {customer.account_no}）")
    else:
        values |= {"customer_name": "张三", "account_no": "3300000001"}
        said.append("示例客户 张三")
    if kind in _OUTAGE_KINDS:
        outage = outages_visible(user=user).exclude(status=OutageStatus.DRAFT).order_by("-updated_at", "-id").first()
        if outage is not None:
            values |= outage_context(outage)
            said.append(f"停电“{outage.title}”")
    return values, "以" + "、".join(said) + "为例；其余为示例数据"
