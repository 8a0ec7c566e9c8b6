"""`gridcare notices_reminders`: queue bill and balance reminders from a payments file (Parquet or CSV) now."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from gridcare.core.errors import ServiceError
from gridcare.notices import reminders, rules
from gridcare.notices.config import get_config
from gridcare.notices.services import reminders_queue_due


class Command(BaseCommand):
    help = "Queue reminders (bill issued, payment due, low balance, arrears, reconnection) from payment records."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--payments", type=Path, help="payments file (default: GRIDCARE_PAYMENTS_FILE)")
        parser.add_argument("--date", help="the day to evaluate, YYYY-MM-DD (default: today in Asia/Shanghai)")
        parser.add_argument("--dry-run", action="store_true", help="only count what would be queued")

    def handle(self, *args: Any, **options: Any) -> None:
        config = get_config()
        path: Path = options["payments"] or config.payments_file
        if not path.exists():
            raise CommandError(f"payments file not found: {path} (pass --payments or set GRIDCARE_PAYMENTS_FILE)")
        now = timezone.now()
        try:
            today = dt.date.fromisoformat(options["date"]) if options["date"] else now.astimezone(rules.LOCAL).date()
        except ValueError:
            raise CommandError(f"--date {options['date']!r} is not a date like 2026-10-08") from None
        try:
            rows = reminders.read_payments(path, today=today)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        due = reminders.due_reminders(
            rows,
            today=today,
            due_days=config.payment_due_days,
            disconnect_days=config.disconnect_notice_days,
            low_balance=config.low_balance_yuan,
        )
        if options["dry_run"]:
            counts: dict[str, int] = {}
            for r in due:
                counts[r.kind] = counts.get(r.kind, 0) + 1
        else:
            try:
                counts = reminders_queue_due(reminders=due, actor="notices_reminders", now=now)
            except ServiceError as exc:
                raise CommandError(exc.message) from None
        self.stdout.write(" ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "nothing due")
