"""Topology pages: the feeders in scope, and one feeder with its 台区 and customer counts."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from gridcare.core.errors import NotFound
from gridcare.grid import selectors


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
    areas = feeder.areas.annotate(n_customers=Count("service_points__customers")).order_by("code")
    total = selectors.feeder_customer_count(user=request.user, feeder=feeder)
    return render(request, "grid/feeder.html", {"feeder": feeder, "areas": areas, "total": total})
