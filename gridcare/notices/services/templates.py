"""Edited notice templates: save (validated) and reset to the built-in text."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from gridcare.core.audit import record_event
from gridcare.core.errors import ServiceError
from gridcare.notices import rendering
from gridcare.notices.channels import channel_class
from gridcare.notices.models import (
    NoticeKind,
    NoticeTemplate,
)
from gridcare.notices.services.common import Actor, checked_now


def _template_check(kind: str, channel: str) -> None:
    if kind not in NoticeKind.values:
        raise ServiceError(f"未知通知类型 {kind}", field="kind")
    if channel_class(channel) is None:
        raise ServiceError(f"未知渠道 {channel}", field="channel")


def template_save(
    *, kind: str, channel: str, subject: str, body: str, actor: Actor, now: dt.datetime | None = None
) -> NoticeTemplate:
    """Replace the built-in text for one kind and channel. Unknown placeholders and brace mistakes are refused
    here, naming the culprit, so they never reach a customer (nor stop a delivery batch)."""
    now = checked_now(now)
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
    now = checked_now(now)
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
