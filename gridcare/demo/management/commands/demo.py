"""`gridcare demo [--seed S] [--customers N] [--if-empty]`: load the deterministic demo city (青川市)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from gridcare.customers.models import Customer
from gridcare.demo.generator import DemoDataExistsError, DemoError, build_demo_city
from gridcare.demo.plan import MAX_CUSTOMERS


def _customers(raw: str) -> int:
    try:
        value = int(raw.replace("_", "").replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a whole number (e.g. 5000 or 1000000)") from None
    if not 1 <= value <= MAX_CUSTOMERS:
        raise argparse.ArgumentTypeError(f"{value} is out of range; choose between 1 and {MAX_CUSTOMERS:,}")
    return value


def _seed(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError("the seed must be zero or positive")
    return value


class Command(BaseCommand):
    help = (
        "Load the demo city 青川市 — org units, users, grid, customers, vehicles and a year of usage data "
        "(Parquet) — into an empty database. The same seed always gives the same city."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=_seed, default=2026, help="random seed (default 2026)")
        parser.add_argument("--customers", type=_customers, default=5000, help="number of customers (default 5000)")
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing, successfully, when customers already exist"
        )
        parser.add_argument(
            "--analytics-dir", type=Path, default=None, help="where the Parquet files go (default: ANALYTICS_DIR)"
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bars (e.g. in CI logs)")

    def handle(self, *args: Any, **options: Any) -> None:
        existing = Customer.objects.count()
        if existing:
            if options["if_empty"]:
                self.stdout.write(f"Demo data already loaded ({existing:,} customers); nothing to do.")
                return
            raise CommandError(str(DemoDataExistsError(existing)))
        analytics_dir = options["analytics_dir"] or Path(settings.ANALYTICS_DIR)
        self.stdout.write(
            f"Building the demo city: seed {options['seed']}, {options['customers']:,} customers, "
            f"analytics in {analytics_dir}"
        )
        try:
            summary = build_demo_city(
                seed=options["seed"],
                customers=options["customers"],
                analytics_dir=analytics_dir,
                progress=not options["no_progress"] and options["verbosity"] > 0,
            )
        except DemoDataExistsError as exc:  # someone loaded data between the check above and the load
            if options["if_empty"]:
                self.stdout.write(f"Demo data already loaded ({exc.customers:,} customers); nothing to do.")
                return
            raise CommandError(str(exc)) from None
        except DemoError as exc:
            raise CommandError(str(exc)) from None
        s = summary
        self.stdout.write(
            self.style.SUCCESS(f"Demo city loaded in {s.elapsed_seconds:.1f} s")
            + f" (database {s.db_seconds:.1f} s, analytics {s.analytics_seconds:.1f} s in parallel)\n"
            f"  org: {s.sites} sites, {s.org_units} units, {s.users} users, {s.vehicles} vehicles\n"
            f"  grid: {s.districts} districts, {s.substations} substations, {s.feeders} feeders, "
            f"{s.grid_devices} devices below them, {s.transformer_areas} transformer areas\n"
            f"  ledger: {s.customers:,} customers, {s.service_points:,} service points, {s.contacts:,} contacts\n"
            f"  analytics ({s.analytics_bytes / 1e6:,.1f} MB in {s.analytics_dir}): {s.daily_kwh_rows:,} daily kWh "
            f"rows, {s.load_96_rows:,} load points, {s.payment_rows:,} bills"
        )
