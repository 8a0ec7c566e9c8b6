"""Work orders as an analytics input: `work_orders.parquet` (customer_id, created_at, kind, satisfaction).

The tags engine reads it for 报修频次, 投诉次数, 满意度 and the like. Written in chunks, atomically (a
temporary file renamed into place), so a reader never sees half a file.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from gridcare.workorders.models import ReturnVisit, VisitOutcome, WorkOrder

SATISFACTION = {VisitOutcome.SATISFIED: 5, VisitOutcome.BASIC: 4, VisitOutcome.UNSATISFIED: 2}
SCHEMA = pa.schema(
    [
        ("customer_id", pa.int64()),
        ("created_at", pa.timestamp("s")),
        ("kind", pa.string()),
        ("satisfaction", pa.int32()),
    ]
)
CHUNK = 100_000


def export_work_orders(directory: Path) -> tuple[Path, int]:
    """Write every customer's work orders (created_at in local time, as the other inputs) and return the count."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / "work_orders.parquet"
    tmp = directory / f".work_orders.{os.getpid()}.parquet"
    outcome = ReturnVisit.objects.filter(order=OuterRef("pk"), closed_at__isnull=False).order_by("-closed_at")
    rows = (
        WorkOrder.objects.filter(customer__isnull=False)
        .annotate(outcome=Subquery(outcome.values("outcome")[:1]))
        .values_list("customer_id", "accepted_at", "category__kind", "outcome")
        .order_by("id")
    )
    tz = timezone.get_current_timezone()
    count = 0
    with pq.ParquetWriter(tmp, SCHEMA, compression="zstd") as writer:
        batch: list[tuple[int, object, str, int | None]] = []
        for customer_id, at, kind, result in rows.iterator(chunk_size=CHUNK):
            batch.append(
                (
                    customer_id,
                    timezone.localtime(at, tz).replace(tzinfo=None),
                    kind,
                    SATISFACTION.get(result) if result else None,
                )
            )
            if len(batch) >= CHUNK:
                writer.write_table(
                    pa.Table.from_pylist([dict(zip(SCHEMA.names, r, strict=True)) for r in batch], schema=SCHEMA)
                )
                count += len(batch)
                batch = []
        writer.write_table(
            pa.Table.from_pylist([dict(zip(SCHEMA.names, r, strict=True)) for r in batch], schema=SCHEMA)
        )
        count += len(batch)
    tmp.replace(target)
    return target, count
