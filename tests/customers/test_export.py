"""The ledger reaches the analytics store for the tags engine, keeping the columns only the store has."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from gridcare.customers.export import export_ledger
from tests import factories as f
from tests.conftest import City


def test_export_writes_every_customer_and_keeps_store_only_columns(city: City, tmp_path: Path) -> None:
    pq.write_table(
        pa.table({"customer_id": [city.north_customer.pk], "is_prepaid": [True]}), tmp_path / "customers.parquet"
    )
    imported = f.make_customer(city.south, city.south_net.areas[1])  # e.g. added by `gridcare import` later
    path, n = export_ledger(tmp_path)
    rows = duckdb.sql(
        f"SELECT customer_id, account_no, feeder_code, contract_kva, is_prepaid FROM read_parquet('{path}') "
        "ORDER BY customer_id"
    ).fetchall()
    assert n == 3 and [r[0] for r in rows] == sorted([city.north_customer.pk, city.south_customer.pk, imported.pk])
    by_id = {r[0]: r for r in rows}
    assert by_id[imported.pk][1] == imported.account_no and by_id[imported.pk][2] == city.south_net.feeder.code
    assert by_id[city.north_customer.pk][4] is True and by_id[imported.pk][4] is None
    assert by_id[city.north_customer.pk][3] == 8.0
