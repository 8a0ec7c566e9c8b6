"""`gridcare load import FILE…`: 96-point or daily readings (CSV/Parquet) into the interval store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from gridcare.core.errors import ServiceError
from gridcare.dsm.services import ImportRefused, interval_import


class Command(BaseCommand):
    help = "Import interval (96-point) or daily register readings; all or nothing per file."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help="validate and import CSV/Parquet files (or a folder of Parquet files)")
        imp.add_argument("files", nargs="+")
        imp.add_argument("--fill-gaps", action="store_true", help="interpolate gaps (the filled rows are flagged)")
        imp.add_argument("--register-digits", type=int, help="register digits, to correct rollovers (e.g. 6)")
        imp.add_argument(
            "--no-check-customers",
            action="store_true",
            help="accept customer_ids that are not in the ledger (bulk loads of the demo's load_96/)",
        )
        imp.add_argument("--quiet", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        failed = False
        for name in options["files"]:
            path = Path(name)
            bar = tqdm(desc=path.name, unit=" rows", unit_scale=True, disable=options["quiet"], file=self.stderr)
            try:
                batch, report = interval_import(
                    path=path,
                    actor="cli",
                    fill_gaps=options["fill_gaps"],
                    register_digits=options["register_digits"],
                    check_customers=not options["no_check_customers"],
                    progress=bar.update,
                )
            except ImportRefused as exc:
                bar.close()
                for problem in exc.report.errors:
                    self.stderr.write(f"error: {problem.describe(str(path))}")
                for problem in exc.report.warnings:
                    self.stderr.write(f"warning: {problem.describe(str(path))}")
                if len(options["files"]) == 1:
                    raise CommandError(exc.message) from None
                self.stderr.write(exc.message)
                failed = True
                continue
            except ServiceError as exc:
                bar.close()
                if len(options["files"]) == 1:
                    raise CommandError(exc.message) from None
                self.stderr.write(exc.message)
                failed = True
                continue
            bar.close()
            for problem in report.warnings:
                self.stderr.write(f"warning: {problem.describe(str(path))}")
            self.stdout.write(
                f"{path}: {batch.rows} rows for {batch.series} customers ({batch.first_day} – {batch.last_day}) "
                f"imported; {report.warning_count} warning(s), {report.filled} filled"
            )
        if failed:
            raise CommandError("some files were not imported (see above)")
