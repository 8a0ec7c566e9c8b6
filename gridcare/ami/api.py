"""`POST /api/v1/ami/events`: meter events from the head-end system (采集主站), one event or a batch.

The head-end has no GridCare account: it sends the shared secret GRIDCARE_AMI_TOKEN in `X-GridCare-Token` (or
`?token=` where only a URL can be configured), as GPS devices and SMS gateways do. An administrator's API token or
session may post too (tests, replays); no other role, and never anyone without a credential.
"""

from __future__ import annotations

import hmac
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema
from ninja.security import HttpBearer, SessionAuth
from ninja.security.base import AuthBase

from gridcare.ami import ingest
from gridcare.ami.config import get_config
from gridcare.ami.models import Channel
from gridcare.ami.parsing import AmiRejected
from gridcare.ami.permissions import INGEST
from gridcare.core.errors import Forbidden, ServiceError
from gridcare.org import policy
from gridcare.org.services import token_authenticate

router = Router(tags=["ami"])

HEAD_END = "用电信息采集主站"  # the actor recorded for events the shared secret let in
CLOSED = (
    "未配置 GRIDCARE_AMI_TOKEN：采集主站的事件不被接受，请管理员设置后在主站配置该令牌 (no head-end token configured)"
)
REFUSED = "X-GridCare-Token 令牌无效 (bad head-end token)"


class HeadEndAuth(AuthBase):
    """The head-end's shared secret, compared in constant time. A request that carries none is left to the user
    credentials after this one; a request that carries a wrong one is refused at once (403)."""

    openapi_type = "apiKey"
    openapi_in = "header"
    openapi_name = "X-GridCare-Token"

    def __call__(self, request: HttpRequest) -> str | None:
        supplied = request.headers.get("X-GridCare-Token") or request.GET.get("token") or ""
        if not supplied:
            return None
        expected = get_config().token
        if not expected:
            raise Forbidden(CLOSED)
        if not hmac.compare_digest(supplied.encode(), expected.encode()):
            raise Forbidden(REFUSED)
        return HEAD_END


class UserTokenAuth(HttpBearer):
    """A GridCare API token (`gridcare token create`), as everywhere else in the API."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = token_authenticate(token)
        if user is not None:
            request.user = user
        return user


class TooLarge(ServiceError):
    status = 413


class MeterEventErrorOut(Schema):
    index: int
    event_id: str
    field: str
    reason: str


class MeterEventsReceiptOut(Schema):
    received: int
    stored: int
    duplicates: int
    unknown_meters: int
    conflicts: int
    invalid: int
    errors: list[MeterEventErrorOut]


_EVENT = {
    "type": "object",
    "required": ["event_id", "meter_no", "kind", "at"],
    "properties": {
        "event_id": {"type": "string", "maxLength": 64, "description": "主站事件编号（幂等键）"},
        "meter_no": {"type": "string", "maxLength": 32, "description": "电表资产号"},
        "kind": {
            "type": "string",
            "description": "last_gasp/停电事件、restored/复电事件、voltage_loss/失压（见 docs/meter-events.md）",
        },
        "at": {
            "oneOf": [{"type": "number"}, {"type": "string"}],
            "description": "Unix 秒或毫秒，或带时区的 ISO 8601（2026-06-01T08:00:00+08:00）",
        },
    },
}
_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "oneOf": [
                    _EVENT,
                    {
                        "type": "object",
                        "required": ["events"],
                        "properties": {"events": {"type": "array", "items": _EVENT}},
                    },
                    {"type": "array", "items": _EVENT},
                ]
            }
        }
    },
}


@router.post(
    "/events",
    response=MeterEventsReceiptOut,
    auth=[HeadEndAuth(), UserTokenAuth(), SessionAuth()],
    summary="接收电表事件（停电、复电、失压；单条或批量，按 event_id 幂等）",
    openapi_extra={"requestBody": _BODY},
)
def events(request: HttpRequest) -> dict[str, Any]:
    caller = request.auth  # type: ignore[attr-defined]
    if caller != HEAD_END:
        policy.require_role(caller, INGEST)
    try:
        answer, _ = ingest.receive(
            request.body, channel=Channel.HTTP, now=timezone.now(), config=get_config(), actor=caller
        )
    except AmiRejected as exc:
        raise (TooLarge if exc.status == 413 else ServiceError)(exc.reason, errors=exc.fields()) from None
    return answer.as_dict()
