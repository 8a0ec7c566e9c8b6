"""Repair pages: the dispatcher's map and lists, the crew's phone page, and the A–H reports."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from gridcare.core.excel import Sheet, sheets_response
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
    # Person and unit names are typed by people: sheets_response writes every cell as text, never a formula.
    sheets: list[Sheet] = [
        (
            "环节达标",
            ["环节", "已测", "达标", "达标率", "超时分钟"],
            [[r["segment"], r["measured"], r["met"], r["rate"], r["lost_minutes"]] for r in data["segments"]],
        ),
        (
            "按人员",
            ["环节", "人员/单位", "已测", "达标", "达标率", "超时分钟"],
            [
                [r["segment"], r["person"], r["measured"], r["met"], r["rate"], r["lost_minutes"]]
                for r in data["by_person"]
            ],
        ),
        (
            "按单位",
            ["环节", "单位", "已测", "达标", "达标率", "超时分钟"],
            [[r["segment"], r["unit"], r["measured"], r["met"], r["rate"], r["lost_minutes"]] for r in data["by_unit"]],
        ),
        (
            "车辆忙闲率",
            ["单位", "车辆数", *[f"{h}时" for h in range(24)]],
            [[r["unit"], r["vehicles"], *r["busy_rate"]] for r in busy["units"]],
        ),
    ]
    return sheets_response(f"repair-report-{timezone.localdate():%Y%m%d}", sheets)
