"""Orders about one matter: merging a child into its main order (主单/子单), and orders that follow another.

Each call is counted once, on the order that answers for the matter: intake counts a repeat call on the
earlier order (`repeat_of`), so merging or following adds only the calls the main order has not counted yet,
and unmerging takes back exactly those. A follower (a repair call that joined an outage already being
repaired) keeps its own status until it is answered with its main order, and its arrival and restoration
clocks stop when the main order's do: the crew that reached the fault reached every caller of it.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import F

from gridcare.core.audit import record_event
from gridcare.core.calendar import load_calendar
from gridcare.core.errors import ServiceError
from gridcare.workorders.models import Deadline, DeadlineState, Status, WorkOrder
from gridcare.workorders.services._base import Actor, _fresh, _now, _transition
from gridcare.workorders.services.deadlines import _meet, _reschedule


def _calls_new_to(main: WorkOrder, order: WorkOrder) -> int:
    """How many of `order`'s calls `main` has not counted: all of them, except the call intake already counted
    on `main` because `order` was a repeat of it."""
    return max(order.call_count - (1 if order.repeat_of_id == main.pk else 0), 0)


def workorder_merge(
    *, child: WorkOrder, main: WorkOrder, actor: Actor, reason: str = "", now: dt.datetime | None = None
) -> WorkOrder:
    """主单/子单: the child is closed into the main order; its calls count on the main order (once)."""
    now = _now(now)
    if child.pk == main.pk:
        raise ServiceError("不能把工单合并到自身", field="main")
    with transaction.atomic():
        child, main = _fresh(child), _fresh(main)
        if main.status in (Status.MERGED, Status.CANCELLED, Status.ARCHIVED):
            raise ServiceError(f"主单 {main.number} 已{main.get_status_display()}，不能作为主单", field="main")
        if main.main_id == child.pk or child.children.exists():
            raise ServiceError(f"工单 {child.number} 自身是主单，请先取消其子单的合并", field="child")
        child = _transition(
            child, "merge", actor, now, note=reason, main=main, resume_status=child.status, extra={"main": main.number}
        )
        Deadline.objects.filter(order=child, met_at__isnull=True).exclude(state=DeadlineState.CANCELLED).update(
            state=DeadlineState.CANCELLED, next_check_at=None
        )
        added = _calls_new_to(main, child)
        WorkOrder.objects.filter(pk=main.pk).update(call_count=F("call_count") + added)
        record_event(
            actor=actor,
            action="workorder.child_merged",
            subject=main,
            at=now,
            new={"child": child.number, "calls_added": added},
        )
        return child


def workorder_unmerge(*, child: WorkOrder, actor: Actor, reason: str = "", now: dt.datetime | None = None) -> WorkOrder:
    now = _now(now)
    with transaction.atomic():
        child = _fresh(child)
        main = child.main
        restored = child.resume_status or Status.ACCEPTED
        child = _transition(
            child,
            "unmerge",
            actor,
            now,
            to=restored,
            note=reason,
            main=None,
            resume_status="",
            extra={"main": main.number if main else None},
        )
        if main is not None:
            WorkOrder.objects.filter(pk=main.pk).update(call_count=F("call_count") - _calls_new_to(main, child))
            record_event(
                actor=actor, action="workorder.child_unmerged", subject=main, at=now, new={"child": child.number}
            )
        cal, policy = load_calendar(), child.category.sla_policy
        for d in Deadline.objects.filter(order=child, state=DeadlineState.CANCELLED, met_at__isnull=True):
            d.state = DeadlineState.PENDING
            d.escalation_level = 0
            _reschedule(d, cal, policy, now)
            d.save()
        return child


def workorder_follow(
    *, order: WorkOrder, main: WorkOrder, actor: Actor, note: str = "", now: dt.datetime | None = None
) -> WorkOrder:
    """`order` follows `main` (the call is about a fault `main` answers for): it points at `main`, its calls are
    counted there once, orders that followed `order` follow `main` from now on, and every arrival or restoration
    `main` has already reached is reached for `order` too. The order keeps its status."""
    now = _now(now)
    if order.pk == main.pk:
        raise ServiceError("不能让工单跟随自身", field="main")
    with transaction.atomic():
        order, main = _fresh(order), _fresh(main)
        if order.main_id == main.pk:
            return order
        added = _calls_new_to(main, order)
        followers = list(WorkOrder.objects.filter(main=order).values_list("number", flat=True))
        WorkOrder.objects.filter(main=order).update(main=main)
        WorkOrder.objects.filter(pk=order.pk).update(main=main, version=F("version") + 1)
        WorkOrder.objects.filter(pk=main.pk).update(call_count=F("call_count") + added)
        record_event(
            actor=actor,
            action="workorder.follow",
            subject=order,
            at=now,
            note=note,
            new={"main": main.number, "calls_added": added, "followers_moved": followers},
        )
        reached = Deadline.objects.filter(order=main, state=DeadlineState.MET, milestone__in=FOLLOWED_MILESTONES)
        for milestone in reached.values_list("milestone", flat=True).distinct():
            _meet_with_followers(order, [milestone], now)
        order.refresh_from_db()
        return order


#: The clocks a follower shares with its main order: the crew's, not the answer's (each caller is answered).
FOLLOWED_MILESTONES = ("arrive", "restore")


def workorder_unfollow(*, order: WorkOrder, actor: Actor, note: str = "", now: dt.datetime | None = None) -> WorkOrder:
    """`order` no longer follows its main order (a dispatcher split the fault): its calls leave the main order's
    count and it answers for itself again. Clocks already stopped with the main order stay met: that arrival
    or restoration did happen."""
    now = _now(now)
    with transaction.atomic():
        order = _fresh(order)
        if order.main is None:
            return order
        main = _fresh(order.main)
        WorkOrder.objects.filter(pk=main.pk).update(call_count=F("call_count") - _calls_new_to(main, order))
        WorkOrder.objects.filter(pk=order.pk).update(main=None, version=F("version") + 1)
        record_event(
            actor=actor, action="workorder.unfollow", subject=order, at=now, note=note, new={"main": main.number}
        )
        order.refresh_from_db()
        return order


def _meet_with_followers(order: WorkOrder, milestones: list[str], now: dt.datetime) -> None:
    _meet(order, milestones, now)
    for follower in WorkOrder.objects.filter(main=order).exclude(status__in=[Status.CANCELLED]):
        _meet(follower, milestones, now)


def workorder_milestone_met(*, order: WorkOrder, milestone: str, now: dt.datetime | None = None) -> None:
    """A milestone the order's kind reaches outside the common flow (a crew arrived: `arrive`; power is back:
    `restore`) stops the order's clock for it, and its followers' (see `workorder_follow`)."""
    if milestone not in FOLLOWED_MILESTONES:
        raise ValueError(f"{milestone!r} is met by the work-order flow itself, not by a kind")
    _meet_with_followers(order, [milestone], _now(now))
