"""Reminders from the analytics store as the demo city writes it: customer_id is the database id."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from gridcare.notices.reminders import due_reminders, read_payments
from tests.conftest import City


def test_database_ids_become_account_numbers_and_prepaid_balance_counts(city: City, tmp_path: Path) -> None:
    path = tmp_path / "payments.parquet"
    table = pa.table(
        {
            "customer_id": [city.north_customer.pk, city.south_customer.pk],
            "month": [dt.date(2026, 10, 1), dt.date(2026, 10, 1)],
            "amount_yuan": [120.5, 80.0],
            "due_date": [dt.date(2026, 11, 20), dt.date(2026, 11, 30)],
            "paid_on": [None, None],
            "prepaid_balance_yuan": [None, 5.0],
        }
    )
    pq.write_table(table, path)
    rows = read_payments(path, today=dt.date(2026, 11, 25))
    found = due_reminders(rows, today=dt.date(2026, 11, 25), due_days=3, disconnect_days=7, low_balance=20.0)
    kinds = {(r.kind, r.account_no) for r in found}
    assert ("arrears_disconnect", city.north_customer.account_no) in kinds
    assert ("low_balance", city.south_customer.account_no) in kinds
