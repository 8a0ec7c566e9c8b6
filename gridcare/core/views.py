"""Health check, Prometheus metrics and the signed-in home page (its panels come from the apps: core/panels.py)."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.db.utils import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from gridcare.core import metrics as core_metrics
from gridcare.core.panels import render_context


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        db = {"status": "ok", "vendor": connection.vendor}
    except DatabaseError as exc:
        return JsonResponse({"status": "error", "database": {"status": "error", "error": str(exc)}}, status=503)
    return JsonResponse({"status": "ok", "database": db})


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus exposition for a scraper with the bearer token; 404 while no token is configured."""
    expected = settings.GRIDCARE_METRICS_TOKEN
    if not expected:
        raise Http404
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given:
        response = HttpResponse("missing bearer token\n", status=401, content_type="text/plain; charset=utf-8")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    if not hmac.compare_digest(given.strip().encode(), expected.encode()):
        return HttpResponse("wrong token\n", status=403, content_type="text/plain; charset=utf-8")
    return HttpResponse(core_metrics.exposition(), content_type=core_metrics.CONTENT_TYPE)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "core/home.html", {"panels": render_context(request)})
