"""`gridcare import KIND FILE [--partial]`: load customers or topology from CSV/Excel, all-or-nothing by default."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from gridcare.core.errors import ServiceError
from gridcare.core.tables import read_table
from gridcare.customers.imports import KINDS, import_table


class Command(BaseCommand):
    help = "Import substations, feeders, areas (台区), service_points or customers from a .csv or .xlsx file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=sorted(KINDS), help="what the file holds; import top-down")
        parser.add_argument("file", help="a .csv (UTF-8 or GBK) or .xlsx file with a header row")
        parser.add_argument(
            "--partial",
            action="store_true",
            help="write the valid rows even if some are bad (default: write nothing then)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        try:
            with path.open("rb") as stream:
                table = read_table(stream, path.name)
            report = import_table(kind=options["kind"], table=table, partial=options["partial"], actor="cli")
        except ServiceError as exc:
            raise CommandError(f"{path}: {exc.message}") from None
        for problem in report.problems:
            self.stderr.write(f"{path}:{problem.line}: {problem.column}: {problem.message}")
        if report.ok:
            self.stdout.write(f"{report.kind}: {report.written} rows imported from {path}")
            return
        if report.partial:
            self.stdout.write(f"{report.kind}: {report.written} rows imported, {len(report.bad_lines)} rejected")
        else:
            self.stdout.write(
                f"{report.kind}: nothing imported — {len(report.bad_lines)} of {report.rows} rows "
                "are invalid (fix them, or use --partial to import the valid rows)"
            )
        raise SystemExit(1)
