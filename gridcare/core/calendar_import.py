"""Entering a year of the holiday calendar from a file, as the State Council publishes it each November.

`chinese-calendar` stops at 2026; every later year is entered here (or one day at a time in the admin). The
file holds whole years: each year in it replaces what was stored for that year, so a corrected notice is
loaded the same way as the first one. One bad row means nothing is written.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from gridcare.core.audit import record_event
from gridcare.core.calendar import invalidate_calendar
from gridcare.core.models import CalendarDay, CalendarYear
from gridcare.core.tables import Table

COLUMNS = {
    "date": ("date", "日期"),
    "kind": ("kind", "类型"),
    "name": ("name", "名称", "节日"),
}
KINDS = {
    "holiday": CalendarDay.Kind.HOLIDAY,
    "法定节假日": CalendarDay.Kind.HOLIDAY,
    "节假日": CalendarDay.Kind.HOLIDAY,
    "休": CalendarDay.Kind.HOLIDAY,
    "workday": CalendarDay.Kind.WORKDAY,
    "调休上班": CalendarDay.Kind.WORKDAY,
    "上班": CalendarDay.Kind.WORKDAY,
    "班": CalendarDay.Kind.WORKDAY,
}
WEEKDAYS = "一二三四五六日"


@dataclass
class Problem:
    line: int
    column: str
    message: str


@dataclass
class CalendarImport:
    """What a file held, per year (holidays, make-up working days), and what was wrong with it."""

    years: dict[int, tuple[int, int]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    written: bool = False


def _column(table: Table, key: str) -> str | None:
    return next((h for h in table.header if h.strip().lower() in COLUMNS[key]), None)


def _parse_date(text: str) -> dt.date | None:
    text = text.strip().replace("/", "-").replace(".", "-")
    try:
        return dt.date.fromisoformat("-".join(part.zfill(2) for part in text.split("-")))
    except ValueError:
        return None


def calendar_import(*, table: Table, source: str, actor: Any) -> CalendarImport:
    """Check every row, then replace the stored days of each year in the file (all or nothing)."""
    report = CalendarImport()
    date_col, kind_col, name_col = (_column(table, key) for key in ("date", "kind", "name"))
    missing = [COLUMNS[k][0] + "/" + COLUMNS[k][1] for k, c in (("date", date_col), ("kind", kind_col)) if c is None]
    if missing or date_col is None or kind_col is None:
        report.problems.append(Problem(1, "header", f"缺少列：{'、'.join(missing)}（表头应为 date,kind,name）"))
        return report
    days: dict[dt.date, tuple[str, str]] = {}
    first_line: dict[dt.date, int] = {}
    for line, row in table.rows:
        raw_date, raw_kind = str(row.get(date_col) or ""), str(row.get(kind_col) or "").strip()
        day = _parse_date(raw_date)
        kind = KINDS.get(raw_kind.lower())
        if day is None:
            report.problems.append(Problem(line, date_col, f"日期 {raw_date!r} 无法识别，应为 YYYY-MM-DD"))
            continue
        if kind is None:
            choices = "holiday/法定节假日 或 workday/调休上班"
            report.problems.append(Problem(line, kind_col, f"类型 {raw_kind!r} 无法识别，应为 {choices}"))
            continue
        if kind == CalendarDay.Kind.WORKDAY and day.weekday() < 5:
            report.problems.append(
                Problem(line, kind_col, f"{day} 是周{WEEKDAYS[day.weekday()]}：调休上班日须为周六或周日")
            )
            continue
        if day in days:
            report.problems.append(Problem(line, date_col, f"{day} 已在第 {first_line[day]} 行出现"))
            continue
        days[day] = (kind, str(row.get(name_col) or "").strip()[:50] if name_col else "")
        first_line[day] = line
    years = sorted({day.year for day in days})
    for year in years:
        holidays = sum(1 for d, (k, _) in days.items() if d.year == year and k == CalendarDay.Kind.HOLIDAY)
        if holidays == 0:
            report.problems.append(Problem(0, kind_col, f"{year} 年没有一天法定节假日：文件应包含全年的日历"))
        report.years[year] = (holidays, sum(1 for d in days if d.year == year) - holidays)
    if not days and not report.problems:
        report.problems.append(Problem(0, date_col, "文件中没有日期"))
    if report.problems:
        return report
    with transaction.atomic():
        for year in years:
            CalendarDay.objects.filter(date__year=year).delete()
            CalendarYear.objects.update_or_create(year=year, defaults={"source": source[:100]})
        CalendarDay.objects.bulk_create(
            [CalendarDay(date=day, kind=kind, name=name) for day, (kind, name) in sorted(days.items())]
        )
        record_event(
            actor=actor,
            action="calendar.import",
            subject_type="core.calendaryear",
            subject_id=",".join(str(y) for y in years),
            subject_label=f"{years[0]}–{years[-1]} 年节假日" if len(years) > 1 else f"{years[0]} 年节假日",
            new={"source": source, "years": {str(y): list(report.years[y]) for y in years}},
        )
    invalidate_calendar()
    report.written = True
    return report
