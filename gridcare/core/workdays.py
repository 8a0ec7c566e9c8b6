"""Working-day arithmetic over the Chinese public-holiday calendar, as pure functions.

The calendar is data (holidays, make-up working days 调休, and the years that are maintained);
years nobody has entered fall back to "Saturday and Sunday off" and every result that touched
such a year carries a warning, so a missing 2027 calendar is visible instead of an exception.
All arithmetic happens on local dates in the utility's time zone; instants stay aware.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class WorkCalendar:
    holidays: frozenset[dt.date] = frozenset()
    workdays: frozenset[dt.date] = frozenset()  # weekend days that are working days (调休)
    known_years: frozenset[int] = frozenset()
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def covers(self, day: dt.date) -> bool:
        return day.year in self.known_years

    def local(self, instant: dt.datetime) -> dt.datetime:
        if instant.tzinfo is None:
            raise ValueError("working-day arithmetic needs an aware datetime")
        return instant.astimezone(self.tz)


@dataclass(frozen=True)
class Computed:
    """An instant with any warnings raised while computing it (e.g. a year without calendar data)."""

    at: dt.datetime
    warnings: tuple[str, ...] = ()


def _missing_year_warnings(cal: WorkCalendar, days: Iterable[dt.date]) -> tuple[str, ...]:
    missing = sorted({d.year for d in days if not cal.covers(d)})
    return tuple(f"{y} 年节假日日历未维护，已按仅周末休息计算；请管理员补充 {y} 年日历" for y in missing)


def add_working_days(start: dt.datetime, days: int, cal: WorkCalendar) -> Computed:
    """N working days from an instant: the same clock time on the Nth following working day.

    Accepted 2026-09-30 16:00 + 1 working day → 2026-10-08 16:00 (1–7 October are holidays).
    Starting on a holiday counts from the next working day: 2026-10-03 10:00 + 1 → 2026-10-08 10:00.
    """
    if days < 0:
        raise ValueError("days must not be negative")
    local = cal.local(start)
    day = local.date()
    touched = [day]
    counted = 0
    while counted < days:
        day += DAY
        touched.append(day)
        if cal.is_working_day(day):
            counted += 1
    result = dt.datetime.combine(day, local.timetz().replace(tzinfo=None), tzinfo=cal.tz)
    return Computed(result, _missing_year_warnings(cal, touched))


def working_seconds_between(start: dt.datetime, end: dt.datetime, cal: WorkCalendar) -> float:
    """Seconds between two instants that fall on working days (used to carry pauses over)."""
    if end <= start:
        return 0.0
    a, b = cal.local(start), cal.local(end)
    total = 0.0
    day = a.date()
    while day <= b.date():
        if cal.is_working_day(day):
            day_start = dt.datetime.combine(day, dt.time(), tzinfo=cal.tz)
            lo = max(a, day_start)
            hi = min(b, day_start + DAY)
            if hi > lo:
                total += (hi - lo).total_seconds()
        day += DAY
    return total


def add_working_seconds(start: dt.datetime, seconds: float, cal: WorkCalendar) -> Computed:
    """Move forward by `seconds` of working-day time, skipping holidays and weekends."""
    local = cal.local(start)
    remaining = seconds
    day = local.date()
    cursor = local
    touched = [day]
    while True:
        day_end = dt.datetime.combine(day + DAY, dt.time(), tzinfo=cal.tz)
        if cal.is_working_day(day):
            available = (day_end - cursor).total_seconds()
            if remaining <= available:
                return Computed(cursor + dt.timedelta(seconds=remaining), _missing_year_warnings(cal, touched))
            remaining -= available
        day += DAY
        touched.append(day)
        cursor = day_end
