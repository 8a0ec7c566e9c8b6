"""The pure parts of repair: timing, grouping and ranking, without a database."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from gridcare.repair import grouping, ranking, timing

T = dt.datetime(2026, 11, 2, 12, 0, tzinfo=dt.UTC)


def at(m: float) -> dt.datetime:
    return T + dt.timedelta(minutes=m)


def test_running_segment_is_measured_up_to_now() -> None:
    t = timing.compute({"A": at(0), "B": at(1), "C": at(2), "D": at(3), "E": at(4)}, now=at(9))
    ef = next(s for s in t.segments if s.code == "EF")
    assert ef.minutes == 5.0 and ef.overdue and ef.lost_minutes == 3.0 and ef.end is None


def test_arrival_and_restoration_targets_follow_the_area() -> None:
    pts = {"A": at(0), "H": at(80)}
    assert not timing.compute(pts, area_class="rural").arrival_overdue
    assert timing.compute(pts, area_class="urban").arrival_overdue
    assert timing.compute(pts, area_class="urban", restored_at=at(80 + 200)).restore_overdue
    assert not timing.compute(pts, area_class="rural", restored_at=at(80 + 200)).restore_overdue


def test_feeder_threshold_scales_with_the_feeder() -> None:
    rule = grouping.Rule()
    assert [rule.feeder_threshold(n) for n in (1, 2, 3, 5, 10, 20)] == [1, 2, 3, 4, 8, 16]


def test_calls_far_apart_in_time_are_separate_outages() -> None:
    calls = [grouping.Call(1, at(0), 10, 1), grouping.Call(2, at(20), 10, 1), grouping.Call(3, at(90), 10, 1)]
    groups = grouping.group_calls(calls, {1: 10})
    assert sorted(len(g.calls) for g in groups) == [1, 2]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 9), st.floats(0, 600)), min_size=1, max_size=200))
def test_every_call_lands_in_exactly_one_group(raw: list[tuple[int, float]]) -> None:
    calls = [grouping.Call(i, T + dt.timedelta(seconds=s), area, area // 5) for i, (area, s) in enumerate(raw)]
    groups = grouping.group_calls(calls, {0: 5, 1: 5})
    seen = [c for g in groups for c in g.calls]
    assert sorted(seen) == list(range(len(raw)))
    p, r = grouping.pair_scores([g.calls for g in groups], {c.id: c.area or 0 for c in calls})
    assert 0.0 <= p <= 1.0 and 0.0 <= r <= 1.0


def test_ranking_filters_and_orders_by_eta() -> None:
    fleet = ranking.make_fleet(
        [
            (1, 30.00, 120.00, "lv", "/1/2/", 0.0, True),
            (2, 30.10, 120.10, "mv", "/1/2/", 0.0, True),
            (3, 30.01, 120.01, "both", "/1/2/", 120.0, True),
            (4, 30.00, 120.00, "both", "/1/3/", 0.0, True),
            (5, 30.00, 120.00, "both", "/1/2/", 0.0, False),
        ]
    )
    got = [c.vehicle_id for c in ranking.rank(fleet, lat=30.0, lon=120.0, need="lv", unit_prefix="/1/2/")]
    assert got == [1, 3]  # 2 is a 10 kV crew, 4 is another unit, 5 is off duty; 3 has two hours queued
    mv = [c.vehicle_id for c in ranking.rank(fleet, lat=30.0, lon=120.0, need="mv", unit_prefix="/1/2/")]
    assert mv == [2, 3]
    assert ranking.rank(fleet, lat=30.0, lon=120.0, unit_prefix="/9/") == []


def test_a_longer_commitment_lets_the_drive_take_longer() -> None:
    # Every segment on target up to G, then a 98-minute drive: rural arrival at 113 against 90 is 23 late.
    pts = {"A": at(0), "B": at(2), "C": at(6), "D": at(8), "E": at(10), "F": at(12), "G": at(15), "H": at(113)}
    rural = {s.code: s for s in timing.compute(pts, area_class="rural").segments}
    assert rural["GH"].target == 28 + 45 and rural["GH"].lost_minutes == 25.0
    remote = {s.code: s for s in timing.compute(pts, area_class="remote").segments}
    assert remote["GH"].target == 28 + 75 and remote["GH"].lost_minutes == 0.0
    urban = {s.code: s for s in timing.compute(pts, area_class="urban").segments}
    assert urban["GH"].target == 28 and urban["GH"].lost_minutes == 70.0
