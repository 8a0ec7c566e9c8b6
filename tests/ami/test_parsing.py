"""The meter-event layout, read without Django: every accepted spelling, every refusal with its index and reason,
and no input that makes the parser raise anything but AmiRejected."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridcare.ami.parsing import AmiRejected, ParseOptions, parse_body, parse_document

NOW = dt.datetime(2026, 6, 1, 0, 0, tzinfo=dt.UTC)  # 08:00 in Beijing
OPTIONS = ParseOptions(max_future=dt.timedelta(minutes=10), max_events=100)


def one(**overrides: Any) -> dict[str, Any]:
    return {"event_id": "E1", "meter_no": "3300012345", "kind": "last_gasp", "at": 1780272000} | overrides


def parse(doc: Any, options: ParseOptions = OPTIONS):
    return parse_document(doc, now=NOW, options=options)


def test_a_single_event_a_batch_and_a_bare_array_read_alike() -> None:
    single = parse(one())
    batch = parse({"events": [one(), one(event_id="E2")], "head_end": "HE-1"})
    array = parse([one(), one(event_id="E2")])
    assert single.single and not batch.single and not array.single
    assert single.events[0] == batch.events[0] == array.events[0]
    assert [e.event_id for e in batch.events] == ["E1", "E2"]
    assert single.events[0].at == NOW


@pytest.mark.parametrize(
    ("spelling", "kind"),
    [
        ("last_gasp", "last_gasp"),
        ("LAST_GASP", "last_gasp"),
        ("power_off", "last_gasp"),
        ("停电事件", "last_gasp"),
        ("停电", "last_gasp"),
        ("restored", "restored"),
        ("复电事件", "restored"),
        ("上电", "restored"),
        ("voltage_loss", "voltage_loss"),
        ("失压", "voltage_loss"),
    ],
)
def test_kinds_in_english_and_chinese(spelling: str, kind: str) -> None:
    assert parse(one(kind=spelling)).events[0].kind == kind


@pytest.mark.parametrize(
    "at",
    [
        1780272000,  # epoch seconds
        1780272000000,  # epoch milliseconds (≥ 2³¹)
        "1780272000",  # digits as text
        1780272000.0,
        "2026-06-01T00:00:00Z",
        "2026-06-01T08:00:00+08:00",
        "2026-06-01 08:00:00+08:00",
        "2026-06-01T08:00:00.000+08:00",
    ],
)
def test_times_as_epoch_seconds_milliseconds_and_iso_with_a_zone(at: Any) -> None:
    assert parse(one(at=at)).events[0].at == NOW


def test_a_time_without_a_zone_is_refused_unless_a_zone_is_configured() -> None:
    with pytest.raises(AmiRejected) as refused:
        parse(one(at="2026-06-01 08:00:00"))
    assert "缺少时区" in refused.value.reason and refused.value.fields().keys() == {"at"}
    shanghai = ParseOptions(naive_tz=dt.timezone(dt.timedelta(hours=8)), max_events=10)
    assert parse(one(at="2026-06-01 08:00:00"), shanghai).events[0].at == NOW


@pytest.mark.parametrize(
    ("at", "words"),
    [
        (NOW.timestamp() + 601, "超前"),  # beyond the allowed clock drift
        ("2026-06-01T08:10:01+08:00", "超前"),
        (946684799, "2000"),  # 1999-12-31T23:59:59Z
        ("1999-12-31T23:59:59Z", "2000"),
        (10**30, "Unix"),
        ("tomorrow", "无法识别"),
        ("２０２６-06-01T08:00:00+08:00", "ISO 8601"),  # full-width digits
        (True, "不是时间"),
        ([1780272000], "不是时间"),
        (None, "缺少 at"),
    ],
)
def test_times_far_ahead_before_2000_or_unreadable_are_refused(at: Any, words: str) -> None:
    with pytest.raises(AmiRejected) as refused:
        parse(one(at=at))
    assert words in refused.value.reason


def test_the_allowed_drift_is_accepted() -> None:
    assert parse(one(at=NOW.timestamp() + 600)).events[0].at == NOW + dt.timedelta(minutes=10)


def test_a_batch_keeps_the_good_items_and_names_each_bad_one_by_index() -> None:
    batch = parse(
        {
            "events": [
                one(event_id="ok-0"),
                one(event_id="bad-1", kind="停电了"),
                one(event_id="ok-2"),
                "not an object",
                one(event_id="bad-4", meter_no="M 1"),
                one(event_id="bad-5", at="2030-01-01T00:00:00Z"),
                {"meter_no": "M1", "kind": "restored", "at": 1780272000},
            ]
        }
    )
    assert [e.event_id for e in batch.events] == ["ok-0", "ok-2"]
    assert [e.index for e in batch.events] == [0, 2]
    assert [(e.index, e.field, e.event_id) for e in batch.errors] == [
        (1, "kind", "bad-1"),
        (3, "event", ""),
        (4, "meter_no", "bad-4"),
        (5, "at", "bad-5"),
        (6, "event_id", ""),
    ]
    assert batch.received == 7


def test_a_batch_of_only_bad_items_is_refused_with_every_reason() -> None:
    with pytest.raises(AmiRejected) as refused:
        parse([one(kind="x"), one(at=None)])
    assert refused.value.status == 400
    assert set(refused.value.fields()) == {"events[0].kind", "events[1].at"}


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ("E\x00", "event_id"),
        ("E\u202e1", "event_id"),
        ("E" * 65, "event_id"),
        ("", "event_id"),
        (True, "event_id"),
        ({"id": 1}, "event_id"),
    ],
)
def test_identifiers_with_control_characters_blanks_or_other_types_are_refused(value: Any, field: str) -> None:
    with pytest.raises(AmiRejected) as refused:
        parse(one(**{field: value}))
    assert refused.value.fields().keys() == {field}


def test_numbers_as_identifiers_are_read_as_their_digits() -> None:
    event = parse(one(event_id=123, meter_no=3300012345)).events[0]
    assert (event.event_id, event.meter_no) == ("123", "3300012345")


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"", "JSON"),
        (b"{not json", "JSON"),
        (b"\xff\xfe", "UTF-8"),
        (b'"just text"', "事件对象"),
        (b"42", "事件对象"),
        (b'{"events": {}}', "数组"),
        (b'{"events": []}', "没有事件"),
        (b"[]", "没有事件"),
        (b'{"event_id": "E1", "meter_no": "M1", "kind": "last_gasp", "at": NaN}', "JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "嵌套"),
    ],
)
def test_bodies_that_cannot_be_read_are_refused_as_a_whole(body: bytes, words: str) -> None:
    with pytest.raises(AmiRejected) as refused:
        parse_body(body, now=NOW, options=OPTIONS)
    assert refused.value.status == 400 and words in refused.value.reason


def test_more_events_than_allowed_is_413() -> None:
    with pytest.raises(AmiRejected) as refused:
        parse([one(event_id=f"E{i}") for i in range(101)])
    assert refused.value.status == 413 and "100" in refused.value.reason


def test_a_number_no_field_can_hold_fails_its_item_not_the_body() -> None:
    body = json.dumps([one(event_id="E1"), one(event_id="E2")]).replace('"E2"', "9" * 500).encode()
    body = body.replace(b"1780272000}]", b"1e400}]")
    batch = parse_body(body, now=NOW, options=OPTIONS)
    assert [e.event_id for e in batch.events] == ["E1"]
    assert [(e.index, e.field) for e in batch.errors] == [(1, "event_id")]


def test_extra_keys_are_ignored_but_not_without_limit() -> None:
    assert parse(one(phase="A", voltage=0)).events[0].event_id == "E1"
    with pytest.raises(AmiRejected) as refused:
        parse(one(**{f"x{i}": i for i in range(40)}))
    assert "字段超过" in refused.value.reason


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=6),
    max_leaves=20,
)
event_like = st.fixed_dictionaries(
    {},
    optional={
        "event_id": json_values,
        "meter_no": json_values,
        "kind": st.sampled_from(["last_gasp", "复电事件", "x"]) | json_values,
        "at": st.integers(min_value=-(2**40), max_value=2**45) | st.text(max_size=30) | json_values,
    },
)


@settings(max_examples=300, deadline=None)
@given(st.lists(event_like, max_size=5) | json_values)
def test_no_input_raises_anything_but_a_refusal(doc: Any) -> None:
    try:
        batch = parse_body(json.dumps(doc), now=NOW, options=OPTIONS)
    except AmiRejected as exc:
        assert exc.reason
        return
    for e in batch.events:
        assert e.at.tzinfo is not None and e.at <= NOW + OPTIONS.max_future
        assert 0 < len(e.event_id) <= 64 and 0 < len(e.meter_no) <= 32
    assert batch.received == len(batch.events) + len(batch.errors)
