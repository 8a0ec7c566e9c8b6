"""Policy and price announcements (政策/电价公告) to an audience."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.db import transaction

from gridcare.core.errors import ServiceError
from gridcare.notices.audiences import Audience, check_accounts
from gridcare.notices.models import (
    Notice,
    NoticeKind,
)
from gridcare.notices.services.common import Actor, check_channels, checked_now
from gridcare.notices.services.queue import queue_notice

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
    now = checked_now(now)
    if not title.strip():
        raise ServiceError("请填写标题", field="title")
    if not text.strip():
        raise ServiceError("请填写公告正文", field="text")
    chosen = check_channels(channels)
    if audience.account_nos and not allow_unknown_accounts:
        missing = check_accounts(audience.account_nos)
        if missing:
            raise ServiceError(
                f"名单中有 {len(missing)} 个户号不存在：{'、'.join(missing[:10])}{'…' if len(missing) > 10 else ''}",
                field="account_nos",
            )
    with transaction.atomic():
        return queue_notice(
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
