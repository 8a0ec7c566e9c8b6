"""The customer ledger as an analytics input: `customers.parquet`, one row per customer, keyed by its
database id (`customer_id`), with the columns the tags engine documents (docs/tags.md).

Columns the database does not hold (the demo city's `is_prepaid`, coordinates …) are carried over from
the file being replaced, matched on customer_id. Written to a temporary file and renamed into place.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from gridcare.customers.models import Customer

FIELDS = [
    ("customer_id", "id", pa.int64()),
    ("account_no", "account_no", pa.string()),
    ("customer_type", "customer_type", pa.string()),
    ("category", "category", pa.string()),
    ("industry", "industry", pa.string()),
    ("voltage_level", "voltage_level", pa.string()),
    ("contract_kva", "contract_kva", pa.float64()),
    ("area_class", "area_class", pa.string()),
    ("district", "district__code", pa.string()),
    ("transformer_area_code", "service_point__transformer_area__code", pa.string()),
    ("feeder_code", "service_point__transformer_area__feeder__code", pa.string()),
    ("opened_on", "opened_on", pa.date32()),
    ("important_level", "important_level", pa.string()),
    ("is_sensitive", "is_sensitive", pa.bool_()),
    ("status", "status", pa.string()),
    ("service_unit_id", "service_unit_id", pa.int64()),
]
SCHEMA = pa.schema([(name, typ) for name, _, typ in FIELDS])
CHUNK = 100_000


def export_ledger(directory: Path) -> tuple[Path, int]:
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / "customers.parquet"
    fresh = directory / f".customers.{os.getpid()}.new.parquet"
    rows = Customer.objects.order_by("id").values_list(*[src for _, src, _ in FIELDS])
    count = 0
    with pq.ParquetWriter(fresh, SCHEMA, compression="zstd") as writer:
        batch: list[tuple[object, ...]] = []

        def flush() -> None:
            columns: list[tuple[object, ...]] = list(zip(*batch, strict=True)) if batch else [() for _ in FIELDS]
            arrays = [
                pa.array(
                    [float(str(v)) if v is not None else None for v in col] if name == "contract_kva" else col, type=typ
                )
                for (name, _, typ), col in zip(FIELDS, columns, strict=True)
            ]
            writer.write_table(pa.Table.from_arrays(arrays, schema=SCHEMA))

        for row in rows.iterator(chunk_size=CHUNK):
            batch.append(row)
            if len(batch) >= CHUNK:
                flush()
                count += len(batch)
                batch = []
        flush()
        count += len(batch)
    if target.is_file():
        con = duckdb.connect()
        try:
            old = {r[0] for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(target)]).fetchall()}
            extra = sorted(old - set(SCHEMA.names))
            if extra:
                merged = directory / f".customers.{os.getpid()}.merged.parquet"
                picks = ", ".join(f'o."{c}"' for c in extra)
                con.execute(
                    f"COPY (SELECT n.*, {picks} FROM read_parquet('{fresh}') n "  # noqa: S608 - our own file names
                    f"LEFT JOIN read_parquet('{target}') o USING (customer_id) ORDER BY n.customer_id) "
                    f"TO '{merged}' (FORMAT parquet, COMPRESSION zstd)"
                )
                fresh.unlink()
                fresh = merged
        finally:
            con.close()
    fresh.replace(target)
    return target, count
