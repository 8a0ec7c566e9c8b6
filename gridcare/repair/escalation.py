"""Non-acceptance alerts: an order not taken within minutes alerts the sender with the receiver's phones.

After B the repair centre must send the order on (D); after D the crew must accept it (F). When the
receiver is late (4 minutes by default, per area in AreaTarget), the sender is alerted with the
receiver's duty phone, then — every few minutes — with each of its managers' phones in turn.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection, transaction

from gridcare.core.audit import build_event, record_events
from gridcare.org.selectors import escalation_chains
from gridcare.repair.models import AreaTarget, RepairTicket


def handle_unaccepted(now: dt.datetime, batch: int = 200) -> int:
    with transaction.atomic():
        qs = (
            RepairTicket.objects.filter(next_check_at__lte=now)
            .exclude(waiting_on="")
            .select_related("workorder", "repair_center", "crew")
            .order_by("next_check_at")
        )
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True, of=("self",))
        tickets = list(qs[:batch])
        if not tickets:
            return 0
        targets = {t.area_class: t for t in AreaTarget.objects.all()}
        receivers = {(t.repair_center_id if t.waiting_on == "repair_center" else t.crew_id) for t in tickets} - {None}
        chains = escalation_chains(receivers)  # type: ignore[arg-type]
        events = []
        for t in tickets:
            target = targets.get(t.area_class) or targets.get("urban")
            every = dt.timedelta(minutes=target.escalate_every_minutes if target else 2)
            receiver = t.repair_center if t.waiting_on == "repair_center" else t.crew
            sender = t.b_by if t.waiting_on == "repair_center" else t.d_by
            chain = chains[receiver.pk][1] if receiver is not None else []
            level = t.alert_level + 1
            verb = "派车" if t.waiting_on == "repair_center" else "接单"
            if level <= len(chain):
                who, phone = chain[level - 1]
                events.append(
                    build_event(
                        actor=None,
                        action="repair.not_accepted",
                        subject=t.workorder,
                        at=now,
                        new={
                            "waiting_on": t.waiting_on,
                            "receiver": receiver.name if receiver else None,
                            "alert_to": sender,
                            "call": who,
                            "phone": phone,
                            "level": level,
                        },
                        note=f"{receiver.name if receiver else ''} 超时未{verb}",
                    )
                )
            t.alert_level = level
            t.next_check_at = now + every if level < len(chain) else None
        RepairTicket.objects.bulk_update(tickets, ["alert_level", "next_check_at"])
        record_events(events)
        return len(tickets)
