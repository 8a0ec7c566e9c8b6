"""Repair pages: the dispatcher's map and lists, the crew's phone page, the A–H reports, and the storm board with
the agent's one-line call."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from gridcare.core.errors import Forbidden, NotFound, ServiceError
from gridcare.core.excel import Sheet, sheets_response
from gridcare.customers.selectors import customer_get
from gridcare.org import policy
from gridcare.repair import reports
from gridcare.repair.board import may_see_board, storm_board
from gridcare.repair.models import ProbableOutage
from gridcare.repair.services import storm_call_record
from gridcare.repair.services.storm import quick_call_summary
from gridcare.workorders.models import Channel


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


# --------------------------------------------------------------------------------------------------- storm mode


def _board_allowed(request: HttpRequest) -> None:
    if not may_see_board(request.user):
        raise PermissionDenied("暴雨看板供值长和抢修调度使用")


@login_required
def storm(request: HttpRequest) -> HttpResponse:
    """The storm board: the page, which refreshes its board part every 15 seconds (storm.js)."""
    _board_allowed(request)
    return render(
        request,
        "repair/storm.html",
        {"b": storm_board(user=request.user), "may_switch": policy.may(request.user, "repair.storm")},
    )


@login_required
def storm_fragment(request: HttpRequest) -> HttpResponse:
    _board_allowed(request)
    return render(
        request,
        "repair/_storm_board.html",
        {"b": storm_board(user=request.user), "may_switch": policy.may(request.user, "repair.storm")},
    )


@login_required
@require_POST
def storm_call(request: HttpRequest) -> HttpResponse:
    """一键报修 from the agent's customer panel: the caller's number (and a note) joins the known outage."""
    account_no = request.POST.get("account_no", "").strip()
    back = f"{reverse('workorders:intake')}?{urlencode({'account': account_no})}"
    try:
        policy.require_role(request.user, "repair.quick_call")
        customer = customer_get(user=request.user, account_no=account_no)
        outage_id = request.POST.get("outage", "")
        told = ProbableOutage.objects.filter(pk=int(outage_id)).first() if outage_id.isdigit() else None
        order, ticket, known = storm_call_record(
            customer=customer,
            phone=request.POST.get("phone", ""),
            note=request.POST.get("note", ""),
            outage=told,
            actor=request.user,  # type: ignore[arg-type]
            channel=Channel.PHONE,
        )
    except Forbidden as exc:
        raise PermissionDenied(exc.message) from None
    except NotFound as exc:
        raise Http404(exc.message) from None
    except ServiceError as exc:
        messages.error(request, f"一键报修未登记：{exc.message}")
        return redirect(back)
    summary = quick_call_summary(order, ticket, known)
    if summary["joined"]:
        messages.success(
            request, f"已登记一键报修 {order.number}，并入故障 {known.pk}（该故障第 {known.call_count} 个来电）"
        )
    else:
        messages.warning(
            request, f"已登记报修 {order.number}，但研判将其归入故障 {ticket.outage_id}，而非告知客户的故障 {known.pk}"
        )
    return redirect(back)
