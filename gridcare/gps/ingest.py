"""What every GPS edge does with a request before storing it: the shared token check and the HTTP answer."""

from __future__ import annotations

import hmac
from urllib.parse import parse_qsl

from gridcare.gps.parsing import ParsedRequest


def token_ok(expected: str, *, query: str, header: str | None) -> bool:
    """With GRIDCARE_GPS_TOKEN set, a request must carry it as `?token=` (what a phone client's URL can
    hold) or in the `X-GridCare-Token` header; compared in constant time."""
    if not expected:
        return True
    supplied = header or ""
    if not supplied:
        try:
            supplied = next((v for k, v in parse_qsl(query, max_num_fields=64) if k == "token"), "")
        except ValueError:
            return False
    return hmac.compare_digest(supplied.encode(), expected.encode())


def unknown_device_answer(parsed: ParsedRequest) -> tuple[int, str]:
    """Traccar answers an unknown device with 400 in the query/form layout and 404 in the JSON layout;
    clients built against it expect exactly that."""
    status = 404 if parsed.fmt == "json" else 400
    return status, f"未登记的设备号 {parsed.device_id!r}：请先在车辆档案中登记 (unknown device)"
