"""SMS through the operator's HTTP gateway (a JSON or form template with {to}, {text} and {ref})."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

from gridcare.notices.channels.base import (
    Envelope,
    NoticeChannel,
    PermanentError,
    Sender,
    SendResult,
    TransientError,
    register,
)

if TYPE_CHECKING:
    from gridcare.notices.config import NoticeConfig


def _json_escape(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)[1:-1]


class _SmsSender:
    def __init__(self, config: NoticeConfig):
        self.config = config

    def payload(self, envelope: Envelope) -> bytes:
        c = self.config.sms
        text = c.signature + envelope.body
        esc = _json_escape if c.content_type == "application/json" else urllib.parse.quote
        body = c.template.replace("{to}", esc(envelope.to)).replace("{text}", esc(text)).replace("{ref}", envelope.key)
        return body.encode("utf-8")

    def send(self, envelope: Envelope) -> SendResult:
        if not envelope.to:
            raise PermanentError("客户没有手机号码")
        c = self.config.sms
        request = urllib.request.Request(  # noqa: S310 - the URL is the operator's configured gateway
            c.url, data=self.payload(envelope), method="POST", headers={"Content-Type": c.content_type}
        )
        if c.auth_header:
            name, _, value = c.auth_header.partition(":")
            request.add_header(name.strip(), value.strip())
        try:
            with urllib.request.urlopen(request, timeout=c.timeout) as resp:  # noqa: S310
                answer = resp.read(2000).decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            answer = exc.read(2000).decode("utf-8", "replace")
            if 400 <= exc.code < 500 and exc.code not in (408, 429):
                raise PermanentError(f"短信网关拒绝 HTTP {exc.code}: {answer}") from exc
            raise TransientError(f"短信网关 HTTP {exc.code}: {answer}") from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise TransientError(f"短信网关不可达：{exc}") from exc
        ref = envelope.key
        try:
            data = json.loads(answer)
            if isinstance(data, dict):
                ref = str(data.get("id") or data.get("msgid") or data.get("ref") or ref)
        except ValueError:
            pass
        return SendResult(provider_ref=ref[:100], response=answer)

    def close(self) -> None:
        return None


@register
class SmsGatewayChannel(NoticeChannel):
    name = "sms"
    order = 10
    label = _("短信")
    reaches = "phone"
    rate_setting = "GRIDCARE_SMS_RATE_PER_MINUTE"
    default_rate_per_minute = 6000
    concurrency_setting = "GRIDCARE_SMS_CONCURRENCY"
    # One call at a time by default: a worker killed mid-batch then leaves at most one SMS whose fate is unknown.
    # Raising it overlaps the network waits (see docs/notices.md, Delivery) at the price of up to that many.
    default_concurrency = 1
    setup_hint = "GRIDCARE_SMS_URL"
    shows_subject = False

    def __init__(self, config: NoticeConfig):
        super().__init__(config)
        self.idempotent = config.sms.idempotent

    @classmethod
    def is_configured(cls, config: NoticeConfig) -> bool:
        return bool(config.sms.url)

    def open(self) -> Sender:
        return _SmsSender(self.config)
