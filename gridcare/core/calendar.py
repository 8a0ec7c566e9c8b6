"""The working-day calendar as stored in the database, loaded into the pure `WorkCalendar`."""

from __future__ import annotations

import datetime as dt
import threading
import time
from zoneinfo import ZoneInfo

from django.conf import settings

from gridcare.core.workdays import WorkCalendar

_CACHE_SECONDS = 60.0
_lock = threading.Lock()
_cached: tuple[float, WorkCalendar] | None = None


def load_calendar(*, fresh: bool = False) -> WorkCalendar:
    """The calendar, cached for a minute per process so admin edits reach every worker soon."""
    global _cached
    from gridcare.core.models import CalendarDay, CalendarYear

    with _lock:
        now = time.monotonic()
        if not fresh and _cached is not None and now - _cached[0] < _CACHE_SECONDS:
            return _cached[1]
        holidays: set[dt.date] = set()
        workdays: set[dt.date] = set()
        for day, kind in CalendarDay.objects.values_list("date", "kind"):
            (holidays if kind == CalendarDay.Kind.HOLIDAY else workdays).add(day)
        years = frozenset(CalendarYear.objects.values_list("year", flat=True))
        cal = WorkCalendar(frozenset(holidays), frozenset(workdays), years, ZoneInfo(settings.TIME_ZONE))
        _cached = (now, cal)
        return cal


def invalidate_calendar() -> None:
    global _cached
    with _lock:
        _cached = None


def seed_rows_from_chinese_calendar() -> tuple[list[int], list[tuple[dt.date, str, str]]]:
    """Years and days known to the `chinese-calendar` package (it stops at 2026; later years are entered by hand)."""
    import chinese_calendar

    days: list[tuple[dt.date, str, str]] = []
    for day, name in chinese_calendar.constants.holidays.items():
        days.append((day, "holiday", str(name)))
    for day, name in chinese_calendar.constants.workdays.items():
        if day.weekday() >= 5:  # only weekend days need an entry: they are the make-up working days
            days.append((day, "workday", str(name)))
    holidays_only = [d for d, k, _ in days if k == "holiday"]
    years = sorted({d.year for d in holidays_only})
    return years, days
