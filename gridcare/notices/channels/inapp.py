"""In-app messages: a row shown on the customer portal and in the customer 360."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

from gridcare.notices.channels.base import (
    Envelope,
    NoticeChannel,
    Sender,
    SendResult,
    register,
)

if TYPE_CHECKING:
    from gridcare.notices.config import NoticeConfig


class _InAppSender:
    def send(self, envelope: Envelope) -> SendResult:
        from gridcare.notices.models import InAppMessage

        # One row per message (a one-to-one): writing it again after a crash changes nothing.
        row, created = InAppMessage.objects.get_or_create(
            message_id=envelope.message_id,
            defaults={
                "customer_id": envelope.customer_id,
                "title": envelope.subject[:200],
                "body": envelope.body,
                "created_at": envelope.sent_at,
            },
        )
        return SendResult(provider_ref=f"inapp-{row.pk}", response="created" if created else "exists", delivered=True)

    def close(self) -> None:
        return None


@register
class InAppChannel(NoticeChannel):
    name = "inapp"
    order = 30
    label = _("站内消息")
    rate_setting = "GRIDCARE_INAPP_RATE_PER_MINUTE"
    idempotent = True
    # Sending writes a database row: it stays on the worker's own connection (default concurrency 1).

    def __init__(self, config: NoticeConfig | None = None) -> None:
        super().__init__(config)  # type: ignore[arg-type]  # needs no settings

    def open(self) -> Sender:
        return _InAppSender()
