"""Delivery: claim queued messages, send them through their channel, and log every outcome.

A message moves queued → claimed (a batch, leased to one worker) → sending (one row, just before the provider
is called) → sent/delivered, or back to queued with back-off, or to dead after N failures. Each step is a
compare-and-swap on (status, lease_owner), so two workers never hold the same message, and the unique
(notice, customer, channel) row means there is nothing else to send twice. If a worker dies, its expired
`claimed` rows were never attempted and go back to the queue; an expired `sending` row may have reached the
provider, so it is re-sent only on channels that are idempotent (the same key dedupes) and otherwise parked
as `uncertain` for a person to check — never sent twice.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading
import uuid
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F

from gridcare.core import metrics
from gridcare.notices import rendering, rules
from gridcare.notices.channels import (
    Envelope,
    NoticeChannel,
    PermanentError,
    SendResult,
    TransientError,
    build_channel,
    channel_names,
)
from gridcare.notices.config import NoticeConfig, get_config
from gridcare.notices.models import (
    ChannelQuota,
    DeliveryAttempt,
    Message,
    MessageStatus,
    NoticeTemplate,
)

Outcome = DeliveryAttempt.Outcome


def worker_id() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{threading.get_ident() % 100000}:{uuid.uuid4().hex[:8]}"


def quota_take(*, channel: str, now: dt.datetime, want: int, rate_per_minute: int) -> int:
    """Grant up to `want` sends in the current minute; every worker shares the one counter row."""
    if rate_per_minute <= 0:
        return want
    minute = now.replace(second=0, microsecond=0)
    try:
        ChannelQuota.objects.get_or_create(channel=channel, defaults={"window_start": minute, "used": 0})
    except IntegrityError:
        pass  # another worker created it first
    with transaction.atomic():
        quota = ChannelQuota.objects.select_for_update().get(channel=channel)
        if quota.window_start < minute:
            quota.window_start, quota.used = minute, 0
        grant = max(0, min(want, rate_per_minute - quota.used))
        quota.used += grant
        quota.save()
    return grant


def quota_return(*, channel: str, unused: int) -> None:
    if unused > 0:
        ChannelQuota.objects.filter(channel=channel, used__gte=unused).update(used=F("used") - unused)


def claim(*, channel: str, now: dt.datetime, limit: int, owner: str, lease: dt.timedelta) -> list[Message]:
    """Lease up to `limit` due messages of one channel to `owner`."""
    if limit <= 0:
        return []
    with transaction.atomic():
        due = Message.objects.filter(status=MessageStatus.QUEUED, channel=channel, next_attempt_at__lte=now)
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        ids = list(due.order_by("next_attempt_at", "id").values_list("id", flat=True)[:limit])
        if not ids:
            return []
        # The status filter makes this a compare-and-swap even where SELECT … FOR UPDATE is not available.
        Message.objects.filter(id__in=ids, status=MessageStatus.QUEUED).update(
            status=MessageStatus.CLAIMED, lease_owner=owner, lease_until=now + lease
        )
    return list(
        Message.objects.filter(id__in=ids, status=MessageStatus.CLAIMED, lease_owner=owner)
        .select_related("customer", "notice")
        .order_by("id")
    )


def _templates() -> dict[tuple[str, str], rendering.Template]:
    return {
        (t.kind, t.channel): rendering.Template(t.subject, t.body)
        for t in NoticeTemplate.objects.all().only("kind", "channel", "subject", "body")
    }


def template_for(kind: str, channel: str, edited: dict[tuple[str, str], rendering.Template]) -> rendering.Template:
    return edited.get((kind, channel)) or rendering.DEFAULTS[kind]


def render_message(message: Message, edited: dict[tuple[str, str], rendering.Template]) -> tuple[str, str]:
    values: dict[str, Any] = {
        **message.notice.context,
        **(message.params or {}),
        "customer_name": message.customer.name,
        "account_no": message.customer.account_no,
    }
    return rendering.render(template_for(message.notice.kind, message.channel, edited), values)


def _result_update(
    m: Message, outcome: SendResult | tuple[str, bool], now: dt.datetime, config: NoticeConfig
) -> tuple[dict[str, Any], str, str]:
    """The row update and log entry for one finished send: a provider result, or (error, permanent)."""
    if isinstance(outcome, SendResult):
        status = MessageStatus.DELIVERED if outcome.delivered else MessageStatus.SENT
        fields: dict[str, Any] = {
            "status": status,
            "sent_at": now,
            "delivered_at": now if outcome.delivered else None,
            "provider_ref": outcome.provider_ref[:100],
            "response": outcome.response[:4000],
            "lease_until": None,
        }
        return fields, Outcome.DELIVERED if outcome.delivered else Outcome.SENT, outcome.response
    error, permanent = outcome
    attempts = m.attempts + 1
    if permanent:
        status, log_outcome, next_at = MessageStatus.FAILED, Outcome.FAILED, now
    elif attempts >= config.max_attempts:
        status, log_outcome, next_at = MessageStatus.DEAD, Outcome.DEAD, now
    else:
        status, log_outcome = MessageStatus.QUEUED, Outcome.RETRY
        next_at = now + rules.backoff(attempts, config.backoff_seconds)
    fields = {
        "status": status,
        "next_attempt_at": next_at,
        "last_error": error[:4000],
        "lease_owner": "",
        "lease_until": None,
    }
    return fields, log_outcome, error


def _flush(
    pending: list[tuple[Message, SendResult | tuple[str, bool]]], now: dt.datetime, owner: str, config: NoticeConfig
) -> None:
    """Write finished sends (call inside a transaction). Only rows this worker still holds are changed."""
    logs = []
    for m, outcome in pending:
        fields, log_outcome, detail = _result_update(m, outcome, now, config)
        n = Message.objects.filter(pk=m.pk, status=MessageStatus.SENDING, lease_owner=owner).update(**fields)
        if n:
            logs.append(
                DeliveryAttempt(message_id=m.pk, at=now, outcome=log_outcome, detail=detail[:4000], worker=owner)
            )
            metrics.notice_outcome(m.channel, str(log_outcome))
    DeliveryAttempt.objects.bulk_create(logs)
    pending.clear()


def _attempt(sender: Any, envelope: Envelope) -> SendResult | tuple[str, bool]:
    try:
        return sender.send(envelope)
    except PermanentError as exc:
        return str(exc), True
    except TransientError as exc:
        return str(exc), False
    except Exception as exc:  # a bug in a channel must not stop the batch; it is retried like a timeout
        return f"{type(exc).__name__}: {exc}", False


def _mark_sending(
    messages: Iterable[Message], rendered: dict[int, tuple[str, str, str]], owner: str, lease_until: dt.datetime
) -> set[int]:
    """Claimed → sending, row by row with a compare-and-swap (call inside a transaction); returns the rows still
    held. Once a row is `sending`, only its owner may finish it: the step that makes "never twice" hold."""
    held = set()
    for m in messages:
        _, body, address = rendered[m.pk]
        if Message.objects.filter(pk=m.pk, status=MessageStatus.CLAIMED, lease_owner=owner).update(
            status=MessageStatus.SENDING,
            attempts=F("attempts") + 1,
            address=address[:200],
            body=body,
            lease_until=lease_until,
        ):
            held.add(m.pk)
    return held


def _envelope(m: Message, rendered: dict[int, tuple[str, str, str]], now: dt.datetime) -> Envelope:
    subject, body, address = rendered[m.pk]
    return Envelope(
        message_id=m.pk,
        key=m.idempotency_key,
        to=address,
        subject=subject,
        body=body,
        customer_id=m.customer_id,
        account_no=m.customer.account_no,
        sent_at=now,
    )


def _send_concurrently(
    *,
    messages: list[Message],
    rendered: dict[int, tuple[str, str, str]],
    held: set[int],
    channel: NoticeChannel,
    now: dt.datetime,
    owner: str,
    config: NoticeConfig,
    concurrency: int,
    lease_until: dt.datetime,
) -> int:
    """Up to `concurrency` provider calls in flight, each thread with its own sender (an SMTP connection is not
    shared); every database write stays on this thread's connection, so SQLite sees one writer.

    Non-idempotent channels keep "committed as `sending` before the provider is called": each commit records the
    results that came back and marks as many next messages as there are free slots, so a crash leaves at most
    `concurrency` rows `uncertain` (one with concurrency 1). Idempotent rows were all marked before.
    """
    local = threading.local()
    opened: list[Any] = []
    opened_lock = threading.Lock()

    def call(envelope: Envelope) -> SendResult | tuple[str, bool]:
        sender = getattr(local, "sender", None)
        if sender is None:
            sender = local.sender = channel.open()
            with opened_lock:
                opened.append(sender)
        return _attempt(sender, envelope)

    waiting = [m for m in messages if not channel.idempotent or m.pk in held]
    pending: list[tuple[Message, SendResult | tuple[str, bool]]] = []
    in_flight: dict[Future[SendResult | tuple[str, bool]], Message] = {}
    handled = 0
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=f"notices-{channel.name}")
    try:
        while waiting or in_flight:
            free = concurrency - len(in_flight)
            batch, waiting = waiting[:free], waiting[free:]
            if not channel.idempotent and (batch or len(pending) >= 100):
                with transaction.atomic():
                    _flush(pending, now, owner, config)
                    held |= _mark_sending(batch, rendered, owner, lease_until)
            elif len(pending) >= 100:
                with transaction.atomic():
                    _flush(pending, now, owner, config)
            for m in batch:
                if m.pk in held:  # otherwise the lease expired and another worker took it
                    in_flight[pool.submit(call, _envelope(m, rendered, now))] = m
            if not in_flight:
                continue
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                pending.append((in_flight.pop(future), future.result()))
                handled += 1
    finally:
        pool.shutdown(wait=True)
        for sender in opened:
            sender.close()
    if pending:
        with transaction.atomic():
            _flush(pending, now, owner, config)
    return handled


def send_claimed(
    *, messages: Iterable[Message], channel: NoticeChannel, now: dt.datetime, owner: str, config: NoticeConfig
) -> int:
    """Send each claimed message once; returns how many were handled (sent or failed).

    Non-idempotent channels (SMS without gateway dedupe, e-mail): each message is marked `sending` in its own
    commit before the provider is called — that commit also records the previous message's result, so it is
    one commit per message. Idempotent channels mark the whole batch at once and record results in groups:
    after a crash their rows are simply sent again. With the channel's concurrency above 1 the provider calls
    overlap (`_send_concurrently`).
    """
    messages = list(messages)
    if not messages:
        return 0
    addresses = channel.addresses(messages)
    edited = _templates()
    lease_until = now + dt.timedelta(seconds=config.lease_seconds)
    rendered: dict[int, tuple[str, str, str]] = {}
    for m in messages:
        subject, body = render_message(m, edited)
        address = addresses.get(m.customer_id, "")
        rendered[m.pk] = (subject, body, address)
    pending: list[tuple[Message, SendResult | tuple[str, bool]]] = []
    handled = 0
    held: set[int] = set()
    if channel.idempotent:
        with transaction.atomic():
            held |= _mark_sending(messages, rendered, owner, lease_until)
    concurrency = max(1, config.concurrency.get(channel.name, 1))
    if concurrency > 1 and len(messages) > 1:
        return _send_concurrently(
            messages=messages, rendered=rendered, held=held, channel=channel, now=now, owner=owner, config=config,
            concurrency=concurrency, lease_until=lease_until,
        )  # fmt: skip
    sender = channel.open()
    try:
        for m in messages:
            subject, body, address = rendered[m.pk]
            if not channel.idempotent:
                # The step that makes "never twice" hold: once a row is `sending`, only its owner may finish it.
                with transaction.atomic():
                    _flush(pending, now, owner, config)
                    held |= _mark_sending([m], rendered, owner, lease_until)
            if m.pk not in held:
                continue  # the lease expired and another worker took it
            pending.append((m, _attempt(sender, _envelope(m, rendered, now))))
            handled += 1
            if channel.idempotent and len(pending) >= 100:
                with transaction.atomic():
                    _flush(pending, now, owner, config)
    finally:
        sender.close()
    if pending:
        with transaction.atomic():
            _flush(pending, now, owner, config)
    return handled


def deliver_batch(
    *,
    channel: str,
    now: dt.datetime,
    limit: int | None = None,
    owner: str | None = None,
    channel_impl: NoticeChannel | None = None,
    config: NoticeConfig | None = None,
) -> int:
    """One batch of one channel: take rate-limit quota, claim, send. Returns how many messages were handled."""
    config = config or get_config()
    owner = owner or worker_id()
    want = limit or config.batch_size
    grant = quota_take(channel=channel, now=now, want=want, rate_per_minute=config.rate_per_minute.get(channel, 0))
    claimed = claim(
        channel=channel, now=now, limit=grant, owner=owner, lease=dt.timedelta(seconds=config.lease_seconds)
    )
    if config.rate_per_minute.get(channel, 0) > 0:
        quota_return(channel=channel, unused=grant - len(claimed))
    impl = channel_impl or build_channel(channel, config)
    return send_claimed(messages=claimed, channel=impl, now=now, owner=owner, config=config)


def deliver_all(now: dt.datetime, config: NoticeConfig | None = None) -> int:
    config = config or get_config()
    return sum(deliver_batch(channel=ch, now=now, config=config) for ch in channel_names() if config.configured(ch))


def reap_expired(now: dt.datetime, config: NoticeConfig | None = None) -> int:
    """Leases of dead workers: never-attempted rows go back to the queue; in-flight rows are re-sent only on
    idempotent channels and otherwise parked as `uncertain`."""
    config = config or get_config()
    owner = "reaper:" + worker_id()
    handled = 0
    with transaction.atomic():
        expired = Message.objects.filter(
            status__in=[MessageStatus.CLAIMED, MessageStatus.SENDING], lease_until__lt=now
        ).order_by("id")
        if connection.features.has_select_for_update_skip_locked:
            expired = expired.select_for_update(skip_locked=True)
        rows = list(expired.values_list("id", "status", "channel")[:1000])
        logs = []
        for mid, status, ch in rows:
            if status == MessageStatus.CLAIMED or (config.configured(ch) and build_channel(ch, config).idempotent):
                new_status, outcome = MessageStatus.QUEUED, Outcome.REQUEUED
                detail = "领取超时，重新排队" if status == MessageStatus.CLAIMED else "发送中断，渠道可去重，重新发送"
            else:
                new_status, outcome = MessageStatus.UNCERTAIN, Outcome.UNCERTAIN
                detail = "发送中断，无法确认是否已送出；为避免重复发送，不再自动重发，请人工核实"
            n = Message.objects.filter(pk=mid, status=status, lease_until__lt=now).update(
                status=new_status, lease_owner="", lease_until=None
            )
            if n:
                handled += 1
                logs.append(DeliveryAttempt(message_id=mid, at=now, outcome=outcome, detail=detail, worker=owner))
        DeliveryAttempt.objects.bulk_create(logs)
    return handled
