"""`/gps/osmand` on the main site: the OsmAnd / Traccar Client protocol for devices that reach the web server.

No login and no CSRF token: a phone client cannot hold either. The credential is GRIDCARE_GPS_TOKEN in the
URL or a header; without one nothing is accepted unless GRIDCARE_GPS_OPEN says so (see docs/gps.md).
"""

from __future__ import annotations

import logging

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from gridcare.gps import selectors
from gridcare.gps.config import get_config
from gridcare.gps.ingest import refusal, unknown_device_answer
from gridcare.gps.parsing import GpsRejected, parse_http, skipped_note
from gridcare.gps.services import positions_ingest

log = logging.getLogger("gridcare.gps")


def _text(status: int, text: str = "") -> HttpResponse:
    return HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")


def _read_body(request: HttpRequest, limit: int) -> bytes | HttpResponse:
    """The body, or the answer refusing it: 413 over `limit` (before reading, from Content-Length, and while
    reading, for a body that claims less than it sends). Read from the stream, not `request.body`, whose own
    limit (DATA_UPLOAD_MAX_MEMORY_SIZE) ends in Django's 400 HTML page."""
    raw_length = request.META.get("CONTENT_LENGTH") or "0"
    if not (raw_length.isascii() and raw_length.isdigit()):
        return _text(400, "Content-Length 无效 (bad Content-Length)")
    too_large = _text(413, f"请求体超过 {limit} 字节 (body too large)")
    if int(raw_length) > limit:
        return too_large
    if request.method != "POST":
        return b""
    body = request.read(limit + 1)
    return too_large if len(body) > limit else body


@csrf_exempt
@require_http_methods(["GET", "POST"])
def osmand(request: HttpRequest) -> HttpResponse:
    config = get_config()
    query = request.META.get("QUERY_STRING", "")
    # Size first, as the listener does: a body over the limit is 413 whoever sends it.
    body = _read_body(request, config.max_body_bytes)
    if isinstance(body, HttpResponse):
        return body
    refused = refusal(config, query=query, header=request.headers.get("X-GridCare-Token"))
    if refused is not None:
        return _text(*refused)
    now = timezone.now()
    try:
        parsed = parse_http(
            query=query,
            body=body,
            content_type=request.content_type or "",
            now=now,
            options=config.parse_options(),
        )
    except GpsRejected as exc:
        return _text(exc.status, exc.reason)
    device_pk = selectors.device_pk(parsed.device_id)
    if device_pk is None:
        return _text(*unknown_device_answer(parsed))
    try:
        positions_ingest(items=[(device_pk, fix) for fix in parsed.fixes], received_at=now, config=config)
    except DatabaseError:
        # Parsing lets through only values every column holds, so this is the database itself: the client
        # keeps the fixes and retries, as it would after any 503.
        log.exception("GPS fixes from %r could not be stored", parsed.device_id)
        return _text(503, "暂时无法保存，请稍后重试 (storage unavailable, retry later)")
    return _text(200, skipped_note(parsed))
