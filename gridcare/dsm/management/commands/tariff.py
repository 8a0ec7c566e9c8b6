"""`gridcare tariff bill --tariff FILE|ID --usage FILE`: a bill as JSON; `tariff check FILE`, `tariff list`."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from gridcare.core.errors import ServiceError
from gridcare.dsm import billing


class Command(BaseCommand):
    help = "Compute a bill with the tariff engine, validate a tariff file, or list the tariffs."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        bill = sub.add_parser("bill", help="print the bill as JSON")
        bill.add_argument("--tariff", required=True, help="a tariff YAML file or the id of a known tariff")
        bill.add_argument("--usage", required=True, help="a usage YAML/JSON file (docs/dsm.md)")
        bill.add_argument(
            "--version-split",
            choices=["days", "none"],
            default=None,
            help="a period spanning a price change: split by days (the tariffs' default) or bill it whole "
            "with the first day's version",
        )
        check = sub.add_parser("check", help="validate tariff files")
        check.add_argument("files", nargs="+")
        sub.add_parser("list", help="list the known tariffs")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["action"] == "bill":
                tariff = billing.tariff_from_path_or_id(options["tariff"])
                usage = billing.usage_from_path(options["usage"])
                result = billing.bill_compute(tariff=tariff, usage=usage, version_split=options["version_split"])
                self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
            elif options["action"] == "check":
                for name in options["files"]:
                    tariff = billing.tariff_from_path_or_id(name)
                    self.stdout.write(f"{name}: ok ({tariff.id}, {len(tariff.versions)} version(s))")
            else:
                for tariff in billing.tariffs_available().values():
                    spans = ", ".join(v.effective_from.isoformat() for v in tariff.versions)
                    self.stdout.write(f"{tariff.id}\t{tariff.name}\t{spans}")
        except ServiceError as exc:
            raise CommandError(exc.message) from None
