"""Topology pages: the feeders in scope; one feeder with its schematic, devices, 台区 and switching operations;
and the dispatcher's confirmation page for opening or closing a device."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from gridcare.core.errors import Forbidden, NotFound, ServiceError
from gridcare.grid import selectors, services
from gridcare.grid.models import GridDevice
from gridcare.org import policy


@login_required
def feeders(request: HttpRequest) -> HttpResponse:
    qs = selectors.feeders_visible(user=request.user).annotate(n_areas=Count("areas")).order_by("code")
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "grid/feeders.html", {"page": page})


@login_required
def feeder_detail(request: HttpRequest, code: str) -> HttpResponse:
    try:
        feeder = selectors.feeder_get(user=request.user, code=code)
    except NotFound as exc:
        raise Http404(exc.message) from None
    areas = list(
        feeder.areas.select_related("device").annotate(n_customers=Count("service_points__customers")).order_by("code")
    )
    total = selectors.feeder_customer_count(user=request.user, feeder=feeder)
    may_switch = policy.may(request.user, "grid.switch") and policy.reaches(
        request.user, "grid.switch", holder=feeder.unit
    )
    context: dict[str, Any] = {
        "feeder": feeder,
        "areas": areas,
        "total": total,
        "schematic": selectors.feeder_schematic(user=request.user, feeder=feeder, areas=areas),
        "devices": list(selectors.feeder_devices(feeder=feeder)),
        "operations": list(selectors.feeder_operations(feeder=feeder, limit=20)),
        "transfers_in": selectors.feeder_transfers_in(feeder=feeder),
        "may_switch": may_switch,
    }
    return render(request, "grid/feeder.html", context)


class SwitchForm(forms.Form):
    note = forms.CharField(label="操作说明", max_length=services.NOTE_MAX, required=False)


def _switchable(request: HttpRequest, code: str) -> GridDevice:
    """The device, if the user may operate it: a role that may not gets 403, another unit's device reads like a
    missing one (404)."""
    try:
        policy.require_role(request.user, "grid.switch")
        device = selectors.device_get(user=request.user, code=code)
        policy.authorize(
            request.user, "grid.switch", holder=device.feeder.unit, missing=f"设备 {code} 不存在或不在您的数据范围内"
        )
    except NotFound as exc:
        raise Http404(exc.message) from None
    except Forbidden as exc:
        raise PermissionDenied(exc.message) from None
    return device


@login_required
def device_switch(request: HttpRequest, code: str) -> HttpResponse:
    """GET: what opening (or closing) the device would do, and a confirm button; POST: do it."""
    device = _switchable(request, code)
    opened = not device.is_open  # the page offers the one operation that changes the device's state
    form = SwitchForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.device_switch(device=device, opened=opened, actor=request.user, note=form.cleaned_data["note"])
        except ServiceError as exc:
            form.add_error(None, exc.message)
        else:
            action = "断开" if opened else "合上"
            messages.success(request, f"已{action}{device.get_kind_display()} {device.code}")
            return redirect("grid:feeder", code=device.feeder.code)
    preview = selectors.switch_preview(device=device, opened=opened)
    return render(
        request,
        "grid/switch.html",
        {"device": device, "opened": opened, "preview": preview, "form": form},
        status=400 if form.errors else 200,
    )
