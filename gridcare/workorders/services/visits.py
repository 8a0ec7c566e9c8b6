"""Return visits (回访): up to three calls at different times; unsatisfied reopens, otherwise archives."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from gridcare.core.audit import record_event
from gridcare.core.errors import Conflict, ServiceError
from gridcare.org.models import User
from gridcare.workorders.models import (
    ReturnVisit,
    VisitAttempt,
    VisitOutcome,
)
from gridcare.workorders.services._base import VISIT_ATTEMPT_GAP, VISIT_ATTEMPTS, Actor, _now
from gridcare.workorders.services.lifecycle import workorder_archive, workorder_reopen


def visit_record(
    *, visit: ReturnVisit, actor: Actor, result: str, note: str = "", now: dt.datetime | None = None
) -> ReturnVisit:
    """Record one call of a return visit. Unsatisfied reopens the order; 3 unanswered calls at
    different times make it unreachable; satisfied or basically satisfied archives the order."""
    now = _now(now)
    allowed = [VisitOutcome.SATISFIED, VisitOutcome.BASIC, VisitOutcome.UNSATISFIED, VisitOutcome.NO_ANSWER]
    if result not in allowed:
        raise ServiceError(f"回访结果须为：{', '.join(allowed)}", field="result")
    with transaction.atomic():
        visit = ReturnVisit.objects.select_for_update().select_related("order").get(pk=visit.pk)
        if visit.closed_at is not None:
            raise Conflict(f"回访已结束（{visit.get_outcome_display()}）")
        previous = list(visit.attempts.order_by("at"))
        if result == VisitOutcome.NO_ANSWER and previous and now - previous[-1].at < VISIT_ATTEMPT_GAP:
            raise ServiceError(
                f"两次回访须间隔至少 {int(VISIT_ATTEMPT_GAP.total_seconds() // 60)} 分钟，请稍后再拨", field="result"
            )
        VisitAttempt.objects.create(
            visit=visit, at=now, result=result, note=note[:200], by=actor if isinstance(actor, User) else None
        )
        record_event(
            actor=actor,
            action="visit.attempt",
            subject=visit.order,
            at=now,
            new={"result": result, "attempt": len(previous) + 1},
            note=note,
        )
        outcome = result
        if result == VisitOutcome.NO_ANSWER:
            unanswered = sum(1 for a in previous if a.result == VisitOutcome.NO_ANSWER) + 1
            if unanswered < VISIT_ATTEMPTS:
                return visit
            outcome = VisitOutcome.UNREACHABLE
        visit.outcome, visit.closed_at = outcome, now
        visit.save(update_fields=["outcome", "closed_at"])
        record_event(actor=actor, action="visit.close", subject=visit.order, at=now, new={"outcome": outcome})
        order = visit.order
        if outcome == VisitOutcome.UNSATISFIED:
            workorder_reopen(order=order, actor=actor, reason=f"回访不满意：{note}".strip("："), now=now)
        else:
            workorder_archive(order=order, actor=actor, now=now)
        return visit
