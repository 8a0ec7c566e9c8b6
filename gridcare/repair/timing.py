"""Pure A–H arithmetic: the seven segments of a repair, their targets, and who lost the minutes.

A the call ends · B the 95598 shift lead sends · C the repair centre's system receives · D the repair
centre sends on · E the crew's device receives · F the crew accepts · G departs · H arrives.
Nothing here touches the database or the clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

POINTS = "ABCDEFGH"
SEGMENTS = ["AB", "BC", "CD", "DE", "EF", "FG", "GH"]


@dataclass(frozen=True)
class SegmentRule:
    code: str
    minutes: float
    minutes_other_site: float | None  # DE: the crew sits at another site than its repair centre
    party: str  # center_95598 | network | repair_center | crew_member | crew


DEFAULT_RULES = [
    SegmentRule("AB", 2, None, "center_95598"),
    SegmentRule("BC", 4, None, "network"),
    SegmentRule("CD", 2, None, "repair_center"),
    SegmentRule("DE", 2, 4, "network"),
    SegmentRule("EF", 2, None, "crew_member"),
    SegmentRule("FG", 3, None, "crew"),
    SegmentRule("GH", 28, None, "crew"),
]
ARRIVAL_TARGETS = {"urban": 45, "rural": 90, "remote": 120}  # A→H, minutes (published commitment)
RESTORE_TARGETS = {"urban": 180, "rural": 240, "remote": 240}  # arrival → power restored, minutes


@dataclass(frozen=True)
class Segment:
    code: str
    start: dt.datetime | None
    end: dt.datetime | None
    minutes: float | None
    target: float
    overdue: bool
    lost_minutes: float  # minutes beyond the target
    party: str
    who: str  # the unit or person that held the order during the segment


@dataclass(frozen=True)
class Timing:
    segments: list[Segment]
    arrival_minutes: float | None
    arrival_target: float
    arrival_overdue: bool
    restore_minutes: float | None
    restore_target: float
    restore_overdue: bool

    @property
    def worst(self) -> Segment | None:
        """The segment that lost the most minutes, if any did."""
        lost = [s for s in self.segments if s.lost_minutes > 0]
        return max(lost, key=lambda s: s.lost_minutes) if lost else None


def _minutes(a: dt.datetime | None, b: dt.datetime | None) -> float | None:
    if a is None or b is None:
        return None
    return round((b - a).total_seconds() / 60.0, 2)


def compute(
    points: Mapping[str, dt.datetime | None],
    *,
    rules: Sequence[SegmentRule] = DEFAULT_RULES,
    same_site: bool = True,
    area_class: str = "urban",
    who: Mapping[str, str] | None = None,
    restored_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
    arrival_targets: Mapping[str, float] = ARRIVAL_TARGETS,
    restore_targets: Mapping[str, float] = RESTORE_TARGETS,
) -> Timing:
    """Segments from the stamped points. With `now`, a segment still running is measured up to now,
    so an order stuck at the crew shows its lost minutes before it is ever accepted."""
    who = who or {}
    by_code = {r.code: r for r in rules}
    arrival_target = float(arrival_targets.get(area_class, arrival_targets["urban"]))
    # The segment targets add up to the urban commitment; a rural or remote fault allows more time to drive
    # there, so the drive (GH) gets the difference — else a crew 10 minutes late on a 90-minute commitment
    # would be charged 60 lost minutes.
    longer_drive = max(0.0, arrival_target - float(arrival_targets.get("urban", arrival_target)))
    segments = []
    for code in SEGMENTS:
        rule = by_code[code]
        start, end = points.get(code[0]), points.get(code[1])
        target = rule.minutes if same_site or rule.minutes_other_site is None else rule.minutes_other_site
        if code == "GH":
            target += longer_drive
        minutes = _minutes(start, end if end is not None else now if start is not None else None)
        lost = max(0.0, (minutes or 0.0) - target)
        segments.append(
            Segment(code, start, end, minutes, target, lost > 0, round(lost, 2), rule.party, who.get(code, ""))
        )
    arrival = _minutes(points.get("A"), points.get("H"))
    restore = _minutes(points.get("H"), restored_at)
    restore_target = float(restore_targets.get(area_class, restore_targets["urban"]))
    return Timing(
        segments,
        arrival,
        arrival_target,
        arrival is not None and arrival > arrival_target,
        restore,
        restore_target,
        restore is not None and restore > restore_target,
    )
