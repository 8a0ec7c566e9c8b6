"""What every edge (HTTP, MQTT, the simulator) does with a head-end's message: read it, store what can be
stored, and build the answer that names each item not stored, by its index and reason."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from gridcare.ami.config import IngestConfig
from gridcare.ami.parsing import AmiRejected, ItemError, ParsedBatch, ParseOptions, parse_body
from gridcare.ami.services import (
    CONFLICT,
    DUPLICATE,
    OUTCOME_REASONS,
    STORED,
    UNKNOWN_METER,
    IngestResult,
    meter_events_ingest,
)
from gridcare.core import metrics


def options(config: IngestConfig) -> ParseOptions:
    return ParseOptions(max_future=config.max_future, naive_tz=config.naive_tz, max_events=config.max_events)


@dataclass
class Receipt:
    """The answer to one message: how many events it held, what became of them, and why each refused one was."""

    received: int = 0
    stored: int = 0
    duplicates: int = 0
    unknown_meters: int = 0
    conflicts: int = 0
    invalid: int = 0
    errors: list[ItemError] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "unknown_meters": self.unknown_meters,
            "conflicts": self.conflicts,
            "invalid": self.invalid,
            "errors": [e.as_dict() for e in sorted(self.errors, key=lambda e: e.index)],
        }

    @property
    def summary(self) -> str:
        return (
            f"收到 {self.received} 条：保存 {self.stored}，重复 {self.duplicates}，未登记电表 {self.unknown_meters}，"
            f"编号冲突 {self.conflicts}，无法读取 {self.invalid}"
        )


def parse(raw: bytes | str, *, now: dt.datetime, config: IngestConfig) -> ParsedBatch:
    """Read a message; a message refused as a whole is counted (metrics) before AmiRejected goes on up."""
    try:
        batch = parse_body(raw, now=now, options=options(config))
    except AmiRejected as exc:
        metrics.meter_events_received(max(len(exc.errors), 1), accepted=False, kind="invalid")
        raise
    metrics.meter_events_received(len(batch.errors), accepted=False, kind="invalid")
    return batch


def receipt(batch: ParsedBatch, outcomes: list[str]) -> Receipt:
    """The answer for `batch` given the ingest's outcome of each of its readable events (in order)."""
    answer = Receipt(received=batch.received, invalid=len(batch.errors), errors=list(batch.errors))
    for event, outcome in zip(batch.events, outcomes, strict=True):
        if outcome == STORED:
            answer.stored += 1
        elif outcome == DUPLICATE:
            answer.duplicates += 1
        else:
            if outcome == UNKNOWN_METER:
                answer.unknown_meters += 1
            elif outcome == CONFLICT:
                answer.conflicts += 1
            what = "meter_no" if outcome == UNKNOWN_METER else "event_id"
            answer.errors.append(ItemError(event.index, what, OUTCOME_REASONS[outcome], event.event_id))
    return answer


def receive(
    raw: bytes | str, *, channel: str, now: dt.datetime, config: IngestConfig, actor: Any = None
) -> tuple[Receipt, IngestResult]:
    """Read one message and store its events (raises AmiRejected when nothing in it can be read)."""
    batch = parse(raw, now=now, config=config)
    result = meter_events_ingest(events=batch.events, channel=channel, now=now, actor=actor)
    return receipt(batch, result.outcomes), result
