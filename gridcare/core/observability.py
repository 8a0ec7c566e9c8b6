"""Request ids, request metrics and log formats: what an operator needs to follow one request through the logs.

`RequestIdMiddleware` gives every request an id (the caller's `X-Request-ID` when it is well formed, so a
proxy's or partner system's id carries through; else a fresh one), returns it in the response header and puts it
on every log record written while the request runs (`RequestIdFilter`). It also counts the request and its
latency by route pattern (`/workorders/<str:number>/`, never the raw path, so label values stay bounded).
`JsonFormatter` writes one JSON object per line for log collectors; GRIDCARE_LOG_FORMAT=json chooses it.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import re
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.core.signals import request_finished
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

from gridcare.core import metrics

HEADER = "X-Request-ID"
# Letters, digits and a few separators, at most 64: a UUID, a trace id or a proxy's id fit; nothing that could
# forge a log line (newlines, quotes) or blow up a log index does.
_WELL_FORMED = re.compile(r"[A-Za-z0-9._:-]{8,64}")
_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("gridcare_request_id", default="-")


def current_request_id() -> str:
    return _request_id.get()


def request_id_for(incoming: str | None) -> str:
    if incoming and _WELL_FORMED.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


def route_of(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    if match is not None and match.route:
        return "/" + str(match.route)
    if request.path.startswith(settings.STATIC_URL):
        return settings.STATIC_URL + "*"
    return "(unmatched)"


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        rid = request_id_for(request.headers.get(HEADER))
        # Not reset on the way out: Django logs a 4xx/5xx ("Not Found: …") after the middleware chain has
        # returned; the id is cleared when the response is closed (request_finished, below).
        _request_id.set(rid)
        request.request_id = rid  # type: ignore[attr-defined]
        started = time.perf_counter()
        response = self.get_response(request)
        response[HEADER] = rid
        metrics.request_observed(
            request.method or "-", route_of(request), response.status_code, time.perf_counter() - started
        )
        return response


@receiver(request_finished, dispatch_uid="gridcare.observability.clear_request_id")
def clear_request_id(**kwargs: object) -> None:
    """A thread's log lines after its request (and before the next) must not carry the finished request's id."""
    _request_id.set("-")


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record ("-" outside a request: the worker, commands)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            # UTC, as the database stores times; the "Z" says so.
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", _request_id.get()),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)
