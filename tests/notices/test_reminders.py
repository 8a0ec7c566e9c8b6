"""Reminders from payment records: what is due on a day, read from Parquet with DuckDB, queued once."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command

from gridcare.notices import reminders, services
from gridcare.notices.models import Message, MessageStatus, Notice, NoticeKind
from tests import factories as f
from tests.conftest import City

TODAY = dt.date(2026, 10, 12)
NOW = dt.datetime(2026, 10, 12, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def rows(city: City, late_payer: str) -> list[dict[str, object]]:
    a, b = city.north_customer.account_no, city.south_customer.account_no
    return [
        {
            "customer_id": a,
            "month": "2026-09",
            "amount_yuan": 128.5,
            "due_date": dt.date(2026, 10, 14),
            "paid_on": None,
            "balance": None,
        },
        {
            "customer_id": b,
            "month": "2026-08",
            "amount_yuan": 300.0,
            "due_date": dt.date(2026, 9, 20),
            "paid_on": None,
            "balance": None,
        },
        {
            "customer_id": late_payer,
            "month": "2026-08",
            "amount_yuan": 90.0,
            "due_date": dt.date(2026, 9, 20),
            "paid_on": dt.date(2026, 10, 11),
            "balance": None,
        },
        {
            "customer_id": a,
            "month": "2026-08",
            "amount_yuan": 100.0,
            "due_date": dt.date(2026, 9, 14),
            "paid_on": dt.date(2026, 9, 10),
            "balance": 12.0,
        },
    ]


def test_due_reminders_pick_each_case(city: City) -> None:
    late = f.make_customer(city.north, city.north_net.areas[0])
    found = reminders.due_reminders(
        rows(city, late.account_no), today=TODAY, due_days=3, disconnect_days=7, low_balance=20
    )
    kinds = {(r.kind, r.account_no) for r in found}
    a, b = city.north_customer.account_no, city.south_customer.account_no
    assert kinds == {
        ("bill_issued", a),
        ("payment_due", a),
        ("arrears_disconnect", b),
        ("reconnected", late.account_no),
        ("low_balance", a),
    }
    arrears = next(r for r in found if r.kind == "arrears_disconnect")
    assert arrears.values["disconnect_date"] == "2026-10-19"
    # Two days later the bill is no longer "due within 3 days" but overdue instead.
    later = reminders.due_reminders(
        rows(city, late.account_no), today=TODAY + dt.timedelta(days=3), due_days=3, disconnect_days=7, low_balance=20
    )
    assert ("arrears_disconnect", a) in {(r.kind, r.account_no) for r in later}


def test_reminders_from_parquet_are_queued_once_however_often_the_scan_runs(city: City, tmp_path: Path) -> None:
    late = f.make_customer(city.north, city.north_net.areas[0])
    path = tmp_path / "payments.parquet"
    pq.write_table(pa.Table.from_pylist(rows(city, late.account_no)), path)
    data = reminders.read_payments(path, today=TODAY)
    assert len(data) == 4
    due = reminders.due_reminders(data, today=TODAY, due_days=3, disconnect_days=7, low_balance=20)
    services.reminders_queue_due(reminders=due, actor=None, now=NOW)
    services.reminders_queue_due(reminders=due, actor=None, now=NOW)
    assert Notice.objects.filter(kind=NoticeKind.PAYMENT_DUE).count() == 1
    assert Message.objects.filter(notice__kind=NoticeKind.PAYMENT_DUE).count() == 1
    msg = Message.objects.get(notice__kind=NoticeKind.ARREARS_DISCONNECT)
    assert msg.params is not None and msg.params["disconnect_date"] == "2026-10-19"
    assert Notice.objects.get(kind=NoticeKind.ARREARS_DISCONNECT).legally_required
    from gridcare.notices import delivery

    delivery.deliver_all(NOW)
    msg.refresh_from_db()
    assert msg.status == MessageStatus.DELIVERED
    assert "300.00" in msg.body and "2026-10-19" in msg.body and "95598" in msg.body


def test_reminder_command_reads_a_file_and_fails_clearly(
    city: City, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "payments.parquet"
    pq.write_table(pa.Table.from_pylist(rows(city, city.south_customer.account_no)), path)
    call_command("notices_reminders", "--payments", str(path), "--date", "2026-10-12", "--dry-run")
    assert "payment_due=1" in capsys.readouterr().out
    with pytest.raises(CommandError, match="not found"):
        call_command("notices_reminders", "--payments", str(tmp_path / "missing.parquet"))
    bad = tmp_path / "bad.parquet"
    pq.write_table(pa.Table.from_pylist([{"x": 1}]), bad)
    with pytest.raises(CommandError, match="缺少列"):
        call_command("notices_reminders", "--payments", str(bad))


def test_daily_reminder_job_runs_once_per_day_after_the_hour(city: City, tmp_path: Path, use_config: object) -> None:
    from gridcare.notices.tasks import handle_reminders
    from tests.notices.conftest import make_config

    path = tmp_path / "payments.parquet"
    pq.write_table(pa.Table.from_pylist(rows(city, city.south_customer.account_no)), path)
    use_config(make_config(tmp_path, GRIDCARE_PAYMENTS_FILE=str(path)))  # type: ignore[operator]
    assert handle_reminders(NOW.replace(hour=7)) == 0
    first = handle_reminders(NOW)
    assert first >= 3
    assert handle_reminders(NOW + dt.timedelta(hours=1)) == 0
