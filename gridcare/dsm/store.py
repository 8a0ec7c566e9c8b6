"""The interval store: Parquet files under ANALYTICS_DIR, one file per import batch, read with DuckDB.

    intervals/batch-<id>.parquet   customer_id, day (local), slot (0–95), kw, filled
    daily/batch-<id>.parquet       customer_id, day, kwh, reading, filled

Files are written to a temporary name and renamed into place, so a reader never sees half a batch.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from django.conf import settings

KINDS = {"interval": "intervals", "daily": "daily"}


def store_dir(kind: str, root: Path | None = None) -> Path:
    return Path(root or settings.ANALYTICS_DIR) / KINDS[kind]


def glob(kind: str, root: Path | None = None) -> str:
    return str(store_dir(kind, root) / "*.parquet")


def has_data(kind: str, root: Path | None = None) -> bool:
    directory = store_dir(kind, root)
    return directory.is_dir() and any(directory.glob("*.parquet"))


def overlapping_rows(kind: str, table: pa.Table, root: Path | None = None) -> int:
    """How many rows of `table` the store already holds (same customer and day)."""
    if not has_data(kind, root) or table.num_rows == 0:
        return 0
    con = duckdb.connect()
    con.register("incoming", table.select(["customer_id", "day"]))
    row = con.execute(
        f"""
        with keys as (select distinct customer_id, day from incoming)
        select count(*) from read_parquet('{glob(kind, root)}') s
        join keys k on s.customer_id = k.customer_id and s.day = k.day
        """  # noqa: S608 - the path is ours, not user input
    ).fetchone()
    return int(row[0]) if row else 0


def write_batch(kind: str, table: pa.Table, root: Path | None = None) -> Path:
    directory = store_dir(kind, root)
    directory.mkdir(parents=True, exist_ok=True)
    batch = uuid.uuid4().hex[:12]
    final = directory / f"batch-{batch}.parquet"
    partial = directory / f".batch-{batch}.parquet.part"
    pq.write_table(table, partial, compression="zstd", row_group_size=1 << 20)
    os.replace(partial, final)
    return final
