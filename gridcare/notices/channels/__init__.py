"""Notice channels: one class each, in one module each, found by the registry in `base`.

The built-in ones are SMS through an HTTP gateway, e-mail over SMTP, in-app and a file outbox. Adding a
channel is a new module here with a `@register`ed `NoticeChannel` subclass (see docs/notices.md).
"""

from gridcare.notices.channels.base import (
    Envelope,
    NoticeChannel,
    PermanentError,
    Sender,
    SendResult,
    TransientError,
    build_channel,
    channel_choices,
    channel_class,
    channel_classes,
    channel_label,
    channel_names,
    register,
    unregister,
    validate_channel,
)
from gridcare.notices.channels.email import EmailChannel, smtp_tls_context
from gridcare.notices.channels.inapp import InAppChannel
from gridcare.notices.channels.outbox import OutboxChannel
from gridcare.notices.channels.sms import SmsGatewayChannel

Channel = NoticeChannel  # the name delivery used before channels were classes in a registry

__all__ = [
    "Channel",
    "EmailChannel",
    "Envelope",
    "InAppChannel",
    "NoticeChannel",
    "OutboxChannel",
    "PermanentError",
    "SendResult",
    "Sender",
    "SmsGatewayChannel",
    "TransientError",
    "build_channel",
    "channel_choices",
    "channel_class",
    "channel_classes",
    "channel_label",
    "channel_names",
    "register",
    "smtp_tls_context",
    "unregister",
    "validate_channel",
]
