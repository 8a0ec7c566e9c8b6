"""Proactive repair (主动抢修): a repair order with no caller, for an outage the meters predicted, and the customers
below it told before they call. See services.meters for when it opens."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction

from gridcare.grid.models import TransformerArea
from gridcare.repair.models import MeterEvidence, ProbableOutage, RepairTicket
from gridcare.repair.services.outages import outage_publish
from gridcare.repair.storm_selectors import outage_areas
from gridcare.workorders import services as wo
from gridcare.workorders.models import Category, CategoryKind, Channel

SYSTEM = "用电信息采集"


def repair_proactive_open(*, outage: ProbableOutage, now: dt.datetime) -> RepairTicket | None:
    """Open the repair order of a meter-predicted outage (A = its first power-off event) and publish the outage
    to the customers below it; None when no repair category is configured."""
    category = Category.objects.filter(kind=CategoryKind.REPAIR, is_active=True).order_by("code").first()
    if category is None:
        return None
    first = MeterEvidence.objects.filter(outage=outage).select_related("transformer_area").order_by("at", "pk").first()
    if first is None:
        return None
    meters = MeterEvidence.objects.filter(outage=outage).count()
    oldest = now - dt.timedelta(minutes=settings.GRIDCARE_REPAIR_MAX_CALL_AGE_MINUTES - 1)
    a_at = min(max(first.at, oldest), now)
    with transaction.atomic():
        order = wo.workorder_create(
            actor=SYSTEM,
            channel=Channel.AMI,
            category=category,
            caller_name=SYSTEM,
            caller_phone="95598",
            address=str(first.transformer_area),
            description=f"主动抢修：{meters} 块电表报停电（{outage.get_level_display()}），暂无客户来电",
            call_ended_at=a_at,
            now=now,
            dispatch=False,
        )
        area: TransformerArea = first.transformer_area
        RepairTicket.objects.filter(workorder=order).update(
            outage=outage,
            is_main=True,
            transformer_area=area,
            feeder_id=area.feeder_id,
            lat=area.lat,
            lon=area.lon,
            need="mv" if outage.level in ("device", "feeder") else "lv",
        )
        if outage.notice_outage_id is None and list(outage_areas(outage)):
            outage_publish(outage=outage, cause="智能电表停电事件研判，抢修人员正在赶往现场", actor=SYSTEM, now=now)
        return RepairTicket.objects.get(workorder=order)
