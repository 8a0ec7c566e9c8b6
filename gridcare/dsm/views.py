"""Load pages: the customer 360 load section, the feeder load page, and plotly.js from the plotly package."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from gridcare.core.errors import NotFound
from gridcare.dsm import selectors
from gridcare.dsm.analytics import slot_label
from gridcare.grid.selectors import feeders_visible

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
