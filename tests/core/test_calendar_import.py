"""An administrator enters a year of the holiday calendar from a file; open deadlines follow it."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from gridcare.core.calendar import load_calendar
from gridcare.core.models import BackgroundTask, CalendarDay, CalendarYear, Event
from gridcare.core.worker import run_pass
from gridcare.workorders.models import WorkOrder
from tests.conftest import City
from tests.workorders.helpers import bj, complaint, deadline

pytestmark = pytest.mark.django_db

# A made-up 2027 for the test (not the State Council's notice): National Day 1–7 October, with Sunday
# 26 September and Saturday 9 October worked instead, and a New Year's Day.
YEAR_2027 = """date,kind,name
2027-01-01,holiday,元旦
2027-09-26,workday,国庆节
2027-10-01,holiday,国庆节
2027-10-02,holiday,国庆节
2027-10-03,holiday,国庆节
2027-10-04,holiday,国庆节
2027-10-05,holiday,国庆节
2027-10-06,holiday,国庆节
2027-10-07,holiday,国庆节
2027-10-09,workday,国庆节
"""


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("calendar", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def write(tmp_path: Path, text: str, name: str = "2027.csv", encoding: str = "utf-8") -> str:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return str(path)


def test_importing_a_year_moves_open_deadlines_and_clears_their_warning(city: City, tmp_path: Path) -> None:
    early = complaint(city, bj(2027, 9, 30, 16))  # accepted before 2027 was entered: weekends only
    assert deadline(early, "contact").due_at == bj(2027, 10, 1, 16) and "2027" in early.calendar_warning
    out, err = run("import", write(tmp_path, YEAR_2027), "--source", "测试通知")
    assert err == "" and "2027: 8 holidays, 2 make-up working days" in out
    assert "open work-order deadlines recomputed: 2 moved" in out  # contact and reply
    assert CalendarYear.objects.get(year=2027).source == "测试通知"
    moved = WorkOrder.objects.get(pk=early.pk)
    assert deadline(moved, "contact").due_at == bj(2027, 10, 8, 16) and moved.calendar_warning == ""
    assert Event.objects.filter(action="workorder.deadline_recompute", subject_id=str(early.pk)).exists()
    assert Event.objects.filter(action="calendar.import", subject_id="2027").count() == 1
    # A new order counts the make-up Saturday 9 October as a working day.
    later = complaint(city, bj(2027, 10, 8, 10))
    assert deadline(later, "contact").due_at == bj(2027, 10, 9, 10) and later.calendar_warning == ""


def test_a_corrected_notice_replaces_the_year(city: City, tmp_path: Path) -> None:
    run("import", write(tmp_path, YEAR_2027), "--keep-deadlines")
    corrected = YEAR_2027.replace("2027-10-09,workday,国庆节\n", "")
    run("import", write(tmp_path, corrected, "2027-corrected.csv"), "--keep-deadlines")
    cal = load_calendar(fresh=True)
    assert not cal.is_working_day(dt.date(2027, 10, 9)) and cal.is_working_day(dt.date(2027, 9, 26))
    assert CalendarDay.objects.filter(date__year=2027).count() == 9
    assert CalendarDay.objects.filter(date__year=2026).count() > 20  # other years untouched


def test_chinese_headers_and_a_gbk_file_from_excel_are_read(city: City, tmp_path: Path) -> None:
    text = "日期,类型,名称\n2027/1/1,法定节假日,元旦\n2027-10-09,调休上班,国庆节\n"
    out, _ = run("import", write(tmp_path, text, encoding="gb18030"), "--keep-deadlines")
    assert "2027: 1 holidays, 1 make-up working days" in out
    assert CalendarDay.objects.get(date=dt.date(2027, 10, 9)).kind == CalendarDay.Kind.WORKDAY


def test_a_bad_file_writes_nothing_and_names_every_bad_line(city: City, tmp_path: Path) -> None:
    bad = YEAR_2027 + "2027-10-11,workday,国庆节\n2027-13-01,holiday,x\n2027-10-02,holiday,again\n2027-05-01,rest,x\n"
    path = write(tmp_path, bad)
    with pytest.raises(SystemExit) as exit_info:
        run("import", path)
    assert exit_info.value.code == 1
    err = StringIO()
    with pytest.raises(SystemExit):
        call_command("calendar", "import", path, stdout=StringIO(), stderr=err)
    lines = err.getvalue().splitlines()
    assert lines == [
        f"{path}:12: kind: 2027-10-11 是周一：调休上班日须为周六或周日",
        f"{path}:13: date: 日期 '2027-13-01' 无法识别，应为 YYYY-MM-DD",
        f"{path}:14: date: 2027-10-02 已在第 5 行出现",
        f"{path}:15: kind: 类型 'rest' 无法识别，应为 holiday/法定节假日 或 workday/调休上班",
    ]
    assert not CalendarYear.objects.filter(year=2027).exists()
    assert not CalendarDay.objects.filter(date__year=2027).exists()


def test_a_file_without_the_columns_or_without_holidays_is_refused(city: City, tmp_path: Path) -> None:
    err = StringIO()
    with pytest.raises(SystemExit):
        call_command(
            "calendar", "import", write(tmp_path, "day,type\n2027-01-01,holiday\n"), stdout=StringIO(), stderr=err
        )
    assert "缺少列：date/日期、kind/类型" in err.getvalue()
    err = StringIO()
    with pytest.raises(SystemExit):
        call_command(
            "calendar", "import", write(tmp_path, "date,kind\n2027-10-09,workday\n"), stdout=StringIO(), stderr=err
        )
    assert "2027 年没有一天法定节假日" in err.getvalue()
    with pytest.raises(CommandError, match="no such file"):
        run("import", str(tmp_path / "missing.csv"))


def test_show_lists_the_years_and_the_days_of_one(city: City, tmp_path: Path) -> None:
    out, _ = run("show")
    assert "2026  " in out and "other years: weekends only" in out
    out, _ = run("show", "--year", "2026")
    assert "2026-10-01 周四  法定节假日" in out
    with pytest.raises(CommandError, match="2031 has not been entered"):
        run("show", "--year", "2031")


def test_an_administrator_entering_days_in_the_admin_recomputes_with_one_action(city: City, client: Client) -> None:
    early = complaint(city, bj(2027, 9, 30, 16))
    year = CalendarYear.objects.create(year=2027, source="录入中")
    CalendarDay.objects.bulk_create(
        [CalendarDay(date=dt.date(2027, 10, day), kind="holiday", name="国庆节") for day in range(1, 8)]
    )
    client.force_login(city.admin)
    r = client.post(
        "/admin/core/calendaryear/",
        {"action": "recompute_open_deadlines", "_selected_action": [year.pk]},
        follow=True,
    )
    # The click only queues the recompute: the page answers at once and names the task.
    task = BackgroundTask.objects.get(name="workorders.deadlines_recompute")
    assert r.status_code == 200 and f"后台任务 #{task.pk}" in r.content.decode()
    assert task.state == BackgroundTask.State.QUEUED and task.requested_by == city.admin
    assert deadline(WorkOrder.objects.get(pk=early.pk), "contact").due_at == bj(2027, 10, 1, 16)
    # The deadlines worker runs it; the admin's task list then shows it done with its progress.
    run_pass(bj(2027, 9, 30, 17), queues={"deadlines"})
    task.refresh_from_db()
    assert task.state == BackgroundTask.State.DONE and task.result["moved"] == 2 and (task.done, task.total) == (1, 1)
    moved = WorkOrder.objects.get(pk=early.pk)
    assert deadline(moved, "contact").due_at == bj(2027, 10, 8, 16) and moved.calendar_warning == ""
    listing = client.get("/admin/core/backgroundtask/").content.decode()
    assert "按现行节假日历重算在途工单时限" in listing and "1/1 (100%)" in listing
