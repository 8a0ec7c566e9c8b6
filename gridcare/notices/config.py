"""Notice settings read from the environment (channels, limits, rules), with the helpers that fail loudly.

Read once per process through `get_config()`; tests and benchmarks build their own with `load_config(environ)`
and install it with `override(config)`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from gridcare.core.env import env_bool, env_int, env_list, env_str
from gridcare.notices.channels.base import channel_class, channel_classes

SMTP_AUTH_METHODS = ("auto", "login", "plain")
DEFAULT_SMS_TEMPLATE = '{"phone": "{to}", "content": "{text}", "ref": "{ref}"}'


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    user: str
    password: str
    starttls: bool
    ssl: bool
    timeout: int
    sender: str
    auth: str = "auto"  # auto (what the server offers, strongest first), login or plain
    verify: bool = True  # check the server's certificate and host name
    ca_file: str = ""  # trust this CA (or self-signed certificate) instead of the system store


@dataclass(frozen=True)
class SmsConfig:
    url: str
    template: str
    content_type: str
    auth_header: str
    idempotent: bool
    signature: str
    timeout: int


@dataclass(frozen=True)
class NoticeConfig:
    smtp: SmtpConfig
    sms: SmsConfig
    outbox_dir: Path
    rate_per_minute: dict[str, int]  # per channel, from its `rate_setting`; 0 (or missing) = unlimited
    default_channels: list[str]
    max_attempts: int
    backoff_seconds: int
    lease_seconds: int
    batch_size: int
    quiet_start: dt.time
    quiet_end: dt.time
    planned_days: int
    temporary_hours: int
    etr_notify_minutes: int
    hotline: str
    company: str
    payments_file: Path
    low_balance_yuan: float
    payment_due_days: int
    disconnect_notice_days: int
    reminder_hour: int
    # Environment variables named by registered channels' `settings` (a channel added as one file reads its
    # own settings here, so this module does not change for it).
    extra: dict[str, str] = field(default_factory=dict)
    # Shared secret a gateway presents with its delivery receipts (X-GridCare-Token header or ?token=).
    receipt_token: str = ""
    # Sends in flight at once per worker and channel, from its `concurrency_setting` (missing = 1).
    concurrency: dict[str, int] = field(default_factory=dict)

    def configured(self, channel: str) -> bool:
        cls = channel_class(channel)
        return cls is not None and cls.is_configured(self)


def _time(name: str, raw: str) -> dt.time:
    try:
        hh, mm = raw.strip().split(":")
        return dt.time(int(hh), int(mm))
    except ValueError:
        raise ImproperlyConfigured(f"{name}: {raw!r} is not a time like 22:00.") from None


def load_config(environ: Mapping[str, str] | None = None) -> NoticeConfig:
    e = os.environ if environ is None else environ
    template = env_str("GRIDCARE_SMS_TEMPLATE", DEFAULT_SMS_TEMPLATE, e)
    if "{to}" not in template or "{text}" not in template:
        raise ImproperlyConfigured("GRIDCARE_SMS_TEMPLATE must contain {to} and {text} (and may use {ref}).")
    content_type = env_str("GRIDCARE_SMS_CONTENT_TYPE", "application/json", e)
    if content_type == "application/json":
        sample = template.replace("{to}", "x").replace("{text}", "x").replace("{ref}", "x")
        try:
            json.loads(sample)
        except ValueError:
            raise ImproperlyConfigured(
                "GRIDCARE_SMS_TEMPLATE is not valid JSON once filled in; quote the placeholders: "
                + DEFAULT_SMS_TEMPLATE
            ) from None
    quiet = env_str("GRIDCARE_NOTICE_QUIET_HOURS", "22:00-07:00", e)
    if "-" not in quiet:
        raise ImproperlyConfigured(f"GRIDCARE_NOTICE_QUIET_HOURS={quiet!r} must look like 22:00-07:00.")
    q_start, q_end = quiet.split("-", 1)
    default_channels = env_list("GRIDCARE_NOTICE_CHANNELS", ["sms", "inapp"], e)
    channels = channel_classes()
    unknown = set(default_channels) - set(channels)
    if unknown:
        raise ImproperlyConfigured(
            f"GRIDCARE_NOTICE_CHANNELS names unknown channels {sorted(unknown)}; use {', '.join(channels)}."
        )
    smtp = _smtp(e)
    analytics = Path(getattr(settings, "ANALYTICS_DIR", "var/analytics"))
    var_dir = Path(getattr(settings, "VAR_DIR", "var"))
    return NoticeConfig(
        smtp=smtp,
        sms=SmsConfig(
            url=env_str("GRIDCARE_SMS_URL", "", e),
            template=template,
            content_type=content_type,
            auth_header=env_str("GRIDCARE_SMS_AUTH_HEADER", "", e),
            idempotent=env_bool("GRIDCARE_SMS_IDEMPOTENT", False, e),
            signature=env_str("GRIDCARE_SMS_SIGNATURE", "【国网供电】", e),
            timeout=env_int("GRIDCARE_SMS_TIMEOUT", 10, minimum=1, environ=e),
        ),
        outbox_dir=Path(env_str("GRIDCARE_OUTBOX_DIR", str(var_dir / "outbox"), e)),
        rate_per_minute={
            name: env_int(cls.rate_setting, cls.default_rate_per_minute, minimum=0, environ=e)
            for name, cls in channels.items()
            if cls.rate_setting
        },
        concurrency={
            name: env_int(cls.concurrency_setting, cls.default_concurrency, minimum=1, environ=e)
            if cls.concurrency_setting
            else cls.default_concurrency
            for name, cls in channels.items()
        },
        extra={key: e[key] for cls in channels.values() for key in cls.settings if key in e},
        default_channels=default_channels,
        max_attempts=env_int("GRIDCARE_NOTICE_MAX_ATTEMPTS", 5, minimum=1, environ=e),
        backoff_seconds=env_int("GRIDCARE_NOTICE_BACKOFF_SECONDS", 60, minimum=1, environ=e),
        lease_seconds=env_int("GRIDCARE_NOTICE_LEASE_SECONDS", 300, minimum=5, environ=e),
        batch_size=env_int("GRIDCARE_NOTICE_BATCH", 200, minimum=1, environ=e),
        quiet_start=_time("GRIDCARE_NOTICE_QUIET_HOURS", q_start),
        quiet_end=_time("GRIDCARE_NOTICE_QUIET_HOURS", q_end),
        planned_days=env_int("GRIDCARE_PLANNED_NOTICE_DAYS", 7, minimum=0, environ=e),
        temporary_hours=env_int("GRIDCARE_TEMPORARY_NOTICE_HOURS", 24, minimum=0, environ=e),
        etr_notify_minutes=env_int("GRIDCARE_ETR_NOTIFY_MINUTES", 30, minimum=0, environ=e),
        hotline=env_str("GRIDCARE_HOTLINE", "95598", e),
        company=env_str("GRIDCARE_COMPANY_NAME", "供电公司", e),
        payments_file=Path(env_str("GRIDCARE_PAYMENTS_FILE", str(analytics / "payments.parquet"), e)),
        low_balance_yuan=float(env_int("GRIDCARE_LOW_BALANCE_YUAN", 20, minimum=0, environ=e)),
        payment_due_days=env_int("GRIDCARE_PAYMENT_DUE_DAYS", 3, minimum=0, environ=e),
        disconnect_notice_days=env_int("GRIDCARE_DISCONNECT_NOTICE_DAYS", 7, minimum=1, environ=e),
        reminder_hour=env_int("GRIDCARE_REMINDER_HOUR", 9, minimum=0, environ=e),
        receipt_token=env_str("GRIDCARE_NOTICE_RECEIPT_TOKEN", "", e).strip(),
    )


def _smtp(e: Mapping[str, str]) -> SmtpConfig:
    starttls = env_bool("GRIDCARE_SMTP_STARTTLS", False, e)
    use_ssl = env_bool("GRIDCARE_SMTP_SSL", False, e)
    if starttls and use_ssl:
        raise ImproperlyConfigured(
            "GRIDCARE_SMTP_STARTTLS and GRIDCARE_SMTP_SSL are both on; choose one: STARTTLS upgrades a plain "
            "connection (usually port 587), SSL is TLS from the first byte (usually port 465)."
        )
    auth = env_str("GRIDCARE_SMTP_AUTH", "auto", e).strip().lower()
    if auth not in SMTP_AUTH_METHODS:
        raise ImproperlyConfigured(f"GRIDCARE_SMTP_AUTH={auth!r} must be one of {', '.join(SMTP_AUTH_METHODS)}.")
    user = env_str("GRIDCARE_SMTP_USER", "", e)
    if user and not (starttls or use_ssl) and not env_bool("GRIDCARE_SMTP_PLAINTEXT_AUTH", False, e):
        raise ImproperlyConfigured(
            "GRIDCARE_SMTP_USER is set without TLS, so the password would cross the network in clear: set "
            "GRIDCARE_SMTP_STARTTLS=yes or GRIDCARE_SMTP_SSL=yes (or GRIDCARE_SMTP_PLAINTEXT_AUTH=yes for a "
            "trusted relay on the same host)."
        )
    ca_file = env_str("GRIDCARE_SMTP_CA_FILE", "", e).strip()
    if ca_file and not Path(ca_file).is_file():
        raise ImproperlyConfigured(f"GRIDCARE_SMTP_CA_FILE={ca_file!r} is not a readable file (a PEM certificate).")
    return SmtpConfig(
        host=env_str("GRIDCARE_SMTP_HOST", "", e),
        port=env_int("GRIDCARE_SMTP_PORT", 465 if use_ssl else 25, minimum=1, environ=e),
        user=user,
        password=env_str("GRIDCARE_SMTP_PASSWORD", "", e),
        starttls=starttls,
        ssl=use_ssl,
        timeout=env_int("GRIDCARE_SMTP_TIMEOUT", 10, minimum=1, environ=e),
        sender=env_str("GRIDCARE_MAIL_FROM", "95598@gridcare.invalid", e),
        auth=auth,
        verify=env_bool("GRIDCARE_SMTP_VERIFY", True, e),
        ca_file=ca_file,
    )


_current: NoticeConfig | None = None


def get_config() -> NoticeConfig:
    global _current
    if _current is None:
        _current = load_config()
    return _current


def override(config: NoticeConfig | None) -> None:
    """Install a configuration (tests, benchmarks); None goes back to reading the environment."""
    global _current
    _current = config
