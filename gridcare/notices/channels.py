"""The channels behind one interface: e-mail over SMTP, SMS through an HTTP gateway, in-app, and a file outbox.

A channel's `open()` returns a sender used for one batch (an SMTP connection is reused across the batch).
`send()` returns what the provider answered, or raises `TransientError` (try again later: timeouts, 5xx,
4xx SMTP replies) or `PermanentError` (no address, the gateway refused the number: do not retry).
`idempotent` says whether sending the same message twice is harmless (the provider or the channel dedupes on
`Envelope.key`); only then may a message whose worker died mid-call be sent again.
"""

from __future__ import annotations

import json
import os
import smtplib
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any, Protocol

from gridcare.notices.config import NoticeConfig


@dataclass(frozen=True)
class Envelope:
    message_id: int
    key: str  # idempotency key: the same for every attempt of one message
    to: str
    subject: str
    body: str
    customer_id: int
    account_no: str
    sent_at: Any  # aware datetime; the time the worker passes in


@dataclass(frozen=True)
class SendResult:
    provider_ref: str
    response: str
    delivered: bool = False  # in-app and outbox are delivered when written


class TransientError(Exception):
    pass


class PermanentError(Exception):
    pass


class Sender(Protocol):
    def send(self, envelope: Envelope) -> SendResult: ...

    def close(self) -> None: ...


class Channel(Protocol):
    name: str
    idempotent: bool

    def open(self) -> Sender: ...


# --- e-mail ---------------------------------------------------------------------------------------------------


def smtp_tls_context(config: NoticeConfig) -> ssl.SSLContext:
    """Certificate and host name checked (against GRIDCARE_SMTP_CA_FILE when given) unless verification is off."""
    c = config.smtp
    context = ssl.create_default_context(cafile=c.ca_file or None)
    if not c.verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _smtp_answer(exc: smtplib.SMTPResponseException) -> str:
    text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
    return f"{exc.smtp_code} {text}"


class _SmtpSender:
    def __init__(self, config: NoticeConfig):
        self.config = config
        self.conn: smtplib.SMTP | None = None
        # A refused login or an unreachable server fails every message of the batch the same way: connect once.
        self.connect_error: TransientError | None = None

    def _login(self, conn: smtplib.SMTP) -> None:
        c = self.config.smtp
        if c.auth == "auto":
            conn.login(c.user, c.password)  # the strongest mechanism both sides support
            return
        conn.ehlo_or_helo_if_needed()
        offered = conn.esmtp_features.get("auth", "").upper().split()
        mechanism = c.auth.upper()
        if mechanism not in offered:
            raise smtplib.SMTPException(f"服务器不支持 AUTH {mechanism}（支持：{' '.join(offered) or '无'}）")
        conn.user, conn.password = c.user, c.password
        authobject = conn.auth_login if mechanism == "LOGIN" else conn.auth_plain
        conn.auth(mechanism, authobject, initial_response_ok=mechanism == "PLAIN")

    def _connect(self) -> smtplib.SMTP:
        if self.connect_error is not None:
            raise self.connect_error
        c = self.config.smtp
        where = f"SMTP {c.host}:{c.port}"
        conn: smtplib.SMTP | None = None
        step = "连接"
        try:
            if c.ssl:
                conn = smtplib.SMTP_SSL(c.host, c.port, timeout=c.timeout, context=smtp_tls_context(self.config))
            else:
                conn = smtplib.SMTP(c.host, c.port, timeout=c.timeout)
                if c.starttls:
                    step = "STARTTLS"
                    conn.starttls(context=smtp_tls_context(self.config))
            if c.user:
                step = "认证"
                self._login(conn)
        except smtplib.SMTPResponseException as exc:
            self.connect_error = TransientError(f"{where} {step}失败：{_smtp_answer(exc)}")
        except (OSError, smtplib.SMTPException) as exc:
            self.connect_error = TransientError(f"{where} {step}失败：{exc}")
        if self.connect_error is not None or conn is None:
            if conn is not None:
                try:
                    conn.close()
                except OSError:
                    pass
            raise self.connect_error or TransientError(f"{where} 连接失败")
        return conn

    def send(self, envelope: Envelope) -> SendResult:
        if not envelope.to or "@" not in envelope.to:
            raise PermanentError("客户没有电子邮件地址")
        msg = EmailMessage()
        msg["From"] = self.config.smtp.sender
        msg["To"] = envelope.to
        msg["Subject"] = envelope.subject
        msg["Date"] = format_datetime(envelope.sent_at)
        domain = self.config.smtp.sender.rsplit("@", 1)[-1]
        msg["Message-ID"] = make_msgid(idstring=envelope.key, domain=domain)
        msg["X-GridCare-Key"] = envelope.key
        msg.set_content(envelope.body)
        if self.conn is None:
            self.conn = self._connect()
        try:
            refused = self.conn.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentError(f"收件人被拒绝：{exc.recipients}") from exc
        except smtplib.SMTPSenderRefused as exc:
            # Refusing our sender (or "530 authentication required") is a set-up problem, not this customer's:
            # retried with back-off like a timeout, dead-lettered after N attempts.
            self.close()
            raise TransientError(f"SMTP 发件人被拒绝：{_smtp_answer(exc)}") from exc
        except smtplib.SMTPResponseException as exc:
            self.close()
            err = f"SMTP {_smtp_answer(exc)}"
            if 500 <= exc.smtp_code < 600:
                raise PermanentError(err) from exc
            raise TransientError(err) from exc
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise TransientError(f"SMTP 发送失败：{exc}") from exc
        if refused:
            raise PermanentError(f"收件人被拒绝：{refused}")
        return SendResult(provider_ref=str(msg["Message-ID"]), response="250 accepted")

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.quit()
            except (OSError, smtplib.SMTPException):
                pass
            self.conn = None


class EmailChannel:
    name = "email"
    idempotent = False  # SMTP servers do not deduplicate on Message-ID

    def __init__(self, config: NoticeConfig):
        self.config = config

    def open(self) -> Sender:
        return _SmtpSender(self.config)


# --- SMS gateway ----------------------------------------------------------------------------------------------


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


class SmsGatewayChannel:
    name = "sms"

    def __init__(self, config: NoticeConfig):
        self.config = config
        self.idempotent = config.sms.idempotent

    def open(self) -> Sender:
        return _SmsSender(self.config)


# --- in-app ---------------------------------------------------------------------------------------------------


class _InAppSender:
    def send(self, envelope: Envelope) -> SendResult:
        from gridcare.notices.models import InAppMessage

        # One row per message (a one-to-one): writing it again after a crash changes nothing.
        row, created = InAppMessage.objects.get_or_create(
            message_id=envelope.message_id,
            defaults={
                "customer_id": envelope.customer_id,
                "title": envelope.subject[:200],
                "body": envelope.body,
                "created_at": envelope.sent_at,
            },
        )
        return SendResult(provider_ref=f"inapp-{row.pk}", response="created" if created else "exists", delivered=True)

    def close(self) -> None:
        return None


class InAppChannel:
    name = "inapp"
    idempotent = True

    def open(self) -> Sender:
        return _InAppSender()


# --- file outbox ----------------------------------------------------------------------------------------------


class _OutboxSender:
    def __init__(self, root: Path):
        self.root = root

    def send(self, envelope: Envelope) -> SendResult:
        day = envelope.sent_at.strftime("%Y%m%d")
        folder = self.root / day
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{envelope.key}.json"
            tmp = folder / f".{envelope.key}.tmp"
            record = {
                "key": envelope.key,
                "account_no": envelope.account_no,
                "to": envelope.to,
                "subject": envelope.subject,
                "body": envelope.body,
                "at": envelope.sent_at.isoformat(),
            }
            tmp.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, path)  # atomic: a reader never sees half a file; rewriting is harmless
        except OSError as exc:
            raise TransientError(f"写入离线文件失败：{exc}") from exc
        return SendResult(provider_ref=str(path), response="written", delivered=True)

    def close(self) -> None:
        return None


class OutboxChannel:
    name = "outbox"
    idempotent = True

    def __init__(self, config: NoticeConfig):
        self.root = config.outbox_dir

    def open(self) -> Sender:
        return _OutboxSender(self.root)


def build_channel(name: str, config: NoticeConfig) -> Channel:
    if name == "email":
        return EmailChannel(config)
    if name == "sms":
        return SmsGatewayChannel(config)
    if name == "inapp":
        return InAppChannel()
    if name == "outbox":
        return OutboxChannel(config)
    raise ValueError(f"unknown channel {name!r}")
