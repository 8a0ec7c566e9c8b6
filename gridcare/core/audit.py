"""The one helper every service function calls to write its audit event."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from gridcare.core.bulk import insert_many
from gridcare.core.models import Event


class AuditOutsideTransactionError(RuntimeError):
    """An event written outside a transaction could survive a change that was rolled back."""


def snapshot(instance: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """The values of `fields` as JSON-ready data, for the old/new columns of an event."""
    data: dict[str, Any] = {}
    for name in fields:
        value = getattr(instance, name)
        if isinstance(value, models.Model):
            value = value.pk
        data[name] = value
    return data


def changed(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the keys whose values differ, so an event shows what really changed."""
    keys = [k for k in new if old.get(k) != new.get(k)]
    return {k: old.get(k) for k in keys}, {k: new[k] for k in keys}


def _actor_fields(actor: Any) -> tuple[Any, str]:
    if actor is None:
        return None, "系统"
    if isinstance(actor, str):
        return None, actor
    name = actor.get_full_name() or actor.get_username()
    return actor, name


def build_event(
    *,
    actor: Any,
    action: str,
    subject: models.Model | None = None,
    subject_type: str | None = None,
    subject_id: str | None = None,
    subject_label: str | None = None,
    old: Mapping[str, Any] | None = None,
    new: Mapping[str, Any] | None = None,
    note: str = "",
    at: dt.datetime | None = None,
) -> Event:
    """An unsaved event; bulk writers collect these and save them with bulk_create."""
    user, actor_name = _actor_fields(actor)
    if subject is not None:
        subject_type = subject_type or subject._meta.label_lower
        subject_id = subject_id or str(subject.pk)
        subject_label = subject_label if subject_label is not None else str(subject)[:200]
    return Event(
        at=at or timezone.now(),
        actor=user,
        actor_name=actor_name[:150],
        action=action,
        subject_type=subject_type or "",
        subject_id=subject_id or "",
        subject_label=(subject_label or "")[:200],
        old=dict(old) if old is not None else None,
        new=dict(new) if new is not None else None,
        note=note,
    )


def record_event(**kwargs: Any) -> Event:
    """Write one audit event; must run inside the transaction that makes the change."""
    if not transaction.get_connection().in_atomic_block:
        raise AuditOutsideTransactionError(f"audit event {kwargs.get('action')!r} written outside a transaction")
    event = build_event(**kwargs)
    event.save()
    return event


def record_events(events: list[Event]) -> None:
    if not events:
        return
    if not transaction.get_connection().in_atomic_block:
        raise AuditOutsideTransactionError("audit events written outside a transaction")
    insert_many(events)  # plain INSERTs: the ORM's SQL compilation is most of the cost at intake rates
