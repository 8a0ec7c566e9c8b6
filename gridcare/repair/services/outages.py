"""Probable outages as the public sees them: the ETR with its reason, and the outage notice (gridcare.notices)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.db import transaction

from gridcare.core.audit import record_event
from gridcare.core.errors import Conflict, ServiceError
from gridcare.grid.models import TransformerArea
from gridcare.notices import services as notices
from gridcare.notices.models import Outage
from gridcare.repair.models import (
    EtrSource,
    OutageEtr,
    OutageLevel,
    ProbableOutage,
)
from gridcare.repair.services._base import Actor, _now
from gridcare.repair.storm_selectors import outage_areas


def outage_set_etr(
    *, outage: ProbableOutage, etr: dt.datetime | None, reason: str, actor: Actor, now: dt.datetime | None = None
) -> ProbableOutage:
    """A new estimated restoration time given by a person. It may only move later, with a reason; None = not yet
    assessed. It replaces an estimate from history (repair.services.estimates) in either direction — the person
    knows what the statistics cannot — and from then on estimates leave this outage alone."""
    now = _now(now)
    with transaction.atomic():
        outage = ProbableOutage.objects.select_for_update().get(pk=outage.pk)
        estimated = OutageEtr.objects.filter(outage=outage, source=EtrSource.ESTIMATE).exists()
        if etr is not None and etr <= now - dt.timedelta(minutes=1):
            raise ServiceError("预计恢复时间不能早于现在", field="etr")
        if outage.etr is not None and not estimated and (etr is None or etr < outage.etr):
            raise ServiceError("预计恢复时间只能推后（或保持），不能提前或撤销", field="etr")
        if outage.etr is not None and not reason.strip():
            raise ServiceError("修改预计恢复时间须说明原因", field="reason")
        old = outage.etr
        outage.etr, outage.etr_updated_at, outage.etr_reason = etr, now, reason[:200]
        outage.save(update_fields=["etr", "etr_updated_at", "etr_reason"])
        OutageEtr.objects.update_or_create(
            outage=outage,
            defaults={
                "source": EtrSource.MANUAL,
                "low": None,
                "high": None,
                "samples": 0,
                "basis": "",
                "estimated_at": now,
                "reason": reason[:200],
            },
        )
        record_event(
            actor=actor,
            action="outage.etr",
            subject_type="repair.probableoutage",
            subject_id=str(outage.pk),
            subject_label=str(outage),
            at=now,
            old={"etr": old},
            new={"etr": etr},
            note=reason,
        )
        if outage.notice_outage_id and etr is not None:
            _notice_etr(outage, etr, reason or "研判后首次给出", actor, now)
        return outage


def outage_publish(
    *, outage: ProbableOutage, cause: str, actor: Actor, now: dt.datetime | None = None
) -> ProbableOutage:
    """Publish the probable outage as fault outage information (notices), telling affected customers."""
    now = _now(now)
    with transaction.atomic():
        outage = ProbableOutage.objects.select_for_update().get(pk=outage.pk)
        if outage.notice_outage_id:
            raise Conflict("该故障已发布停电信息")
        callers = [
            t.workorder.customer for t in outage.tickets.select_related("workorder__customer") if t.workorder.customer
        ]
        area = outage.transformer_area
        unit = area.unit if area else outage.feeder.unit if outage.feeder else None
        if unit is None:
            raise ServiceError("无法确定故障所在的电网位置", field="outage")
        areas = [area] if area and outage.level != OutageLevel.FEEDER else []
        where: object = outage.feeder or area
        if outage.level == OutageLevel.DEVICE:
            # A device below the outlet darkens the 台区 downstream of it on the network as it runs now.
            areas = list(TransformerArea.objects.filter(pk__in=list(outage_areas(outage))))
            where = f"{outage.feeder} {outage.device}" if outage.device else outage.feeder
        published = notices.outage_publish_fault(
            unit=unit,
            title=f"故障停电：{where}",
            cause=cause,
            started_at=outage.first_call_at,
            etr=outage.etr,
            actor=actor,
            feeders=[outage.feeder] if outage.feeder and outage.level == OutageLevel.FEEDER else [],
            areas=areas,
            callers=callers,
            source_ref=f"repair-outage-{outage.pk}",
            now=now,
        )
        outage.notice_outage_id, outage.cause = published.pk, cause[:200]
        outage.save(update_fields=["notice_outage_id", "cause"])
        return outage


def _with_notice_outage(outage: ProbableOutage, act: Callable[[Any], object]) -> None:
    """Pass the published fault outage (notices) of a probable outage to `act`, when there is one."""
    if outage.notice_outage_id is None:
        return
    target = Outage.objects.filter(pk=outage.notice_outage_id).first()
    if target is not None:
        act(target)


def _notice_add_caller(outage: ProbableOutage, customer: Any, actor: Actor, now: dt.datetime) -> None:
    _with_notice_outage(
        outage, lambda o: notices.outage_add_callers(outage=o, callers=[customer], actor=actor, now=now)
    )


def _notice_etr(outage: ProbableOutage, etr: dt.datetime, reason: str, actor: Actor, now: dt.datetime) -> None:
    _with_notice_outage(
        outage, lambda o: notices.outage_update_etr(outage=o, etr=etr, reason=reason, actor=actor, now=now)
    )


def _notice_restore(outage: ProbableOutage, actor: Actor, now: dt.datetime) -> None:
    _with_notice_outage(outage, lambda o: notices.outage_restore(outage=o, restored_at=now, actor=actor, now=now))
