"""The channel interface and the registry every other part of the notices app reads channels from.

A channel is one class: what it reaches (phone, an address the customer gave, the account), whether it is
configured, its rate limit and concurrency, how it sends and which message a delivery receipt is about.
Settings, delivery, the services, forms and model validation ask the registry; none of them names a channel.

`open()` returns a sender used for one batch by one thread (an SMTP connection is reused across it).
`send()` returns what the provider answered, or raises `TransientError` (try again later: timeouts, 5xx,
4xx SMTP replies) or `PermanentError` (no address, the gateway refused the number: do not retry).
`idempotent` says whether sending the same message twice is harmless (the provider or the channel dedupes on
`Envelope.key`); only then may a message whose worker died mid-call be sent again.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

from django.core.exceptions import ValidationError

if TYPE_CHECKING:
    from gridcare.notices.config import NoticeConfig
    from gridcare.notices.models import Message


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


# What a channel reaches a customer at: their contact phone numbers (a number in their preferences overrides),
# only an address they gave in their preferences, or their account itself (in-app, files for the print shop).
REACHES = ("phone", "address", "account")


class NoticeChannel:
    """Base class of a channel. Subclass it in a new module of this package and decorate it with `@register`."""

    name: ClassVar[str]  # stored in the database: lower-case letters, digits, underscore; at most 16
    label: ClassVar[Any]  # what people see (a lazy translation)
    order: ClassVar[int] = 100  # where it is listed in forms and tried by the worker
    reaches: ClassVar[str] = "account"
    rate_setting: ClassVar[str] = ""  # environment variable: sends per minute shared by all workers (0 = no limit)
    default_rate_per_minute: ClassVar[int] = 0
    concurrency_setting: ClassVar[str] = ""  # environment variable: sends in flight at once per worker
    default_concurrency: ClassVar[int] = 1
    settings: ClassVar[tuple[str, ...]] = ()  # further environment variables it reads, found in `config.extra`
    setup_hint: ClassVar[str] = ""  # what to set when it is not configured
    shows_subject: ClassVar[bool] = True  # SMS has no subject line; previews leave it out
    idempotent: bool = False

    def __init__(self, config: NoticeConfig) -> None:
        self.config = config

    @classmethod
    def is_configured(cls, config: NoticeConfig) -> bool:
        return True

    def open(self) -> Sender:
        raise NotImplementedError

    @classmethod
    def address_problem(cls, address: str) -> str:
        """Why an address a person typed for this channel cannot work ('' when it can)."""
        return ""

    def addresses(self, messages: Sequence[Message]) -> dict[int, str]:
        """Where each message's customer is reached, by customer id (missing: no address, a permanent failure)."""
        from gridcare.customers.models import Contact
        from gridcare.notices.models import ChannelPreference

        if self.reaches == "account":
            return {m.customer_id: m.customer.account_no for m in messages}
        ids = [m.customer_id for m in messages]
        found: dict[int, str] = {}
        if self.reaches == "phone":
            for cid, phone in (
                Contact.objects.filter(customer_id__in=ids)
                .order_by("customer_id", "-is_primary", "id")
                .values_list("customer_id", "phone")
            ):
                found.setdefault(cid, phone)
        overrides = ChannelPreference.objects.filter(customer_id__in=ids, channel=self.name).exclude(address="")
        for cid, address in overrides.values_list("customer_id", "address"):
            found[cid] = address
        return found

    @classmethod
    def receipt_message(cls, ref: str) -> Message | None:
        """The message a delivery receipt is about (locked): by the provider's id, or by our own key when the
        provider echoes it back (the only handle on a message whose worker died before recording the answer)."""
        from gridcare.notices.models import Message, MessageStatus

        msg = (
            Message.objects.select_for_update()
            .filter(channel=cls.name, provider_ref=ref)
            .exclude(status__in=[MessageStatus.QUEUED, MessageStatus.SUPPRESSED])
            .order_by("-id")
            .first()
        )
        if msg is not None:
            return msg
        parts = ref.split("-")
        if len(parts) == 4 and parts[0] == "gc" and parts[3] == cls.name and parts[1].isdigit() and parts[2].isdigit():
            return (
                Message.objects.select_for_update()
                .filter(notice_id=int(parts[1]), customer_id=int(parts[2]), channel=cls.name)
                .first()
            )
        return None


# --- the registry ---------------------------------------------------------------------------------------------

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,15}$")
_registry: dict[str, type[NoticeChannel]] = {}
_discovered = False
_lock = threading.Lock()

C = TypeVar("C", bound=type[NoticeChannel])


def register(cls: C) -> C:
    """Class decorator: make a channel known to settings, delivery, the services, forms and validation."""
    name = getattr(cls, "name", "")
    if not _NAME.match(name):
        raise ValueError(f"channel name {name!r}: lower-case letter first, then letters, digits or _, at most 16")
    if cls.reaches not in REACHES:
        raise ValueError(f"channel {name}: reaches must be one of {REACHES}, not {cls.reaches!r}")
    known = _registry.get(name)
    if known is not None and known.__qualname__ != cls.__qualname__:
        raise ValueError(f"channel name {name!r} is taken by {known.__module__}.{known.__qualname__}")
    _registry[name] = cls
    return cls


def unregister(name: str) -> None:
    """Forget a channel (tests that register a throwaway one)."""
    _registry.pop(name, None)


def _discover() -> None:
    """Import every module of this package once, so a new channel file registers itself without being named
    anywhere else."""
    global _discovered
    if _discovered:
        return
    with _lock:
        if _discovered:
            return
        package = importlib.import_module("gridcare.notices.channels")
        for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
            importlib.import_module(f"{package.__name__}.{info.name}")
        _discovered = True


def channel_classes() -> dict[str, type[NoticeChannel]]:
    _discover()
    return dict(sorted(_registry.items(), key=lambda item: (item[1].order, item[0])))


def channel_names() -> tuple[str, ...]:
    return tuple(channel_classes())


def channel_class(name: str) -> type[NoticeChannel] | None:
    return channel_classes().get(name)


def build_channel(name: str, config: NoticeConfig) -> NoticeChannel:
    cls = channel_class(name)
    if cls is None:
        raise ValueError(f"unknown channel {name!r}")
    return cls(config)


def channel_choices() -> list[tuple[str, str]]:
    return [(name, str(cls.label)) for name, cls in channel_classes().items()]


def channel_label(name: str) -> str:
    cls = channel_class(name)
    return str(cls.label) if cls else name


def validate_channel(value: str) -> None:
    """Model-field validator: the database column is plain text, the registry says what is valid."""
    if channel_class(value) is None:
        raise ValidationError(f"未知渠道 {value}；可用：{', '.join(channel_names())}", code="invalid_choice")
