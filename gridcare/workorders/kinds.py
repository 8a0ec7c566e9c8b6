"""Work-order kinds as handlers: what an app adds to the common flow for the categories of one kind.

The work-order services own every order: they move its state, write its audit event and keep its deadlines.
An app whose work hangs off orders of one kind (repair hangs its ticket, A–H points and crews off 故障报修)
registers a handler for that kind in its `AppConfig.ready()`; the services call the handler's hooks at the
named moments, inside the order's transaction, so the app's writes commit or roll back with the order's.
Work orders never import the app; the app changes orders only through the work-order services.

Adding a kind: add the kind to `CategoryKind`, subclass `KindHandler` in your app, override the hooks you
need, and `register(CategoryKind.X, YourHandler())` in your app's `ready()` (docs/architecture.md, recipes).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gridcare.org.models import OrgUnit
    from gridcare.workorders.models import Category, WorkOrder

Actor = Any  # a User, a system name, or None (see services._base.Actor)


class KindHandler:
    """The default: an order of this kind needs nothing beyond the common flow. Every hook is a no-op."""

    #: Whether intake routes the order at once (a repair call waits for the shift lead to send it, B).
    dispatch_at_intake: bool = True
    #: Whether the order may be answered while still only accepted (repair calls grouped under one outage are
    #: answered together when power is back, before anyone took them one by one).
    reply_while_accepted: bool = False

    def check_intake(self, *, call_ended_at: dt.datetime | None, now: dt.datetime) -> None:
        """Refuse a request before anything is written (raise ServiceError)."""

    def on_created(
        self,
        order: WorkOrder,
        *,
        actor: Actor,
        unit: OrgUnit | None,
        call_ended_at: dt.datetime | None,
        now: dt.datetime,
    ) -> None:
        """The order and its deadlines are written; `unit` is where intake routed it (None: not dispatched)."""

    def on_dispatched(self, order: WorkOrder, *, unit: OrgUnit, actor: Actor, now: dt.datetime) -> None:
        """The order was sent to `unit`."""

    def on_transferring(self, order: WorkOrder, *, unit: OrgUnit, actor: Actor, now: dt.datetime) -> None:
        """The order is about to move to `unit` (called before the transition: the app may refuse)."""

    def on_recalled(self, order: WorkOrder, *, actor: Actor, now: dt.datetime) -> None:
        """The sender took the order back from the unit it was sent to."""

    def on_replied(self, order: WorkOrder, *, actor: Actor, text: str, now: dt.datetime) -> None:
        """The order was answered (办结答复)."""

    def on_cancelled(self, order: WorkOrder, *, actor: Actor, reason: str, now: dt.datetime) -> None:
        """The order was cancelled (撤销)."""


DEFAULT = KindHandler()
_HANDLERS: dict[str, KindHandler] = {}


def register(kind: str, handler: KindHandler) -> None:
    """Register the handler of a category kind; registering a kind twice is a programming error."""
    if kind in _HANDLERS and _HANDLERS[kind] is not handler:
        raise RuntimeError(f"work-order kind {kind!r} already has a handler: {_HANDLERS[kind]!r}")
    _HANDLERS[kind] = handler


def handler_for(category: Category) -> KindHandler:
    return _HANDLERS.get(category.kind, DEFAULT)
