"""A customer's channel addresses and opt-outs."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from gridcare.core.audit import record_event
from gridcare.core.errors import ServiceError
from gridcare.customers.models import Customer
from gridcare.notices.channels import channel_class
from gridcare.notices.models import (
    ChannelPreference,
)
from gridcare.notices.services.common import Actor, checked_now

# --- preferences, templates, follow-ups, receipts ---------------------------------------------------------------


def preference_set(
    *,
    customer: Customer,
    channel: str,
    actor: Actor,
    address: str | None = None,
    opted_out: bool | None = None,
    now: dt.datetime | None = None,
) -> ChannelPreference:
    """A customer's e-mail address (or SMS number override) and opt-out for one channel."""
    now = checked_now(now)
    cls = channel_class(channel)
    if cls is None:
        raise ServiceError(f"未知渠道 {channel}", field="channel")
    problem = cls.address_problem(address.strip()) if address is not None else ""
    if problem:
        raise ServiceError(problem, field="address")
    with transaction.atomic():
        pref, _ = ChannelPreference.objects.select_for_update().get_or_create(
            customer=customer, channel=channel, defaults={"updated_at": now}
        )
        old = {"address": pref.address, "opted_out": pref.opted_out}
        if address is not None:
            pref.address = address.strip()[:200]
        if opted_out is not None:
            pref.opted_out = opted_out
        pref.updated_at = now
        pref.save()
        record_event(
            actor=actor,
            action="notice.preference",
            subject=customer,
            old={channel: old},
            new={channel: {"address": pref.address, "opted_out": pref.opted_out}},
            at=now,
        )
    return pref
