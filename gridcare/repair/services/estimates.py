"""Estimated restoration times from history (repair.etr), set when a probable outage opens and moved, with the
reason, when it is assigned, when the crew arrives, when its level changes, or when the estimate has passed
without power back. A dispatcher's own ETR (`outage_set_etr`) wins: estimates stop for that outage.

Unlike a dispatcher's ETR, an estimate may also move earlier: it is the median of the outages like this one that
are still plausible, and new facts (a crew on site, a smaller fault than first predicted) make it more precise in
either direction. Callers hear it with its 80 % interval and the time it was updated; customers get a notice only
when it moved by GRIDCARE_ETR_NOTIFY_MINUTES or more (notices.outage_update_etr). See docs/storm-mode.md.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from gridcare.core.audit import record_event
from gridcare.notices import services as notices
from gridcare.notices.models import Outage, OutageStatus
from gridcare.repair import etr
from gridcare.repair.models import EtrSource, OutageEtr, OutageState, ProbableOutage, RepairTicket
from gridcare.repair.services._base import Actor, _now
from gridcare.repair.storm_selectors import (
    LIVE,
    basis_label,
    etr_history,
    idle_crews,
    kind_expression,
    kind_label,
    main_ticket,
    outage_area_class,
    outage_kind,
    outage_phase,
    outage_unit,
    prior_for,
)

ESTIMATOR = "预计恢复时间估计"  # the actor named on estimate events

PHASE_REASONS = {
    etr.OPEN: "抢修车辆已撤回，重新估计",
    etr.ASSIGNED: "已派抢修车辆，按已停电时长重新估计",
    etr.ON_SITE: "抢修人员已到达现场，按到达后的修复时长重新估计",
}


def _why(outage: ProbableOutage, detail: OutageEtr | None, *, kind: str, phase: str, now: dt.datetime) -> str | None:
    """Why the outage needs a (new) estimate now, or None."""
    if detail is None:
        # An ETR without a record of where it came from was given by a person before estimates existed.
        return None if outage.etr is not None else "新的故障研判：按历史同类故障估计"
    if detail.source != EtrSource.ESTIMATE:
        return None
    if detail.kind != kind:
        return f"研判由「{kind_label(detail.kind)}」变为「{kind_label(kind)}」，重新估计"
    if detail.phase != phase:
        return PHASE_REASONS[phase]
    if outage.etr is None or outage.etr <= now:
        return "已超过预计恢复时间仍未复电，按已停电时长重新估计"
    return None


def outage_etr_estimate(
    *, outage: ProbableOutage, now: dt.datetime | None = None, actor: Actor = ESTIMATOR
) -> OutageEtr | None:
    """Estimate the outage's ETR when something it rests on changed (see `_why`); returns the new estimate's
    record, or None when nothing changed, the outage is over, or a dispatcher gave the ETR."""
    now = _now(now)
    with transaction.atomic():
        # The outage's row lock orders this against a dispatcher's outage_set_etr and against other workers.
        outage = (
            ProbableOutage.objects.select_for_update(of=("self",))
            .select_related("transformer_area__district", "transformer_area__unit", "feeder__unit")
            .get(pk=outage.pk)
        )
        if outage.state not in LIVE:
            return None
        detail = OutageEtr.objects.filter(outage=outage).first()
        main = main_ticket(outage)
        kind, phase = outage_kind(outage), outage_phase(outage, main)
        why = _why(outage, detail, kind=kind, phase=phase, now=now)
        if why is None:
            return None
        area_class = outage_area_class(outage, main)
        # The crews free when the outage opened stay its feature; recounting them later would describe the storm,
        # not the conditions this outage started in.
        crews = detail.crews_idle if detail is not None else idle_crews(outage_unit(outage, main))
        features = etr.Features(
            kind=kind,
            area_class=area_class,
            time_band=etr.time_band(timezone.localtime(outage.first_call_at)),
            crews=etr.crews_band(crews),
        )
        origin = main.h_at if phase == etr.ON_SITE and main is not None and main.h_at else outage.first_call_at
        estimate = etr.estimate(
            etr_history(now), features, phase=phase, origin=origin, now=now, prior=prior_for(area_class)
        )
        basis = basis_label(estimate)
        old = outage.etr
        ProbableOutage.objects.filter(pk=outage.pk).update(etr=estimate.etr, etr_updated_at=now, etr_reason=why[:200])
        detail, _created = OutageEtr.objects.update_or_create(
            outage=outage,
            defaults={
                "source": EtrSource.ESTIMATE,
                "low": estimate.low,
                "high": estimate.high,
                "samples": estimate.samples,
                "basis": basis[:120],
                "phase": phase,
                "kind": kind,
                "area_class": area_class,
                "crews_idle": crews,
                "estimated_at": now,
                "reason": why[:200],
            },
        )
        record_event(
            actor=actor,
            action="outage.etr_estimate",
            subject_type="repair.probableoutage",
            subject_id=str(outage.pk),
            subject_label=str(outage),
            at=now,
            old={"etr": old},
            new={
                "etr": estimate.etr,
                "low": estimate.low,
                "high": estimate.high,
                "samples": estimate.samples,
                "basis": basis,
                "phase": phase,
            },
            note=why,
        )
        if outage.notice_outage_id:
            published = Outage.objects.filter(pk=outage.notice_outage_id, status=OutageStatus.PUBLISHED).first()
            if published is not None:
                notices.outage_update_etr(outage=published, etr=estimate.etr, reason=why, actor=actor, now=now)
        return detail


def _due(now: dt.datetime) -> Q:
    """Live outages whose estimate is missing or stale, in SQL (the same questions as `_why`, asked of many rows;
    `_why` decides again under the row lock)."""
    arrived = Q(arrived=True)
    assigned = Q(arrived=False, state=OutageState.ASSIGNED)
    opened = Q(arrived=False, state=OutageState.OPEN)
    stale = (
        ~Q(etr_detail__kind=F("kind_now"))
        | Q(etr__isnull=True)
        | Q(etr__lte=now)
        | (arrived & ~Q(etr_detail__phase=etr.ON_SITE))
        | (assigned & ~Q(etr_detail__phase=etr.ASSIGNED))
        | (opened & ~Q(etr_detail__phase=etr.OPEN))
    )
    return Q(etr_detail__isnull=True, etr__isnull=True) | (Q(etr_detail__source=EtrSource.ESTIMATE) & stale)


def etr_refresh_due(*, now: dt.datetime, limit: int = 100) -> int:
    """One batch of the worker's pass: estimate every live outage that needs it; returns how many were estimated."""
    arrived = RepairTicket.objects.filter(outage=OuterRef("pk"), is_main=True, h_at__isnull=False)
    due = (
        ProbableOutage.objects.filter(state__in=LIVE)
        .annotate(arrived=Exists(arrived), kind_now=kind_expression())
        .filter(_due(now))
        .order_by("pk")
    )
    done = 0
    for outage in list(due[:limit]):
        if outage_etr_estimate(outage=outage, now=now) is not None:
            done += 1
    return done
