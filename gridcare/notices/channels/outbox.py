"""A file outbox: one JSON file per message under GRIDCARE_OUTBOX_DIR/<day>/, for a print shop or a batch upload."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

from gridcare.notices.channels.base import (
    Envelope,
    NoticeChannel,
    Sender,
    SendResult,
    TransientError,
    register,
)

if TYPE_CHECKING:
    from gridcare.notices.config import NoticeConfig


class _OutboxSender:
    def __init__(self, root: Path):
        self.root = root

    def send(self, envelope: Envelope) -> SendResult:
        day = envelope.sent_at.strftime("%Y%m%d")
        folder = self.root / day
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{envelope.key}.json"
            tmp = folder / f".{envelope.key}.tmp"
            record = {
                "key": envelope.key,
                "account_no": envelope.account_no,
                "to": envelope.to,
                "subject": envelope.subject,
                "body": envelope.body,
                "at": envelope.sent_at.isoformat(),
            }
            tmp.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, path)  # atomic: a reader never sees half a file; rewriting is harmless
        except OSError as exc:
            raise TransientError(f"写入离线文件失败：{exc}") from exc
        return SendResult(provider_ref=str(path), response="written", delivered=True)

    def close(self) -> None:
        return None


@register
class OutboxChannel(NoticeChannel):
    name = "outbox"
    order = 40
    label = _("离线文件")
    rate_setting = "GRIDCARE_OUTBOX_RATE_PER_MINUTE"
    concurrency_setting = "GRIDCARE_OUTBOX_CONCURRENCY"
    idempotent = True

    def __init__(self, config: NoticeConfig):
        super().__init__(config)
        self.root = config.outbox_dir

    def open(self) -> Sender:
        return _OutboxSender(self.root)
