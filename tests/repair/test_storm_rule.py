"""When storm mode switches itself, pure (gridcare.repair.stormrule): the threshold, hysteresis, and people first."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from gridcare.repair.stormrule import Decision, StormRule, StormState, decide

T0 = dt.datetime(2026, 7, 20, 17, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
RULE = StormRule(on_calls=60, off_calls=30)
OFF = StormState(on=False, automatic=False, since=None)


def minutes(m: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=m)


def test_storm_mode_switches_on_at_the_threshold_and_not_below() -> None:
    assert decide(OFF, [59, 0, 0], now=T0, rule=RULE) is None
    d = decide(OFF, [60, 0, 0], now=T0, rule=RULE)
    assert d == Decision(True, "近 10 分钟报修来电 60 个，达到暴雨模式阈值 60 个")


def test_between_the_two_thresholds_nothing_changes_either_way() -> None:
    on = StormState(on=True, automatic=True, since=minutes(-60))
    assert decide(on, [45, 45, 45], now=T0, rule=RULE) is None  # not quiet enough to end it
    assert decide(OFF, [45, 45, 45], now=T0, rule=RULE) is None  # not busy enough to start it


def test_automatic_storm_mode_ends_only_after_half_an_hour_below_the_off_count() -> None:
    on = StormState(on=True, automatic=True, since=minutes(-90))
    assert decide(on, [10, 12, 30], now=T0, rule=RULE) is None  # 30 is not below 30: a wave 20–30 minutes ago
    assert decide(on, [10, 12], now=T0, rule=RULE) is None  # fewer windows than asked for: no decision
    assert decide(on, [10, 12, 29], now=T0, rule=RULE) == Decision(False, "近 30 分钟每 10 分钟报修来电均少于 30 个")


def test_a_shift_leads_storm_mode_is_never_switched_off_by_the_count() -> None:
    by_hand = StormState(on=True, automatic=False, since=minutes(-300))
    assert decide(by_hand, [0, 0, 0], now=T0, rule=RULE) is None


def test_after_a_shift_lead_switched_it_off_the_count_waits_30_minutes() -> None:
    ended_by_hand = StormState(on=False, automatic=False, since=minutes(-29))
    assert decide(ended_by_hand, [200, 200, 200], now=T0, rule=RULE) is None
    ended_earlier = StormState(on=False, automatic=False, since=minutes(-30))
    assert decide(ended_earlier, [200, 200, 200], now=T0, rule=RULE) is not None
    ended_by_count = StormState(on=False, automatic=True, since=minutes(-1))
    assert decide(ended_by_count, [60, 0, 0], now=T0, rule=RULE) is not None  # a new wave: no hold
