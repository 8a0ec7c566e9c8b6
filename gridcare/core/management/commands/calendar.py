"""`gridcare calendar show [--year Y]` and `gridcare calendar import FILE`: the holiday calendar that deadlines
are counted on, shown and extended a year at a time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from gridcare.core.background import task_label, task_run_until_done, tasks_queued_by
from gridcare.core.calendar_import import WEEKDAYS, calendar_import
from gridcare.core.errors import ServiceError
from gridcare.core.models import BackgroundTask, CalendarDay, CalendarYear
from gridcare.core.signals import calendar_changed
from gridcare.core.tables import read_table


class Command(BaseCommand):
    help = "Show the holiday calendar, or enter whole years of it from a .csv/.xlsx file (date,kind,name)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        show = sub.add_parser("show", help="the years entered; with --year, each holiday and make-up working day")
        show.add_argument("--year", type=int)
        load = sub.add_parser(
            "import",
            help="replace the years in FILE (columns date/日期, kind/类型: holiday|workday|法定节假日|调休上班, "
            "name/名称); nothing is written if any row is bad",
        )
        load.add_argument("file")
        load.add_argument("--source", default="", help="where the dates come from, e.g. 国办发明电〔2026〕X号")
        load.add_argument(
            "--keep-deadlines",
            action="store_true",
            help="leave open work orders' deadlines as they are (by default they are recomputed on the new calendar)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "show":
            self.show(options["year"])
        else:
            self.load(Path(options["file"]), options["source"], not options["keep_deadlines"])

    def show(self, year: int | None) -> None:
        if year is None:
            for y in CalendarYear.objects.order_by("year"):
                days = CalendarDay.objects.filter(date__year=y.year)
                holidays = days.filter(kind=CalendarDay.Kind.HOLIDAY).count()
                self.stdout.write(
                    f"{y.year}  {holidays} holidays, {days.count() - holidays} make-up working days  {y.source}"
                )
            self.stdout.write("other years: weekends only, and every deadline in them carries a warning")
            return
        if not CalendarYear.objects.filter(year=year).exists():
            raise CommandError(f"{year} has not been entered: deadlines in it count weekends only (with a warning)")
        for day in CalendarDay.objects.filter(date__year=year).order_by("date"):
            self.stdout.write(f"{day.date} 周{WEEKDAYS[day.date.weekday()]}  {day.get_kind_display()}  {day.name}")

    def load(self, path: Path, source: str, recompute: bool) -> None:
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        try:
            with path.open("rb") as stream:
                table = read_table(stream, path.name)
        except ServiceError as exc:
            raise CommandError(f"{path}: {exc.message}") from None
        report = calendar_import(table=table, source=source or path.name, actor="cli")
        for problem in report.problems:
            where = f"{path}:{problem.line}" if problem.line else str(path)
            self.stderr.write(f"{where}: {problem.column}: {problem.message}")
        if not report.written:
            self.stdout.write(f"nothing imported: {len(report.problems)} problem(s) in {path}")
            raise SystemExit(1)
        for year, (holidays, workdays) in sorted(report.years.items()):
            self.stdout.write(f"{year}: {holidays} holidays, {workdays} make-up working days")
        if recompute:
            # The apps that count on the calendar queue their recompute; the command waits for it to finish.
            for queued in tasks_queued_by(calendar_changed.send(sender=CalendarYear, actor="cli")):
                task = task_run_until_done(task=queued, clock=timezone.now)
                if task.state == BackgroundTask.State.FAILED:
                    raise CommandError(f"{task_label(task)} (background task #{task.pk}) failed: {task.error}")
                self.stdout.write(str(task.result.get("summary") or f"{task_label(task)}: done"))
        else:
            self.stdout.write("open work orders keep their deadlines (--keep-deadlines)")
