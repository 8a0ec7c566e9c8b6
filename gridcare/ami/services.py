"""Writes of the AMI app: storing meter events (idempotent by event id) and delivering them to the consumers.

Storing a batch is one transaction with one audit event (`ami.events_received`): meter events arrive by the
thousand in a storm, and each row is itself the record of what the head-end said and when it was received.
Delivery writes `processed_at` on the rows a consumer round handled, with one audit event per round
(`ami.events_processed`, or `ami.delivery_failed` naming the consumer that raised).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q

from gridcare.ami import consumers, selectors
from gridcare.ami.models import MeterEvent
from gridcare.ami.parsing import ParsedEvent
from gridcare.core import metrics
from gridcare.core.audit import record_event
from gridcare.core.bulk import insert_many

log = logging.getLogger("gridcare.ami")

STORED, DUPLICATE, UNKNOWN_METER, CONFLICT = "stored", "duplicate", "unknown_meter", "conflict"
# How long the writer that stored (or the worker that claimed) events has them to itself before a worker may
# deliver them again: far longer than a consumer round takes, short enough that a crash costs minutes only.
LEASE = dt.timedelta(minutes=2)
RETRY_FIRST = dt.timedelta(seconds=30)
RETRY_MAX = dt.timedelta(minutes=30)
# Two head-end connections storing the same new event id at once: the loser's INSERT fails on the unique
# index, and reading again shows it the winner's row (a duplicate). More attempts than writers could race.
INSERT_ATTEMPTS = 3
DEFAULT_ACTOR = "用电信息采集主站"

OUTCOME_REASONS = {
    UNKNOWN_METER: "未登记的电表资产号：请先在台账中登记该计量点 (unknown meter)",
    CONFLICT: "该 event_id 已用于另一条事件（电表、类型或时间不同）(event_id reused for another event)",
}


@dataclass(frozen=True)
class IngestResult:
    outcomes: list[str]  # one per event given, in order: stored, duplicate, unknown_meter or conflict
    stored_ids: list[int]

    def count(self, outcome: str) -> int:
        return self.outcomes.count(outcome)

    @property
    def stored(self) -> int:
        return len(self.stored_ids)

    @property
    def duplicates(self) -> int:
        return self.count(DUPLICATE)


def retry_delay(failures: int) -> dt.timedelta:
    """The wait before delivering again after the `failures`-th failure: 30 s, doubling, at most 30 min."""
    return min(RETRY_FIRST * 2 ** max(failures - 1, 0), RETRY_MAX)


def meter_events_ingest(
    *, events: Sequence[ParsedEvent], channel: str, now: dt.datetime, actor: Any = None
) -> IngestResult:
    """Store the events of meters in the ledger that are not stored yet; report the rest per event.

    An event id already stored with the same meter, kind and time is a duplicate (a batch resent after a lost
    answer): stored nothing, answered as such. The same id with other contents is a conflict, refused. Events of
    meters the ledger does not know are not stored (see the model). The new events go to the consumers once
    the transaction has committed (`transaction.on_commit`); until then, and for `LEASE` after, they are this
    writer's to deliver."""
    if not events:
        return IngestResult([], [])
    points = selectors.service_points_by_meter(e.meter_no for e in events)
    for attempt in range(1, INSERT_ATTEMPTS + 1):
        try:
            result = _store(events, points, channel=channel, now=now, actor=actor)
            break
        except IntegrityError:
            if attempt == INSERT_ATTEMPTS:
                raise
            log.info("meter events raced with another writer on an event id; reading again (attempt %d)", attempt)
    for event, outcome in zip(events, result.outcomes, strict=True):
        if outcome == STORED:
            metrics.meter_events_received(1, accepted=True, kind=event.kind)
        elif outcome in (UNKNOWN_METER, CONFLICT):
            metrics.meter_events_received(1, accepted=False, kind=event.kind)
    unknown = sorted({e.meter_no for e, o in zip(events, result.outcomes, strict=True) if o == UNKNOWN_METER})
    if unknown:
        log.warning("meter events from %d meters not in the ledger, not stored: %s", len(unknown), unknown[:10])
    return result


def _store(
    events: Sequence[ParsedEvent], points: dict[str, int], *, channel: str, now: dt.datetime, actor: Any
) -> IngestResult:
    with transaction.atomic():
        known = {
            event_id: (meter_no, kind, at)
            for event_id, meter_no, kind, at in MeterEvent.objects.filter(
                event_id__in={e.event_id for e in events}
            ).values_list("event_id", "meter_no", "kind", "at")
        }
        outcomes: list[str] = []
        rows: list[MeterEvent] = []
        for e in events:
            seen = known.get(e.event_id)
            if seen is not None:
                outcomes.append(DUPLICATE if seen == (e.meter_no, e.kind, e.at) else CONFLICT)
                continue
            point = points.get(e.meter_no)
            if point is None:
                outcomes.append(UNKNOWN_METER)
                continue
            known[e.event_id] = (e.meter_no, e.kind, e.at)  # a repeat later in the same batch is a duplicate
            outcomes.append(STORED)
            rows.append(
                MeterEvent(
                    event_id=e.event_id,
                    meter_no=e.meter_no,
                    service_point_id=point,
                    kind=e.kind,
                    at=e.at,
                    received_at=now,
                    channel=channel,
                    claimed_until=now + LEASE,
                )
            )
        if rows:
            insert_many(rows)
            record_event(
                actor=actor or DEFAULT_ACTOR,
                action="ami.events_received",
                subject_type="ami.meterevent",
                subject_label=f"{len(rows)} 条电表事件",
                new={
                    "channel": channel,
                    "stored": len(rows),
                    "duplicates": outcomes.count(DUPLICATE),
                    "unknown_meters": outcomes.count(UNKNOWN_METER),
                    "conflicts": outcomes.count(CONFLICT),
                    "first_event_id": rows[0].event_id,
                },
                at=now,
            )
            ids = [row.pk for row in rows]
            # robust: the events are committed whatever a consumer does; the answer to the sender must not
            # turn into an error because of it (a failure is logged and the worker delivers again).
            transaction.on_commit(partial(_deliver_new, ids, now), robust=True)
        return IngestResult(outcomes, [row.pk for row in rows])


def _deliver_new(ids: list[int], now: dt.datetime) -> None:
    meter_events_deliver(events=_load(ids), now=now)


def _load(ids: Sequence[int]) -> list[MeterEvent]:
    """The events in the order they happened, with their 台区 (what every consumer places them by)."""
    return list(
        MeterEvent.objects.filter(id__in=ids).select_related("service_point__transformer_area").order_by("at", "id")
    )


def meter_events_deliver(*, events: list[MeterEvent], now: dt.datetime) -> bool:
    """Call every registered consumer with `events` (which the caller holds the lease of), then mark them
    processed. A consumer that raises leaves them unprocessed, to be delivered again after `retry_delay`: the
    failure is logged and audited, and the consumers after it are not called this round. True when processed."""
    if not events:
        return True
    ids = [e.pk for e in events]
    called = []
    for consumer in consumers.registered():
        try:
            consumer(events, now)
        except Exception as exc:
            who = consumers.name(consumer)
            log.exception("meter event consumer %s failed on %d events; they stay unprocessed", who, len(events))
            _failed(ids, now=now, consumer=who, error=exc)
            return False
        called.append(consumers.name(consumer))
    with transaction.atomic():
        marked = MeterEvent.objects.filter(id__in=ids, processed_at__isnull=True).update(
            processed_at=now, claimed_until=None
        )
        record_event(
            actor="电表事件处理",
            action="ami.events_processed",
            subject_type="ami.meterevent",
            subject_label=f"{marked} 条电表事件",
            new={"processed": marked, "consumers": called, "first_event_id": events[0].event_id},
            at=now,
        )
    for event in events:
        event.processed_at = now
    return True


def _failed(ids: list[int], *, now: dt.datetime, consumer: str, error: Exception) -> None:
    with transaction.atomic():
        rows = list(
            MeterEvent.objects.select_for_update()
            .filter(id__in=ids, processed_at__isnull=True)
            .order_by("id")
            .values_list("id", "failures")
        )
        # One back-off for the round, from the most-failed event in it, so the round stays together.
        failures = max((n for _, n in rows), default=0) + 1
        MeterEvent.objects.filter(id__in=[pk for pk, _ in rows]).update(
            failures=F("failures") + 1, claimed_until=now + retry_delay(failures)
        )
        record_event(
            actor="电表事件处理",
            action="ami.delivery_failed",
            subject_type="ami.meterevent",
            subject_label=f"{len(rows)} 条电表事件",
            new={
                "consumer": consumer,
                "error": f"{type(error).__name__}: {error}"[:300],
                "events": len(rows),
                "retry_at": (now + retry_delay(failures)).isoformat(),
            },
            at=now,
        )


def meter_events_retry(*, now: dt.datetime, limit: int = 500) -> int:
    """Claim up to `limit` unprocessed events whose lease has run out (a consumer failed on them, or the process
    that stored them ended before delivering) and deliver them; returns how many were claimed.

    The claim is a lease written with the rows locked (`skip_locked`: two workers take different rows), so
    no two workers deliver the same event at once; the audit event is the delivery's (processed or failed)."""
    with transaction.atomic():
        ids = list(
            MeterEvent.objects.select_for_update(skip_locked=True)
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now), processed_at__isnull=True)
            .order_by("at", "id")
            .values_list("id", flat=True)[:limit]
        )
        if not ids:
            return 0
        MeterEvent.objects.filter(id__in=ids).update(claimed_until=now + LEASE)
    meter_events_deliver(events=_load(ids), now=now)
    return len(ids)
