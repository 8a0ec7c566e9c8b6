"""`/gps/osmand` on the main site: the OsmAnd / Traccar Client protocol for devices that reach the web server.

No login and no CSRF token: a phone client cannot hold either. The device id is the credential (only
registered devices are stored), optionally with the shared GRIDCARE_GPS_TOKEN.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from gridcare.gps import selectors
from gridcare.gps.config import get_config
from gridcare.gps.ingest import token_ok, unknown_device_answer
from gridcare.gps.parsing import GpsRejected, parse_http, skipped_note
from gridcare.gps.services import positions_ingest


def _text(status: int, text: str = "") -> HttpResponse:
    return HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")


@csrf_exempt
@require_http_methods(["GET", "POST"])
def osmand(request: HttpRequest) -> HttpResponse:
    config = get_config()
    query = request.META.get("QUERY_STRING", "")
    if not token_ok(config.token, query=query, header=request.headers.get("X-GridCare-Token")):
        return _text(403, "令牌无效 (bad or missing token)")
    body = request.body if request.method == "POST" else b""
    if len(body) > config.max_body_bytes:
        return _text(413, f"请求体超过 {config.max_body_bytes} 字节 (body too large)")
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
    vehicle_id = selectors.vehicle_ids_for_devices([parsed.device_id]).get(parsed.device_id)
    if vehicle_id is None:
        return _text(*unknown_device_answer(parsed))
    positions_ingest(items=[(vehicle_id, fix) for fix in parsed.fixes], received_at=now, config=config)
    return _text(200, skipped_note(parsed))
