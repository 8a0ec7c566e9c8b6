"""Set-based queueing: a notice and its messages, one `INSERT … SELECT` per channel from the audience query.

A feeder of 100,000 customers is queued in one statement per channel, never row by row in Python."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.models import Field, Model, QuerySet

from gridcare.core.audit import record_event
from gridcare.customers.models import Customer
from gridcare.notices import rules
from gridcare.notices.audiences import Audience, audience_queryset
from gridcare.notices.config import get_config
from gridcare.notices.models import (
    ChannelPreference,
    Message,
    MessageStatus,
    Notice,
    Outage,
)
from gridcare.notices.services.common import Actor, actor_name
from gridcare.notices.services.follow_ups import follow_ups_create

# --- set-based queueing -----------------------------------------------------------------------------------------


def _adapt(value: dt.datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def _column(model: type[Model], name: str) -> str:
    field = model._meta.get_field(name)
    if not isinstance(field, Field) or not field.column:
        raise TypeError(f"{model.__name__}.{name} is not a column")
    return field.column


# bulk-write: see core/bulk.py
def insert_select(*, model: type[Model], fields: Sequence[str], select_sql: str, params: Sequence[Any]) -> int:
    """The notices fast path's only raw write: `INSERT INTO <model> (<fields>) <select_sql>`, one statement.

    Every bulk queueing of the app (messages, an outage's affected customers) goes through here so that the
    shared bulk-write module can replace it in one place. Column names come from the model's `_meta`, the
    SELECT from the ORM or this package; every value is a bound parameter. Returns the rows written.
    """
    q = connection.ops.quote_name
    columns = ", ".join(q(_column(model, name)) for name in fields)
    statement = f"INSERT INTO {q(model._meta.db_table)} ({columns}) {select_sql}"
    with connection.cursor() as cursor:
        cursor.execute(statement, list(params))
        return cursor.rowcount


_MESSAGE_FIELDS = (
    "notice",
    "customer",
    "channel",
    "status",
    "attempts",
    "next_attempt_at",
    "queued_at",
    "lease_owner",
    "address",
    "body",
    "provider_ref",
    "response",
    "last_error",
)


def _queue_messages(
    *, notice: Notice, customers: QuerySet[Customer], channel: str, next_at: dt.datetime, now: dt.datetime
) -> None:
    """A message for every customer of the query in one statement; opted-out ones are logged as suppressed."""
    q = connection.ops.quote_name
    sql, params = customers.order_by().values_list("id").query.sql_with_params()
    head: list[Any] = [notice.pk, channel]
    if notice.legally_required:
        status_sql, join = "%s", ""
        status_params: list[Any] = [MessageStatus.QUEUED]
        join_params: list[Any] = []
    else:
        status_sql = "CASE WHEN p.id IS NULL THEN %s ELSE %s END"
        status_params = [MessageStatus.QUEUED, MessageStatus.SUPPRESSED]
        join = (
            f" LEFT JOIN {q(ChannelPreference._meta.db_table)} p"
            " ON p.customer_id = sub.id AND p.channel = %s AND p.opted_out = %s"
        )
        join_params = [channel, True]
    insert_select(
        model=Message,
        fields=_MESSAGE_FIELDS,
        # The subquery comes from the ORM, the join from this module; every value is a bound parameter.
        select_sql=f"SELECT %s, sub.id, %s, {status_sql}, 0, %s, %s, '', '', '', '', '', '' FROM ({sql}) sub{join}",  # noqa: S608
        params=[*head, *status_params, _adapt(next_at), _adapt(now), *params, *join_params],
    )


def _audience_chunks(audience: Audience | QuerySet[Customer]) -> list[QuerySet[Customer]]:
    """Long uploaded lists are split so no single statement exceeds the database's parameter limit."""
    if isinstance(audience, QuerySet):
        return [audience]
    if len(audience.account_nos) <= 5000:
        return [audience_queryset(audience)]
    chunks = []
    for i in range(0, len(audience.account_nos), 5000):
        part = Audience(**{**audience.__dict__, "account_nos": audience.account_nos[i : i + 5000]})
        chunks.append(audience_queryset(part))
    return chunks


def queue_notice(
    *,
    kind: str,
    title: str,
    customers: Audience | QuerySet[Customer],
    channels: Sequence[str],
    context: dict[str, Any],
    urgent: bool,
    legally_required: bool,
    follow_up: bool,
    audience_label: str,
    actor: Actor,
    now: dt.datetime,
    outage: Outage | None = None,
) -> Notice:
    config = get_config()
    notice = Notice.objects.create(
        kind=kind,
        outage=outage,
        outage_revision=outage.revision if outage else 0,
        title=title[:200],
        channels=list(channels),
        context={"hotline": config.hotline, "company": config.company, "title": title, **context},
        urgent=urgent,
        legally_required=legally_required,
        audience_label=audience_label[:300],
        created_at=now,
        created_by=actor_name(actor),
    )
    next_at = rules.not_before(now, urgent=urgent, start=config.quiet_start, end=config.quiet_end)
    chunks = _audience_chunks(customers)
    for qs in chunks:
        for ch in channels:
            _queue_messages(notice=notice, customers=qs, channel=ch, next_at=next_at, now=now)
    notice.recipients = Message.objects.filter(notice=notice, channel=channels[0]).count()
    notice.save(update_fields=["recipients"])
    tasks = 0
    if follow_up:
        due = now + dt.timedelta(hours=4)
        if outage is not None and outage.starts_at - dt.timedelta(hours=24) > now:
            due = outage.starts_at - dt.timedelta(hours=24)
        for qs in chunks:
            tasks += follow_ups_create(notice=notice, customers=qs, due_at=due)
    record_event(
        actor=actor,
        action="notice.queue",
        subject=notice,
        new={
            "kind": kind,
            "channels": list(channels),
            "recipients": notice.recipients,
            "follow_ups": tasks,
            "urgent": urgent,
            "legally_required": legally_required,
            "outage": outage.pk if outage else None,
        },
        at=now,
    )
    return notice
