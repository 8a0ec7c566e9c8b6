"""Working days over the Chinese holiday calendar, including 调休 make-up days and unmaintained years."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridcare.core.calendar import load_calendar
from gridcare.core.workdays import (
    WorkCalendar,
    add_working_days,
    add_working_seconds,
    working_seconds_between,
)

BJ = ZoneInfo("Asia/Shanghai")


def at(y: int, m: int, d: int, h: int = 0, mi: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, h, mi, tzinfo=BJ)


@pytest.fixture
def cal(db: None) -> WorkCalendar:
    return load_calendar(fresh=True)


def test_complaint_contact_deadline_skips_national_day(cal: WorkCalendar) -> None:
    assert add_working_days(at(2026, 9, 30, 16), 1, cal).at == at(2026, 10, 8, 16)


def test_six_working_days_across_national_day_counts_the_make_up_saturday(cal: WorkCalendar) -> None:
    # 8, 9, 10 (Saturday make-up day), 12, 13, 14 October.
    assert add_working_days(at(2026, 9, 30, 16), 6, cal).at == at(2026, 10, 14, 16)


def test_make_up_saturday_before_spring_festival_is_a_working_day(cal: WorkCalendar) -> None:
    assert cal.is_working_day(dt.date(2026, 2, 14))
    assert add_working_days(at(2026, 2, 13, 9, 30), 1, cal).at == at(2026, 2, 14, 9, 30)
    # Then the Spring Festival holiday (15–23 February) is skipped.
    assert add_working_days(at(2026, 2, 14, 9, 30), 1, cal).at == at(2026, 2, 24, 9, 30)


def test_start_on_a_holiday_counts_from_the_next_working_day(cal: WorkCalendar) -> None:
    assert add_working_days(at(2026, 10, 3, 10), 1, cal).at == at(2026, 10, 8, 10)


def test_midnight_and_month_end(cal: WorkCalendar) -> None:
    assert add_working_days(at(2026, 7, 31, 0, 0), 1, cal).at == at(2026, 8, 3, 0, 0)
    year_end = add_working_days(at(2026, 12, 31, 23, 59), 1, cal)
    # 2027 is not maintained yet: New Year's Day 2027 (a Friday) counts as working, and we are told so.
    assert year_end.at == at(2027, 1, 1, 23, 59) and "2027" in year_end.warnings[0]


def test_utc_instants_are_counted_on_beijing_dates(cal: WorkCalendar) -> None:
    # 2026-09-30 20:00 UTC is already 1 October 04:00 in Beijing, a holiday.
    utc = dt.datetime(2026, 9, 30, 20, 0, tzinfo=dt.UTC)
    assert add_working_days(utc, 1, cal).at == at(2026, 10, 8, 4)


def test_a_year_without_calendar_data_falls_back_to_weekends_with_a_warning(cal: WorkCalendar) -> None:
    result = add_working_days(at(2027, 9, 30, 16), 1, cal)
    assert result.at == at(2027, 10, 1, 16)  # no 2027 data: 1 October 2027 (a Friday) counts as working
    assert result.warnings and "2027" in result.warnings[0]
    assert add_working_days(at(2026, 9, 30, 16), 1, cal).warnings == ()


def test_an_administrator_extends_the_calendar_to_2027(cal: WorkCalendar) -> None:
    from gridcare.core.models import CalendarDay, CalendarYear

    CalendarYear.objects.create(year=2027, source="test")
    for day in range(1, 8):
        CalendarDay.objects.create(date=dt.date(2027, 10, day), kind="holiday", name="国庆节")
    fresh = load_calendar(fresh=True)
    result = add_working_days(at(2027, 9, 30, 16), 1, fresh)
    assert result.at == at(2027, 10, 8, 16) and result.warnings == ()


def test_working_seconds_skip_the_holiday(cal: WorkCalendar) -> None:
    assert working_seconds_between(at(2026, 9, 30, 12), at(2026, 10, 8, 12), cal) == 24 * 3600
    assert add_working_seconds(at(2026, 9, 30, 12), 24 * 3600, cal).at == at(2026, 10, 8, 12)


@given(
    start=st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2026, 12, 1)),  # noqa: DTZ001 - naive bounds are what hypothesis wants
    days=st.integers(min_value=0, max_value=30),
)
def test_result_is_a_working_day_at_the_same_clock_time(start: dt.datetime, days: int) -> None:
    cal = WorkCalendar(
        frozenset({dt.date(2026, 10, d) for d in range(1, 8)}),
        frozenset({dt.date(2026, 10, 10)}),
        frozenset({2026}),
        BJ,
    )
    begin = start.replace(tzinfo=BJ)
    result = add_working_days(begin, days, cal).at
    assert result.time() == begin.time()
    assert result >= begin
    if days:
        assert cal.is_working_day(result.date())
