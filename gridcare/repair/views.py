"""Repair pages: the dispatcher's map and lists, the crew's phone page, and the A–H reports."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from gridcare.core.excel import workbook_response
from gridcare.repair import reports


@login_required
def dispatch(request: HttpRequest) -> HttpResponse:
    feeders = []
    from gridcare.grid.selectors import areas_visible

    lines: dict[str, list[list[float]]] = {}
    for area in areas_visible(user=request.user).select_related("feeder__substation")[:5000]:
        sub = area.feeder.substation
        lines.setdefault(area.feeder.code, [[sub.lat, sub.lon]]).append([area.lat, area.lon])
    feeders = [{"code": k, "points": v} for k, v in lines.items()]
    return render(
        request,
        "repair/dispatch.html",
        {
            "tiles": settings.GRIDCARE_MAP_TILES,
            "center": settings.GRIDCARE_MAP_CENTER,
            "feeders": feeders,
        },
    )


@login_required
def crew(request: HttpRequest) -> HttpResponse:
    return render(request, "repair/crew.html", {})


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value or "")
    except ValueError:
        return None


@login_required
def report(request: HttpRequest) -> HttpResponse:
    date_from, date_to = _date(request.GET.get("date_from")), _date(request.GET.get("date_to"))
    data = reports.segment_report(tickets=reports.tickets_in(user=request.user, date_from=date_from, date_to=date_to))
    busy = reports.busy_rates(user=request.user, day=_date(request.GET.get("day")))
    if request.GET.get("export") == "xlsx":
        return _export(data, busy)
    return render(
        request,
        "repair/report.html",
        {"r": data, "busy": busy, "date_from": date_from, "date_to": date_to, "hours": range(24)},
    )


def _export(data: dict, busy: dict) -> HttpResponse:  # type: ignore[type-arg]
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None  # noqa: S101 - a new workbook always has a sheet
    ws.title = "环节达标"
    ws.append(["环节", "已测", "达标", "达标率", "超时分钟"])
    for row in data["segments"]:
        ws.append([row["segment"], row["measured"], row["met"], row["rate"], row["lost_minutes"]])
    by_person = wb.create_sheet("按人员")
    by_person.append(["环节", "人员/单位", "已测", "达标", "达标率", "超时分钟"])
    for row in data["by_person"]:
        by_person.append([row["segment"], row["person"], row["measured"], row["met"], row["rate"], row["lost_minutes"]])
    by_unit = wb.create_sheet("按单位")
    by_unit.append(["环节", "单位", "已测", "达标", "达标率", "超时分钟"])
    for row in data["by_unit"]:
        by_unit.append([row["segment"], row["unit"], row["measured"], row["met"], row["rate"], row["lost_minutes"]])
    b = wb.create_sheet("车辆忙闲率")
    b.append(["单位", "车辆数", *[f"{h}时" for h in range(24)]])
    for row in busy["units"]:
        b.append([row["unit"], row["vehicles"], *row["busy_rate"]])
    return workbook_response(wb, f"repair-report-{timezone.localdate():%Y%m%d}")
