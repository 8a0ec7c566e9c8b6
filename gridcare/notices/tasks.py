"""Background jobs of the notices app, run by `gridcare worker`: delivery, lease reaping, daily reminders."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import IntegrityError, transaction

from gridcare.core.worker import job
from gridcare.notices import delivery, reminders, rules
from gridcare.notices.config import get_config
from gridcare.notices.models import ReminderRun
from gridcare.notices.services import reminders_queue_due

log = logging.getLogger("gridcare.notices")


@job("notices.deliver", queue="delivery", budget=5.0)
def handle_deliver(now: dt.datetime) -> int:
    """One batch per configured channel (within its rate limit); the worker calls again while there is work."""
    return delivery.deliver_all(now)


@job("notices.reap", queue="delivery", budget=2.0, max_rounds=10)
def handle_reap(now: dt.datetime) -> int:
    return delivery.reap_expired(now)


@job("notices.reminders", queue="default", budget=30.0, max_rounds=1)
def handle_reminders(now: dt.datetime) -> int:
    """Once a day after GRIDCARE_REMINDER_HOUR (local time): scan payment records and queue reminders.

    The day's ReminderRun row is the claim: its unique date lets exactly one worker run the scan.
    """
    config = get_config()
    local = now.astimezone(rules.LOCAL)
    if local.hour < config.reminder_hour:
        return 0
    try:
        with transaction.atomic():
            run = ReminderRun.objects.create(run_date=local.date(), started_at=now, source=str(config.payments_file))
    except IntegrityError:
        return 0  # today's scan is done or running elsewhere
    if not config.payments_file.exists():
        ReminderRun.objects.filter(pk=run.pk).update(finished_at=now, queued={"skipped": "无缴费数据文件"})
        return 0
    rows = reminders.read_payments(config.payments_file, today=local.date())
    due = reminders.due_reminders(
        rows,
        today=local.date(),
        due_days=config.payment_due_days,
        disconnect_days=config.disconnect_notice_days,
        low_balance=config.low_balance_yuan,
    )
    counts = reminders_queue_due(reminders=due, actor="提醒任务", now=now)
    ReminderRun.objects.filter(pk=run.pk).update(finished_at=now, queued=counts)
    log.info("reminders queued: %s", counts)
    return sum(counts.values())
