"""Meters as evidence (proactive repair): smart-meter power-off events predict outages before anyone calls.

The AMI app (gridcare.ami) stores and de-duplicates the head-end's events and hands each new batch to this
consumer. A last gasp (停电事件) or voltage loss (失压) is evidence placed exactly like a call (services.placing):
its meter's service point is the customer, its 台区 the place. When meter evidence makes an outage of more than one
customer that no call answers for yet, a repair order opens with no caller (channel 用电信息采集, A = the first
event) and the customers below it are told through the notices channels before they call — which also answers
the calls that would have come. A single meter's last gasp stays a prediction until a call or a neighbour's
meter confirms it (one meter going quiet is as often the meter as the supply).

A restored event (复电事件) is kept against the meter's open evidence. An outage whose every meter came back before
a crew got there closes itself (a transient fault the recloser cleared). After a crew restores an outage, the
meters that said they were off and have not said they are back within `RESTORE_GRACE` are the customers still
off: each becomes fresh evidence at the restoration time and is predicted anew — a nested outage, typically a
blown fuse or a service drop behind the fault the crew repaired.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Protocol

from django.db import transaction

from gridcare.ami.models import MeterEvent
from gridcare.core.audit import record_event
from gridcare.grid import topology
from gridcare.grid.models import ServicePoint
from gridcare.repair.evidence import METER, Evidence
from gridcare.repair.models import MeterEvidence, OutageLevel, OutageState, ProbableOutage, RepairTicket, TicketState
from gridcare.repair.services import placing
from gridcare.repair.services._base import _now
from gridcare.repair.services.dispatch import repair_ticket_close
from gridcare.repair.services.proactive import repair_proactive_open

OFF_KINDS = ("last_gasp", "voltage_loss")
ON_KINDS = ("restored",)
RESTORE_GRACE = dt.timedelta(minutes=10)
SYSTEM = "用电信息采集"


class MeterEventLike(Protocol):
    event_id: str
    meter_no: str
    kind: str
    at: dt.datetime

    @property
    def service_point_id(self) -> int | None: ...


def meter_events_consume(events: Iterable[MeterEventLike], now: dt.datetime | None = None) -> list[ProbableOutage]:
    """The AMI consumer: place power-off events, keep restored ones; returns the outages opened or grown."""
    now = _now(now)
    touched: dict[int, ProbableOutage] = {}
    for event in sorted(events, key=lambda e: (e.at, e.event_id)):
        if event.service_point_id is None:
            continue  # a meter no service point holds: the AMI app reports it; it places no one
        if event.kind in OFF_KINDS:
            outage = meter_off(event=event, now=now)
            if outage is not None:
                touched[outage.pk] = outage
        elif event.kind in ON_KINDS:
            meter_on(event=event, now=now)
    return list(touched.values())


def meter_off(*, event: MeterEventLike, now: dt.datetime) -> ProbableOutage | None:
    """One power-off event as evidence; idempotent by event id."""
    sp_id = event.service_point_id
    if sp_id is None:
        return None
    sp = ServicePoint.objects.filter(pk=sp_id).values_list("code", "transformer_area_id").first()
    if sp is None:
        return None
    code, area_pk = sp
    with transaction.atomic():
        row, created = MeterEvidence.objects.get_or_create(
            event_id=event.event_id,
            defaults={
                "meter_no": event.meter_no,
                "service_point_id": event.service_point_id,
                "transformer_area_id": area_pk,
                "at": event.at,
            },
        )
        if not created:
            return row.outage
        # A meter already off in an open outage adds nothing (a repeated last gasp, a voltage loss after it).
        already = MeterEvidence.objects.filter(
            service_point_id=event.service_point_id,
            restored_at__isnull=True,
            outage__state__in=placing.LIVE,
        ).exclude(pk=row.pk)
        if already.exists():
            MeterEvidence.objects.filter(pk=row.pk).update(outage=already.first().outage)  # type: ignore[union-attr]
            return None
        area_code = topology.now().area_code.get(area_pk)
        if area_code is None:
            return None
        outage = placing.place(Evidence(placing.meter_id(row.pk), event.at, area_code, code, METER), now=now)
        if outage is not None:
            _proactive(outage, now)
        return outage


def meter_on(*, event: MeterEventLike, now: dt.datetime) -> None:
    """A meter says it has power again: its open evidence is marked, and an outage that has had no crew and
    whose every meter is back closes itself."""
    with transaction.atomic():
        open_ev = MeterEvidence.objects.filter(
            service_point_id=event.service_point_id, restored_at__isnull=True, at__lte=event.at
        )
        outages = set(open_ev.exclude(outage=None).values_list("outage_id", flat=True))
        open_ev.update(restored_at=event.at)
        for pk in outages:
            outage = ProbableOutage.objects.select_for_update().get(pk=pk)
            if outage.state != OutageState.OPEN or outage.call_count:
                continue
            if MeterEvidence.objects.filter(outage=outage, restored_at__isnull=True).exists():
                continue
            orders = RepairTicket.objects.filter(outage=outage).exclude(state=TicketState.CANCELLED)
            if orders.exclude(d_at=None).exists():
                continue  # a crew is on it: the crew's restoration closes it
            ProbableOutage.objects.filter(pk=pk).update(state=OutageState.RESTORED, restored_at=event.at)
            record_event(
                actor=SYSTEM,
                action="outage.self_restored",
                subject_type="repair.probableoutage",
                subject_id=str(pk),
                subject_label=str(outage),
                at=now,
                new={"restored_at": event.at},
            )
            for t in orders.select_related("workorder"):
                repair_ticket_close(order=t.workorder, actor=SYSTEM, reason="电表已全部复电（瞬时故障）", now=now)


def _proactive(outage: ProbableOutage, now: dt.datetime) -> None:
    """An outage of more than one customer that meters predicted and no call answers for: open the repair with
    no caller, and tell the customers below it."""
    outage.refresh_from_db()
    if outage.level == OutageLevel.SERVICE_POINT or outage.state not in placing.LIVE:
        return
    if RepairTicket.objects.filter(outage=outage, is_main=True).exclude(state=TicketState.CANCELLED).exists():
        return
    repair_proactive_open(outage=outage, now=now)


def restorations_check(*, now: dt.datetime | None = None) -> list[ProbableOutage]:
    """After a crew's restoration and `RESTORE_GRACE`, the meters of the outage still without a restored event are
    predicted afresh (a nested outage). Returns the outages predicted; idempotent (each meter's evidence is
    re-placed once, as `<event>/still-off`)."""
    now = _now(now)
    found: dict[int, ProbableOutage] = {}
    due = MeterEvidence.objects.filter(
        restored_at__isnull=True,
        outage__state=OutageState.RESTORED,
        outage__restored_at__lte=now - RESTORE_GRACE,
    ).select_related("outage", "service_point")
    for ev in list(due):
        still = f"{ev.event_id}/still-off"[:64]
        if MeterEvidence.objects.filter(event_id=still).exists():
            continue
        outage_restored_at = ev.outage.restored_at  # type: ignore[union-attr]
        nested = _StillOff(still, ev.meter_no, ev.service_point_id, outage_restored_at or now)
        placed = meter_off(event=nested, now=now)
        if placed is not None:
            found[placed.pk] = placed
            record_event(
                actor=SYSTEM,
                action="outage.nested",
                subject_type="repair.probableoutage",
                subject_id=str(placed.pk),
                subject_label=str(placed),
                at=now,
                new={"after": ev.outage_id, "meter": ev.meter_no},
            )
    return list(found.values())


class _StillOff:
    """A meter that did not come back after its outage was restored: evidence again, from the restoration on."""

    kind = "last_gasp"

    def __init__(self, event_id: str, meter_no: str, service_point_id: int, at: dt.datetime):
        self.event_id, self.meter_no, self.at = event_id, meter_no, at
        self._sp = service_point_id

    @property
    def service_point_id(self) -> int | None:
        return self._sp


def consume(events: list[MeterEvent], now: dt.datetime) -> None:
    """The consumer the AMI app calls after each committed batch (registered by RepairConfig.ready)."""
    meter_events_consume(events, now)
