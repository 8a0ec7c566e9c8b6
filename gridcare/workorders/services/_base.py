"""What every work-order service shares: the actor, the clock, the compare-and-swap transition."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from gridcare.core.audit import record_event
from gridcare.core.errors import Conflict
from gridcare.org.models import OrgUnit, User
from gridcare.workorders.models import (
    Milestone,
    WorkOrder,
)
from gridcare.workorders.states import target_state

Actor = User | str | None
REPEAT_WINDOW = dt.timedelta(hours=getattr(settings, "GRIDCARE_REPEAT_WINDOW_HOURS", 72))
VISIT_ATTEMPTS = 3
NUMBER_SERIAL_DIGITS = 8  # an order number is the acceptance date and the id in (at least) this many digits
VISIT_ATTEMPT_GAP = dt.timedelta(minutes=getattr(settings, "GRIDCARE_VISIT_ATTEMPT_GAP_MINUTES", 30))
TIMED_MILESTONES = [Milestone.CONTACT, Milestone.REPLY, Milestone.COMPLETE, Milestone.ARRIVE, Milestone.RESTORE]


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or timezone.now()


def _actor_unit(actor: Actor) -> OrgUnit | None:
    return actor.unit if isinstance(actor, User) else None


def _transition(
    order: WorkOrder,
    action: str,
    actor: Actor,
    now: dt.datetime,
    *,
    note: str = "",
    to: str | None = None,
    extra: dict[str, Any] | None = None,
    **changes: Any,
) -> WorkOrder:
    """Compare-and-swap the order from its current status to the next; write the event."""
    target = target_state(order.status, action)
    new_status = to or target or order.status
    rows = WorkOrder.objects.filter(pk=order.pk, status=order.status, version=order.version).update(
        status=new_status, version=F("version") + 1, **changes
    )
    if rows != 1:
        raise Conflict("工单已被他人更新，请刷新后重试")
    old_status = order.status
    record_event(
        actor=actor,
        action=f"workorder.{action}",
        subject=order,
        at=now,
        note=note,
        old={"status": old_status},
        new={"status": new_status, **{k: _jsonable(v) for k, v in changes.items()}, **(extra or {})},
    )
    order.refresh_from_db()
    return order


def _jsonable(value: Any) -> Any:
    if isinstance(value, OrgUnit | User | WorkOrder):
        return str(value)
    return value


def _fresh(order: WorkOrder) -> WorkOrder:
    return WorkOrder.objects.select_related("category", "category__sla_policy", "unit", "customer").get(pk=order.pk)
