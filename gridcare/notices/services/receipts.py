"""Delivery receipts from the gateways: sent → delivered or failed, in the delivery log."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from gridcare.core.errors import Conflict, NotFound, ServiceError
from gridcare.notices.channels import channel_class, channel_names
from gridcare.notices.models import (
    Message,
    MessageStatus,
)
from gridcare.notices.services.common import Actor, actor_name, checked_now

_RECEIPT_FINAL = {MessageStatus.DELIVERED, MessageStatus.FAILED}


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

    now = checked_now(now)
    cls = channel_class(channel)
    if cls is None:
        raise NotFound(f"未知渠道 {channel}；可用：{', '.join(channel_names())}")
    ref = provider_ref.strip()
    if not ref:
        raise ServiceError("回执缺少网关编号 ref", field="ref")
    if len(ref) > 100 or not ref.isprintable():
        raise ServiceError("网关编号 ref 须为不超过 100 个可打印字符", field="ref")
    detail = "".join(ch for ch in detail if ch.isprintable() or ch in "\n\t").strip()[:2000]
    outcome = MessageStatus.DELIVERED if delivered else MessageStatus.FAILED
    with transaction.atomic():
        msg = cls.receipt_message(ref)
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
            worker=actor_name(actor),
        )
    return msg, True
