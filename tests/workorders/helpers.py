"""Small builders for work-order tests."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from gridcare.workorders.models import Category, Deadline, WorkOrder
from gridcare.workorders.services import workorder_create
from tests.conftest import City

BJ = ZoneInfo("Asia/Shanghai")


def bj(y: int, m: int, d: int, h: int = 0, mi: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, h, mi, tzinfo=BJ)


def cat(code: str) -> Category:
    return Category.objects.get(code=code)


def complaint(city: City, at: dt.datetime, **kw: Any) -> WorkOrder:
    return workorder_create(
        actor=city.agent,
        channel="phone",
        category=cat(kw.pop("category", "complaint_service")),
        customer=kw.pop("customer", city.north_customer),
        description=kw.pop("description", "营业厅工作人员态度差"),
        now=at,
        **kw,
    )


def deadline(order: WorkOrder, milestone: str) -> Deadline:
    """The order's open deadline for one milestone, as stored."""
    return Deadline.objects.get(order=order, milestone=milestone, met_at__isnull=True)
