"""When storm mode (暴雨模式) switches itself on and off: repair calls per 10 minutes against a threshold, with
hysteresis so that it does not flap. Pure: the counts and the time are arguments (the worker job passes them)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class StormRule:
    #: Repair calls in the last 10 minutes that switch storm mode on (GRIDCARE_STORM_CALLS_PER_10MIN).
    on_calls: int
    #: Storm mode switched on by the count goes off only when every one of the last `quiet_windows` 10-minute
    #: windows had fewer calls than this (GRIDCARE_STORM_CALLS_PER_10MIN_OFF, below `on_calls`): a storm's calls
    #: come in waves, and a lull of ten minutes between two bands of rain is not the end of it.
    off_calls: int
    quiet_windows: int = 3
    #: After a shift lead switched storm mode off by hand, the count does not switch it back on for this long:
    #: the lead has decided, and the worker must not overrule them a minute later.
    hold: dt.timedelta = dt.timedelta(minutes=30)


@dataclass(frozen=True)
class StormState:
    on: bool
    automatic: bool  # the last switch was the worker's (False: a shift lead's, or never switched)
    since: dt.datetime | None  # when it last switched


@dataclass(frozen=True)
class Decision:
    on: bool
    reason: str


def decide(state: StormState, windows: Sequence[int], *, now: dt.datetime, rule: StormRule) -> Decision | None:
    """The switch to make now, or None. `windows[0]` is the number of repair calls in the last 10 minutes,
    `windows[1]` in the 10 minutes before, and so on (at least `rule.quiet_windows` of them).

    A shift lead's switch stands: storm mode switched on by hand is switched off by hand."""
    recent = windows[0] if windows else 0
    if not state.on:
        held = state.since is not None and not state.automatic and now - state.since < rule.hold
        if recent >= rule.on_calls and not held:
            return Decision(True, f"近 10 分钟报修来电 {recent} 个，达到暴雨模式阈值 {rule.on_calls} 个")
        return None
    if not state.automatic:
        return None
    quiet = list(windows[: rule.quiet_windows])
    if len(quiet) == rule.quiet_windows and all(n < rule.off_calls for n in quiet):
        minutes = rule.quiet_windows * 10
        return Decision(False, f"近 {minutes} 分钟每 10 分钟报修来电均少于 {rule.off_calls} 个")
    return None
