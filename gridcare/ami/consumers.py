"""Who hears of new meter events: functions registered by higher apps (the repair app turns last gasps into
outage evidence), called with the new events once they are committed, and again by the worker for events a
consumer failed on.

    from gridcare.ami import consumers
    consumers.register(on_meter_events)      # in the higher app's AppConfig.ready()

    def on_meter_events(events: list[MeterEvent], now: datetime) -> None: ...

Delivery is at least once: an event is marked processed only after every consumer returned for it, and a
consumer that raises gets the whole list again later (the others too). So a consumer must be idempotent: keyed
by `event.event_id` (or the row's id), a second call with the same event changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gridcare.ami.models import MeterEvent

Consumer = Callable[[list["MeterEvent"], dt.datetime], None]

_CONSUMERS: list[Consumer] = []


def register(func: Consumer) -> Consumer:
    """Add a consumer (once: registering the same function again changes nothing). Usable as a decorator."""
    if func not in _CONSUMERS:
        _CONSUMERS.append(func)
    return func


def unregister(func: Consumer) -> None:
    if func in _CONSUMERS:
        _CONSUMERS.remove(func)


def registered() -> tuple[Consumer, ...]:
    """The consumers in the order they were registered (the order they are called)."""
    return tuple(_CONSUMERS)


def name(func: Consumer) -> str:
    """How a consumer is named in logs and audit events."""
    return f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', repr(func))}"
