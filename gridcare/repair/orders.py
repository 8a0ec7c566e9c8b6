"""故障报修 orders as the work-order flow sees them: the repair kind's handler (gridcare.workorders.kinds).

A repair call is an ordinary work order with a repair ticket hanging off it: intake opens the ticket (A) and
places it in a probable outage; sending the order to a repair centre is B; taking it back or moving it to
another centre moves the ticket; answering or cancelling the order closes a ticket nobody needs any more.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from gridcare.org.models import OrgUnit
from gridcare.repair import services
from gridcare.workorders.kinds import KindHandler
from gridcare.workorders.models import WorkOrder


class RepairOrders(KindHandler):
    # A repair call waits for the 95598 shift lead to send it (B), who sees the outage it belongs to first.
    dispatch_at_intake = False
    # Calls grouped under one outage are answered together when power is back, whether or not each was taken.
    reply_while_accepted = True

    def check_intake(self, *, call_ended_at: dt.datetime | None, now: dt.datetime) -> None:
        if call_ended_at is not None:
            services.call_ended_check(call_ended_at, now)

    def on_created(
        self, order: WorkOrder, *, actor: Any, unit: OrgUnit | None, call_ended_at: dt.datetime | None, now: dt.datetime
    ) -> None:
        services.repair_ticket_open(order=order, actor=actor, call_ended_at=call_ended_at, now=now)
        if unit is not None and unit.kind == OrgUnit.Kind.REPAIR_CENTER:
            services.repair_send(order=order, unit=unit, actor=actor, now=now)

    def on_dispatched(self, order: WorkOrder, *, unit: OrgUnit, actor: Any, now: dt.datetime) -> None:
        if unit.kind == OrgUnit.Kind.REPAIR_CENTER:
            services.repair_send(order=order, unit=unit, actor=actor, now=now)  # B: the shift lead sent it

    def on_transferring(self, order: WorkOrder, *, unit: OrgUnit, actor: Any, now: dt.datetime) -> None:
        if unit.kind == OrgUnit.Kind.REPAIR_CENTER:
            services.repair_transfer(order=order, unit=unit, actor=actor, now=now)  # the ticket follows the order

    def on_recalled(self, order: WorkOrder, *, actor: Any, now: dt.datetime) -> None:
        services.repair_recalled_from_center(order=order, actor=actor, now=now)

    def on_replied(self, order: WorkOrder, *, actor: Any, text: str, now: dt.datetime) -> None:
        # Answered without a repair (a planned outage, the customer's own wiring): nobody is sent. After a
        # repair the ticket is already restored and this does nothing.
        services.repair_ticket_close(order=order, actor=actor, reason=f"已答复：{text[:150]}", now=now)

    def on_cancelled(self, order: WorkOrder, *, actor: Any, reason: str, now: dt.datetime) -> None:
        services.repair_ticket_close(order=order, actor=actor, reason=reason, now=now)
