"""What every GPS edge does with a request before storing it: the token check and the HTTP answers."""

from __future__ import annotations

import hmac
from urllib.parse import parse_qsl

from gridcare.gps.config import GpsConfig
from gridcare.gps.parsing import ParsedRequest

# One answer for every refused request, whatever the device id: a known device with a wrong token, an
# unknown device, or no token at all must be indistinguishable, or the answers enumerate the fleet's ids.
REFUSED = (403, "令牌无效 (bad or missing token)")
# With no token configured and the ingest not explicitly opened, nothing is accepted; the answer says so
# (it is the same for every device, so it tells an attacker nothing about ids).
CLOSED = (403, "GPS 接收未开放：管理员需设置 GRIDCARE_GPS_TOKEN (ingest closed: no GRIDCARE_GPS_TOKEN configured)")


def supplied_token(*, query: str, header: str | None) -> str:
    """The token a request carries: the `X-GridCare-Token` header, else `?token=` (what a phone app's server
    URL can hold)."""
    if header:
        return header
    if "token=" not in query:
        return ""
    try:
        return next((v for k, v in parse_qsl(query, max_num_fields=64) if k == "token"), "")
    except ValueError:
        return ""


def token_ok(expected: str, *, query: str, header: str | None) -> bool:
    """The request carries `expected`, compared in constant time; an empty `expected` accepts anything (only
    `refusal()` decides whether that is allowed)."""
    if not expected:
        return True
    return hmac.compare_digest(supplied_token(query=query, header=header).encode(), expected.encode())


def refusal(config: GpsConfig, *, query: str, header: str | None) -> tuple[int, str] | None:
    """None if the request may be stored, else the answer. Checked before the body is parsed or a device
    looked up, so the answer cannot depend on the device id."""
    if config.token:
        return None if token_ok(config.token, query=query, header=header) else REFUSED
    return None if config.open_ingest else CLOSED


def unknown_device_answer(parsed: ParsedRequest) -> tuple[int, str]:
    """Traccar answers an unknown (or disabled) device with 400 in the query/form layout and 404 in the JSON layout;
    clients built against it expect exactly that. Only a caller that passed `refusal()` gets here."""
    status = 404 if parsed.fmt == "json" else 400
    return status, f"未登记的设备号 {parsed.device_id!r}：请先在 GPS 设备档案中登记并启用 (unknown device)"
