"""E-mail over SMTP: STARTTLS or implicit TLS, LOGIN/PLAIN, certificate checked; one connection per batch."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
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


@register
class EmailChannel(NoticeChannel):
    name = "email"
    order = 20
    label = _("电子邮件")
    reaches = "address"  # e-mail addresses live only in the customer's preferences
    rate_setting = "GRIDCARE_EMAIL_RATE_PER_MINUTE"
    default_rate_per_minute = 1200
    concurrency_setting = "GRIDCARE_EMAIL_CONCURRENCY"
    default_concurrency = 1  # each concurrent send opens its own SMTP connection
    setup_hint = "GRIDCARE_SMTP_HOST"
    idempotent = False  # SMTP servers do not deduplicate on Message-ID

    @classmethod
    def is_configured(cls, config: NoticeConfig) -> bool:
        return bool(config.smtp.host)

    @classmethod
    def address_problem(cls, address: str) -> str:
        return "电子邮件地址格式不正确" if address and "@" not in address else ""

    def open(self) -> Sender:
        return _SmtpSender(self.config)
