"""Bill and balance reminders: one idempotent notice per kind and period."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.db import transaction

from gridcare.core.audit import record_event
from gridcare.core.errors import ServiceError
from gridcare.customers.models import Customer
from gridcare.notices import rules
from gridcare.notices.config import get_config
from gridcare.notices.models import (
    ChannelPreference,
    Message,
    MessageStatus,
    Notice,
    NoticeKind,
)
from gridcare.notices.services.common import Actor, actor_name, check_channels, checked_now

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
    now = checked_now(now)
    if kind not in {
        NoticeKind.BILL_ISSUED,
        NoticeKind.PAYMENT_DUE,
        NoticeKind.LOW_BALANCE,
        NoticeKind.ARREARS_DISCONNECT,
        NoticeKind.RECONNECTED,
    }:
        raise ServiceError(f"未知提醒类型 {kind}", field="kind")
    chosen = check_channels(channels)
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
                "created_by": actor_name(actor),
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


def reminders_queue_due(
    *, reminders: Sequence[Any], actor: Actor, channels: Sequence[str] | None = None, now: dt.datetime | None = None
) -> dict[str, int]:
    """Queue `reminders.Reminder` items (from payment data): one idempotent notice per kind and period."""
    now = checked_now(now)
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
