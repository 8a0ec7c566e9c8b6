"""Shared helpers of the notice services: the actor, the clock argument, the channel check."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.utils import timezone

from gridcare.core.errors import ServiceError
from gridcare.notices.channels import channel_class, channel_names
from gridcare.notices.config import get_config

Actor = Any  # a User, a system name (str) or None


def checked_now(now: dt.datetime | None) -> dt.datetime:
    value = now or timezone.now()
    if timezone.is_naive(value):
        raise ServiceError("时间必须带时区")
    return value


def iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def check_channels(channels: Sequence[str] | None) -> list[str]:
    config = get_config()
    if not channels:
        # Nobody chose: use the default channels that are set up here (a fresh install has no SMS gateway).
        channels = [ch for ch in config.default_channels if config.configured(ch)]
    chosen = list(dict.fromkeys(channels))
    if not chosen:
        raise ServiceError("请至少选择一个发送渠道", field="channels")
    for ch in chosen:
        cls = channel_class(ch)
        if cls is None:
            raise ServiceError(f"未知渠道 {ch}；可用：{', '.join(channel_names())}", field="channels")
        if not config.configured(ch):
            hint = f"（设置环境变量 {cls.setup_hint}）" if cls.setup_hint else ""
            raise ServiceError(f"渠道 {ch} 尚未配置{hint}", field="channels")
    return chosen


def actor_name(actor: Actor) -> str:
    if actor is None:
        return "系统"
    if isinstance(actor, str):
        return actor[:150]
    return (actor.get_full_name() or actor.get_username())[:150]
