"""`gridcare tags …`: load the default catalogue, publish, fit the clustering model, run, compare, import credit."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from tqdm import tqdm

from gridcare.core.errors import ServiceError
from gridcare.core.tables import read_table
from gridcare.tags import selectors, services


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--as-of {text!r}: use YYYY-MM-DD") from None


class Command(BaseCommand):
    help = "Customer tags: load-defaults, publish, fit, run, compare, import-credit."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        load = sub.add_parser("load-defaults", help="put the shipped default catalogue into the draft")
        load.add_argument("--publish", action="store_true", help="publish the draft afterwards")
        pub = sub.add_parser("publish", help="publish the draft as a new catalogue version")
        pub.add_argument("--note", default="")
        fit = sub.add_parser("fit", help="fit a clustering tag (default load_shape) on the load curves")
        fit.add_argument("--tag", default="load_shape")
        fit.add_argument("--as-of", default=None)
        run = sub.add_parser("run", help="run the published catalogue over the analytics store")
        run.add_argument("--tags", default="", help="comma-separated tag codes (default: all)")
        run.add_argument("--as-of", default=None, help="statistics date, YYYY-MM-DD (default: the last data day)")
        run.add_argument("--engine", choices=["duckdb", "spark"], default="duckdb")
        run.add_argument(
            "--no-export",
            action="store_true",
            help="use the analytics store as it is (skip exporting the ledger and work orders)",
        )
        cmp = sub.add_parser("compare", help="compare two catalogue versions")
        cmp.add_argument("a", type=int)
        cmp.add_argument("b", type=int)
        credit = sub.add_parser("import-credit", help="import the external credit table (customer_id, credit_grade)")
        credit.add_argument("file")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, "do_" + options["action"].replace("-", "_"))(options)
        except ServiceError as exc:
            raise CommandError(exc.message) from None

    def do_load_defaults(self, options: dict[str, Any]) -> None:
        n = services.defaults_load(actor="cli")
        self.stdout.write(f"default catalogue: {n} tags loaded into the draft")
        if options["publish"]:
            self.do_publish({"note": "默认标签目录"})

    def do_publish(self, options: dict[str, Any]) -> None:
        version = services.catalogue_publish(actor="cli", note=options.get("note", ""))
        self.stdout.write(f"published v{version.number} with {len(version.snapshot['tags'])} tags")

    def do_fit(self, options: dict[str, Any]) -> None:
        from gridcare.tags import engine

        inputs = engine.find_inputs(Path(services.settings.ANALYTICS_DIR))
        as_of = _date(options["as_of"]) if options["as_of"] else engine.last_data_day(inputs) or timezone.localdate()
        tag = services.model_fit(code=options["tag"], actor="cli", as_of=as_of, inputs=inputs)
        self.stdout.write(
            f"{tag.code}: fitted on {tag.rule['fitted_on']} curves; clusters {tag.rule['names']} "
            f"sizes {tag.rule['cluster_sizes']} (publish to use it)"
        )

    def do_run(self, options: dict[str, Any]) -> None:
        from gridcare.customers.export import export_ledger
        from gridcare.tags import engine
        from gridcare.workorders.export import export_work_orders

        # The ledger and the work orders live in the web database: export them to the analytics store
        # first, so the tags see today's customers (imports included) and orders (报修频次, 投诉次数 …).
        if not options.get("no_export"):
            store = Path(services.settings.ANALYTICS_DIR)
            _, customers = export_ledger(store)
            _, orders = export_work_orders(store)
            self.stdout.write(f"exported {customers} customers and {orders} work orders to the analytics store")
        inputs = engine.find_inputs(Path(services.settings.ANALYTICS_DIR))
        as_of = _date(options["as_of"]) if options["as_of"] else engine.last_data_day(inputs)
        if as_of is None:
            raise CommandError(f"no daily_kwh data under {services.settings.ANALYTICS_DIR}; pass --as-of")
        codes = [c.strip() for c in options["tags"].split(",") if c.strip()] or None
        run = services.run_create(actor="cli", as_of=as_of, tag_codes=codes, engine_name=options["engine"])
        steps = tqdm(desc=f"run #{run.pk} ({run.engine}, as of {as_of})", unit="step", leave=True)

        def progress(step: str) -> None:
            steps.set_postfix_str(step)
            steps.update(1)

        try:
            run = services.run_execute(run=run, now=timezone.now(), inputs=inputs, progress=progress)
        finally:
            steps.close()
        self.stdout.write(
            f"run #{run.pk}: v{run.version.number}, {len(run.tag_codes)} tags × {run.customers} customers "
            f"in {run.seconds} s; single-value violations: {len(run.violations)}"
        )
        for code, problem in run.violations.items():
            self.stderr.write(f"  {code}: {json.dumps(problem, ensure_ascii=False)}")
        errors = {c: r["error"] for c, r in run.report.items() if r.get("error")}
        for code, error in errors.items():
            self.stderr.write(f"  {code}: rule error: {error}")
        if errors:
            raise SystemExit(1)

    def do_compare(self, options: dict[str, Any]) -> None:
        self.stdout.write(
            json.dumps(selectors.version_compare(options["a"], options["b"]), ensure_ascii=False, indent=2)
        )

    def do_import_credit(self, options: dict[str, Any]) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        try:
            with path.open("rb") as stream:
                table = read_table(stream, path.name)
        except ServiceError as exc:  # a bad or oversized file: one line, not a traceback
            raise CommandError(f"{path}: {exc.message}") from None
        rows = [values for _line, values in table.rows]
        n = services.credit_import(rows=rows, actor="cli")
        self.stdout.write(f"credit: {n} rows imported")
