"""Health check and the signed-in home page (its panels come from the apps: gridcare/core/panels.py)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.db.utils import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

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


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "core/home.html", {"panels": render_context(request)})
