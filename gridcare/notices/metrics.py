"""The notice queue depth at /metrics, counted when scraped (registered by NoticesConfig.ready)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count

from gridcare.core.metrics import register_scrape_gauge
from gridcare.notices.models import Message, MessageStatus


def queue_depth() -> Iterable[tuple[tuple[str, ...], float]]:
    # (status, channel) is the prefix of message_due_idx: an index-only count per channel.
    rows = Message.objects.filter(status=MessageStatus.QUEUED).values("channel").annotate(n=Count("pk"))
    return [((row["channel"],), float(row["n"])) for row in rows.order_by("channel")]


def register() -> None:
    register_scrape_gauge(
        "gridcare_notice_queue_depth", "Messages queued and not yet sent, by channel.", queue_depth, labels=("channel",)
    )
