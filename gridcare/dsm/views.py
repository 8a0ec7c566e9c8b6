"""Load pages (the customer 360 load section, the feeder load page, plotly.js from the plotly package) and the
orderly-use pages: plans (list, new, detail) and demand-response events (status, opt-in/out, measured response)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_POST

from gridcare.core.calendar import load_calendar
from gridcare.core.errors import NotFound, ServiceError
from gridcare.core.excel import table_response
from gridcare.dsm import selectors, services
from gridcare.dsm.analytics import slot_label
from gridcare.dsm.forms import OptForm, PlanForm, StatusForm
from gridcare.dsm.models import DemandResponseEvent, OrderlyUsePlan, Participation
from gridcare.dsm.permissions import OPT_RECORDERS, PLANNERS, may
from gridcare.grid.selectors import feeders_visible
from gridcare.notices.selectors import notice_stats

SLOT_LABELS = [slot_label(i) for i in range(96)]


def _day(request: HttpRequest, name: str) -> dt.date | None:
    raw = request.GET.get(name, "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        return None


@require_GET
@cache_control(max_age=86400, public=True)
def plotly_js(request: HttpRequest) -> FileResponse:
    """plotly.min.js as the installed `plotly` package ships it: nothing copied into the repository."""
    import plotly

    path = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
    if not path.is_file():
        raise Http404("plotly.min.js is missing from the installed plotly package")
    return FileResponse(path.open("rb"), content_type="text/javascript")


def _customer_context(request: HttpRequest, account_no: str) -> dict[str, object]:
    try:
        load = selectors.customer_load(user=request.user, account_no=account_no, day_to=_day(request, "day"))
    except NotFound as exc:
        raise Http404(exc.message) from None
    chart = {
        "x": SLOT_LABELS,
        "series": [{"name": d.isoformat(), "y": curve} for d, curve in zip(load.days, load.curves, strict=True)],
        "typical": load.typical,
        "limit": None,
    }
    return {"load": load, "c": load.customer, "chart_json": json.dumps(chart), "slot_labels": SLOT_LABELS}


@login_required
def customer_load_fragment(request: HttpRequest, account_no: str) -> HttpResponse:
    """The 360 page's load section (an HTML fragment the page fetches)."""
    return render(request, "dsm/_customer_load.html", _customer_context(request, account_no))


@login_required
def customer_load(request: HttpRequest, account_no: str) -> HttpResponse:
    return render(request, "dsm/customer_load.html", _customer_context(request, account_no))


@login_required
def feeder_load(request: HttpRequest, code: str) -> HttpResponse:
    try:
        load = selectors.feeder_load(user=request.user, code=code, day=_day(request, "day"))
    except NotFound as exc:
        raise Http404(exc.message) from None
    chart = {
        "x": SLOT_LABELS,
        "total": load.total,
        "capacity_kw": load.capacity_kva * 0.9,
        "areas": [{"name": f"{a['code']} {a['name']}", "y": a["curve"]} for a in load.areas if a["curve"]],
    }
    return render(request, "dsm/feeder_load.html", {"load": load, "chart_json": json.dumps(chart)})


@login_required
def index(request: HttpRequest) -> HttpResponse:
    feeders = feeders_visible(user=request.user)[:200]
    return render(request, "dsm/index.html", {"feeders": feeders, "has_data": selectors.interval_source() is not None})


# --- orderly-use plans and demand-response events ----------------------------------------------------


def _require(request: HttpRequest, roles: set[str]) -> None:
    if not may(request.user, roles):
        raise Http404("无权限")


def _form_error(form: forms.Form, exc: ServiceError) -> None:
    """Show a service's message next to the field it names (or on top of the form)."""
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


@login_required
def plans(request: HttpRequest) -> HttpResponse:
    _require(request, PLANNERS)
    status = request.GET.get("status", "")
    sort = request.GET.get("sort", "-created_at")
    qs = selectors.plan_list(user=request.user, status=status, sort=sort)
    if request.GET.get("export") == "xlsx":
        return _plans_xlsx(qs)
    page = Paginator(qs.prefetch_related("feeders"), 50).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    params.pop("sort", None)
    events: dict[int, list[Any]] = {}
    for e in DemandResponseEvent.objects.filter(plan__in=[p.pk for p in page]).order_by("created_at"):
        events.setdefault(e.plan_id or 0, []).append(e)
    rows = [(p, events.get(p.pk, [])) for p in page]
    return render(
        request,
        "dsm/plans.html",
        {
            "page": page,
            "rows": rows,
            "status": status,
            "sort": sort,
            "statuses": OrderlyUsePlan.Status.choices,
            "base_query": params.urlencode(),
            "export_query": urlencode([*params.lists(), ("sort", sort), ("export", "xlsx")], doseq=True),
        },
    )


def _xlsx(name: str, header: list[str], rows: list[list[Any]]) -> HttpResponse:
    return table_response(f"{name}-{timezone.localtime():%Y%m%d-%H%M}", name, header, rows)


def _plans_xlsx(qs: Any) -> HttpResponse:
    rows = [
        [
            p.name,
            p.get_status_display(),
            timezone.localtime(p.window_start).strftime("%Y-%m-%d %H:%M"),
            timezone.localtime(p.window_end).strftime("%Y-%m-%d %H:%M"),
            float(p.target_kw),
            float(p.planned_kw),
            float(p.shortfall_kw),
            float(p.cost),
            p.created_by,
        ]
        for p in qs[:10000]
    ]
    header = [
        "方案名称",
        "状态",
        "开始时间",
        "结束时间",
        "削减目标(kW)",
        "计划削减(kW)",
        "缺口(kW)",
        "经济代价(元)",
        "编制人",
    ]
    return _xlsx("plans", header, rows)


@login_required
def plan_new(request: HttpRequest) -> HttpResponse:
    _require(request, PLANNERS)
    choices = [(f.code, f"{f.code} {f.name}") for f in feeders_visible(user=request.user).order_by("code")[:500]]
    form = PlanForm(request.POST or None, feeder_choices=choices)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        found = {f.code: f for f in feeders_visible(user=request.user).filter(code__in=d["feeders"])}
        try:
            plan = services.orderly_plan_create(
                name=d["name"],
                target_kw=(d["target_mw"] * 1000).quantize(Decimal("0.1")),
                window_start=d["window_start"],
                window_end=d["window_end"],
                feeders=[found[c] for c in d["feeders"] if c in found],
                actor=request.user,
                now=timezone.now(),
            )
        except ServiceError as exc:
            _form_error(form, exc)
        else:
            if plan.shortfall_kw > 0:
                messages.warning(request, f"方案已编制，但目标无法完全达到：缺口 {plan.shortfall_kw} kW")
            else:
                messages.success(request, "方案已编制，达到削减目标")
            return redirect("dsm:plan", pk=plan.pk)
    return render(request, "dsm/plan_form.html", {"form": form})


@login_required
def plan_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, PLANNERS)
    try:
        plan = selectors.plan_get(user=request.user, pk=pk)
    except NotFound as exc:
        raise Http404(exc.message) from None
    allocations = selectors.plan_allocations(plan)
    return render(
        request,
        "dsm/plan_detail.html",
        {
            "plan": plan,
            "allocations": allocations,
            "feeders": plan.feeders.order_by("code"),
            "events": DemandResponseEvent.objects.filter(plan=plan).order_by("created_at"),
            "target_mw": format((plan.target_kw / 1000).normalize(), "f"),
        },
    )


@login_required
@require_POST
def plan_to_event(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, PLANNERS)
    try:
        plan = selectors.plan_get(user=request.user, pk=pk, act=True)
    except NotFound as exc:
        raise Http404(exc.message) from None
    try:
        event = services.dr_event_create(plan=plan, actor=request.user, now=timezone.now())
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("dsm:plan", pk=pk)
    messages.success(request, f"已生成需求响应事件 {event.event_id}，并已通知 {event.participants.count()} 户入选客户")
    return redirect("dsm:event", event_id=event.event_id)


def _event(request: HttpRequest, event_id: str, act: bool = False) -> DemandResponseEvent:
    try:
        return selectors.event_get(user=request.user, event_id=event_id, act=act)
    except NotFound as exc:
        raise Http404(exc.message) from None


@login_required
def event_detail(request: HttpRequest, event_id: str) -> HttpResponse:
    _require(request, OPT_RECORDERS)
    event = _event(request, event_id)
    report = selectors.event_report(event)
    if request.GET.get("export") == "xlsx":
        return _report_xlsx(report)
    status_labels = dict(DemandResponseEvent.Status.choices)
    order = list(DemandResponseEvent.Status.values)
    next_status = [(s, status_labels[s]) for s in order if s in services.DR_TRANSITIONS[event.status]]
    notices = [(n, notice_stats(n)) for n in event.notices.order_by("created_at", "pk")]
    return render(
        request,
        "dsm/event_detail.html",
        {
            "e": event,
            "report": report,
            "next_status": next_status,
            "notices": notices,
            "can_plan": may(request.user, PLANNERS),
            "open": event.status not in ("completed", "cancelled"),
            "ended": timezone.now() >= event.end,
        },
    )


def _report_xlsx(report: selectors.ResponseReport) -> HttpResponse:
    opt = dict(Participation.Opt.choices)

    def num(value: Decimal | None) -> float | None:
        return None if value is None else float(value)

    rows: list[list[Any]] = [
        [
            r.account_no,
            r.name,
            str(opt.get(r.opt, r.opt)),
            num(r.planned_kw),
            num(r.baseline_kw),
            num(r.actual_kw),
            num(r.delivered_kw),
            num(r.ratio),
        ]
        for r in report.rows
    ]
    rows.append(["合计", "", "", num(report.planned_kw), None, None, num(report.delivered_kw), num(report.ratio)])
    header = ["户号", "户名", "响应", "计划削减(kW)", "基线(kW)", "实际(kW)", "实际削减(kW)", "完成率"]
    return _xlsx(f"response-{report.event.event_id}", header, rows)


@login_required
@require_POST
def event_status(request: HttpRequest, event_id: str) -> HttpResponse:
    _require(request, PLANNERS)
    event = _event(request, event_id, act=True)
    form = StatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, "请选择有效的状态")
        return redirect("dsm:event", event_id=event_id)
    try:
        event = services.dr_event_set_status(
            event=event,
            status=form.cleaned_data["status"],
            reason=form.cleaned_data["reason"],
            actor=request.user,
            now=timezone.now(),
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"事件状态已改为「{event.get_status_display()}」")
    return redirect("dsm:event", event_id=event_id)


@login_required
@require_POST
def event_opt(request: HttpRequest, event_id: str, account_no: str) -> HttpResponse:
    _require(request, OPT_RECORDERS)
    event = _event(request, event_id, act=True)
    form = OptForm(request.POST)
    try:
        part = selectors.participation_get(event=event, account_no=account_no)
        if not form.is_valid():
            raise ServiceError("请选择参与或不参与", field="opt")
        services.participation_set_opt(
            participation=part, opt=form.cleaned_data["opt"], actor=request.user, now=timezone.now()
        )
    except NotFound as exc:
        raise Http404(exc.message) from None
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"已登记 {part.customer.name}（{account_no}）的响应意向")
    return redirect("dsm:event", event_id=event_id)


@login_required
@require_POST
def event_measure(request: HttpRequest, event_id: str) -> HttpResponse:
    _require(request, PLANNERS)
    event = _event(request, event_id, act=True)
    try:
        services.dr_event_measure(
            event=event, actor=request.user, now=timezone.now(), is_workday=load_calendar().is_working_day
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "已按基线测量各客户实际响应")
    return redirect("dsm:event", event_id=event_id)
