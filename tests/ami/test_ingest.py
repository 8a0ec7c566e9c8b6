"""Storing meter events and handing them to the consumers: idempotent by event id, unknown meters reported and not
stored, consumers called after commit, a failing consumer's events delivered again by the worker."""

from __future__ import annotations

import datetime as dt
import json

from gridcare.ami import ingest, tasks
from gridcare.ami.config import IngestConfig
from gridcare.ami.models import MeterEvent
from gridcare.ami.parsing import ParsedEvent
from gridcare.ami.services import (
    CONFLICT,
    DUPLICATE,
    LEASE,
    STORED,
    UNKNOWN_METER,
    meter_events_ingest,
    meter_events_retry,
    retry_delay,
)
from gridcare.core import metrics
from gridcare.core.models import Event
from gridcare.core.worker import run_pass
from tests.ami.conftest import Recorder, event

NOW = dt.datetime(2026, 6, 1, 0, 5, tzinfo=dt.UTC)
AT = dt.datetime(2026, 6, 1, 0, 0, tzinfo=dt.UTC)


def parsed(event_id: str, meter: str, kind: str = "last_gasp", at: dt.datetime = AT, index: int = 0) -> ParsedEvent:
    return ParsedEvent(index=index, event_id=event_id, meter_no=meter, kind=kind, at=at)


def counter(kind: str, outcome: str) -> float:
    value = metrics.REGISTRY.get_sample_value("gridcare_meter_events_total", {"kind": kind, "outcome": outcome})
    return value or 0.0


def test_events_of_known_meters_are_stored_at_their_service_point(meters, recorder: Recorder) -> None:
    area, numbers = next(iter(meters.items()))
    before = counter("last_gasp", "accepted")
    result = meter_events_ingest(
        events=[parsed("E1", numbers[0]), parsed("E2", numbers[1], kind="voltage_loss")], channel="http", now=NOW
    )
    assert result.outcomes == [STORED, STORED] and result.stored == 2
    stored = {e.event_id: e for e in MeterEvent.objects.select_related("service_point__transformer_area")}
    assert stored["E1"].service_point.transformer_area.code == area
    assert (stored["E1"].at, stored["E1"].received_at, stored["E1"].channel) == (AT, NOW, "http")
    assert stored["E2"].kind == "voltage_loss"
    assert counter("last_gasp", "accepted") == before + 1
    audit = Event.objects.get(action="ami.events_received")
    assert audit.new["stored"] == 2 and audit.actor_name == "用电信息采集主站"


def test_a_resent_batch_stores_nothing_twice_and_says_how_many_were_duplicates(meters) -> None:
    numbers = meters[next(iter(meters))]
    batch = [parsed(f"E{i}", numbers[i]) for i in range(3)]
    assert meter_events_ingest(events=batch, channel="http", now=NOW).stored == 3
    again = meter_events_ingest(events=[*batch, parsed("E9", numbers[3])], channel="mqtt", now=NOW)
    assert again.outcomes == [DUPLICATE, DUPLICATE, DUPLICATE, STORED]
    assert again.duplicates == 3 and MeterEvent.objects.count() == 4
    # a repeat inside one batch is a duplicate too
    inside = meter_events_ingest(events=[parsed("E10", numbers[0]), parsed("E10", numbers[0])], channel="http", now=NOW)
    assert inside.outcomes == [STORED, DUPLICATE]


def test_an_event_id_reused_for_another_event_is_a_conflict_and_keeps_the_first(meters) -> None:
    numbers = meters[next(iter(meters))]
    meter_events_ingest(events=[parsed("E1", numbers[0])], channel="http", now=NOW)
    result = meter_events_ingest(
        events=[parsed("E1", numbers[1]), parsed("E1", numbers[0], kind="restored")], channel="http", now=NOW
    )
    assert result.outcomes == [CONFLICT, CONFLICT]
    assert MeterEvent.objects.get(event_id="E1").meter_no == numbers[0]


def test_events_of_unknown_meters_are_counted_and_reported_not_stored(meters) -> None:
    before = counter("restored", "refused")
    result = meter_events_ingest(events=[parsed("E1", "GHOST-1", kind="restored")], channel="http", now=NOW)
    assert result.outcomes == [UNKNOWN_METER] and not MeterEvent.objects.exists()
    assert counter("restored", "refused") == before + 1
    assert not Event.objects.filter(action="ami.events_received").exists()  # nothing was written


def test_the_answer_names_each_item_not_stored_by_index_and_reason(meters, ami_cfg: IngestConfig) -> None:
    numbers = meters[next(iter(meters))]
    meter_events_ingest(events=[parsed("OLD", numbers[0])], channel="http", now=NOW)
    body = json.dumps(
        {
            "events": [
                event("OLD", numbers[0], at=int(AT.timestamp())),
                event("NEW", numbers[1]),
                event("X", "GHOST"),
                event("BAD", numbers[2], kind="停电了"),
            ]
        }
    )
    answer, _ = ingest.receive(body, channel="http", now=NOW, config=ami_cfg)
    out = answer.as_dict()
    assert {k: out[k] for k in ("received", "stored", "duplicates", "unknown_meters", "invalid")} == {
        "received": 4,
        "stored": 1,
        "duplicates": 1,
        "unknown_meters": 1,
        "invalid": 1,
    }
    assert [(e["index"], e["field"], e["event_id"]) for e in out["errors"]] == [
        (2, "meter_no", "X"),
        (3, "kind", "BAD"),
    ]


def test_consumers_get_the_new_events_after_commit_with_the_ingest_time(
    meters, recorder: Recorder, django_capture_on_commit_callbacks
) -> None:
    numbers = meters[next(iter(meters))]
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        meter_events_ingest(
            events=[parsed("E2", numbers[1], at=AT + dt.timedelta(seconds=1)), parsed("E1", numbers[0])],
            channel="http",
            now=NOW,
        )
        assert recorder.calls == []  # nothing before the commit
    assert len(callbacks) == 1
    assert recorder.calls == [(["E1", "E2"], NOW)]  # in the order they happened
    assert set(MeterEvent.objects.values_list("processed_at", flat=True)) == {NOW}
    assert Event.objects.get(action="ami.events_processed").new["processed"] == 2
    # a resend delivers nothing again
    with django_capture_on_commit_callbacks(execute=True):
        meter_events_ingest(events=[parsed("E1", numbers[0])], channel="http", now=NOW)
    assert len(recorder.calls) == 1


def test_a_consumer_that_raises_leaves_the_events_for_the_worker_which_delivers_them_later(
    meters, recorder: Recorder, django_capture_on_commit_callbacks, caplog
) -> None:
    numbers = meters[next(iter(meters))]
    recorder.failing = True
    with django_capture_on_commit_callbacks(execute=True):
        meter_events_ingest(events=[parsed("E1", numbers[0]), parsed("E2", numbers[1])], channel="http", now=NOW)
    row = MeterEvent.objects.get(event_id="E1")
    assert row.processed_at is None and row.failures == 1 and row.claimed_until == NOW + retry_delay(1)
    assert "consumer" in caplog.text and "failed" in caplog.text
    failed = Event.objects.get(action="ami.delivery_failed")
    assert "consumer down" in failed.new["error"] and "Recorder" in failed.new["consumer"]

    # Before the back-off ends the worker leaves them alone; still failing, the back-off doubles.
    assert meter_events_retry(now=NOW + dt.timedelta(seconds=29)) == 0
    assert meter_events_retry(now=NOW + dt.timedelta(seconds=30)) == 2
    row.refresh_from_db()
    assert row.failures == 2 and row.claimed_until == NOW + dt.timedelta(seconds=30) + retry_delay(2)

    recorder.failing = False
    later = NOW + dt.timedelta(minutes=5)
    assert run_pass(later, only={"ami.deliver"}) == {"ami.deliver": 2}
    assert recorder.calls == [(["E1", "E2"], later)]
    assert set(MeterEvent.objects.values_list("processed_at", flat=True)) == {later}
    assert run_pass(later + dt.timedelta(hours=1), only={"ami.deliver"}) == {"ami.deliver": 0}


def test_events_whose_writer_died_before_delivering_are_delivered_once_the_lease_runs_out(
    meters, recorder: Recorder
) -> None:
    numbers = meters[next(iter(meters))]
    # No on-commit callbacks run here (the test's transaction never commits): as if the process had ended.
    meter_events_ingest(events=[parsed("E1", numbers[0])], channel="mqtt", now=NOW)
    assert tasks.handle_deliver(NOW + LEASE - dt.timedelta(seconds=1)) == 0
    assert tasks.handle_deliver(NOW + LEASE) == 1
    assert recorder.delivered == ["E1"]
    assert tasks.handle_deliver(NOW + LEASE + dt.timedelta(hours=1)) == 0


def test_with_no_consumer_registered_events_are_marked_processed(meters, django_capture_on_commit_callbacks) -> None:
    numbers = meters[next(iter(meters))]
    with django_capture_on_commit_callbacks(execute=True):
        meter_events_ingest(events=[parsed("E1", numbers[0])], channel="http", now=NOW)
    assert MeterEvent.objects.get().processed_at == NOW


def test_consumers_after_a_failing_one_are_not_called_and_all_get_the_events_again(
    meters, django_capture_on_commit_callbacks
) -> None:
    from gridcare.ami import consumers

    first, second = Recorder(), Recorder(failing=True)
    consumers.register(first)
    consumers.register(second)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            meter_events_ingest(events=[parsed("E1", meters[next(iter(meters))][0])], channel="http", now=NOW)
        second.failing = False
        meter_events_retry(now=NOW + dt.timedelta(minutes=1))
    finally:
        consumers.unregister(first)
        consumers.unregister(second)
    assert first.delivered == ["E1", "E1"] and second.delivered == ["E1"]  # at least once: consumers are idempotent


def test_retry_delay_doubles_from_30_seconds_to_at_most_30_minutes() -> None:
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert retry_delay(20) == dt.timedelta(minutes=30) and retry_delay(0) == dt.timedelta(seconds=30)


def test_the_ingest_refuses_events_beyond_the_allowed_drift_of_its_clock(meters, ami_cfg) -> None:
    numbers = meters[next(iter(meters))]
    late, edge = NOW + dt.timedelta(seconds=601), NOW + dt.timedelta(seconds=600)
    body = json.dumps([event("E1", numbers[0], at=late.isoformat()), event("E2", numbers[1], at=edge.isoformat())])
    answer, _ = ingest.receive(body, channel="http", now=NOW, config=ami_cfg)
    assert (answer.stored, answer.invalid) == (1, 1)
    assert (answer.errors[0].index, answer.errors[0].field) == (0, "at")


def test_the_admin_lists_meter_events_read_only(city, meters, client) -> None:
    numbers = meters[next(iter(meters))]
    meter_events_ingest(events=[parsed("E1", numbers[0])], channel="http", now=NOW)
    client.force_login(city.admin)
    listing = client.get("/admin/ami/meterevent/", {"processed_at__isempty": "1"})
    assert listing.status_code == 200 and numbers[0] in listing.content.decode()
    assert client.get("/admin/ami/meterevent/add/").status_code == 403
