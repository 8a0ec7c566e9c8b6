"""Benchmark: gridcare.core.bulk on PostgreSQL — how an intake-sized write set goes to the server, and how a batch
of deadline updates is written.

Run alone: `.venv/bin/python bench/bench_bulk.py [--database-url postgres://…] [--sets 2000] [--rows 5000]`.
Both contenders run in the same process, on the same fresh database, alternately in rounds (so a neighbour's load
on a shared machine hits both alike), with the same rows:
  write sets   the product's way (each statement bound client-side, joined into one query string) against
               psycopg's pipeline mode (the same statements bound by the server, sent in one round trip) —
               the faster one is what `WriteSet` uses (`WriteSet.PIPELINE`);
  updates      `update_from_arrays` (one UPDATE … FROM unnest) against the straightforward baseline, an
               `executemany` of one UPDATE per row, as the deadline pass wrote it on SQLite.
Results go to bench/results/bulk.txt.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/gc_bench_bulk")
    parser.add_argument("--sets", type=int, default=2000)
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    os.environ.setdefault("SECRET_KEY", "bench")
    os.environ["GRIDCARE_VAR_DIR"] = tempfile.mkdtemp(prefix="gc-bench-bulk-")
    os.environ["DATABASE_URL"] = args.database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "gridcare.settings"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    call_command("migrate", verbosity=0)
    if connection.vendor != "postgresql":
        sys.exit("bench_bulk compares PostgreSQL write paths: give --database-url postgres://…")
    from gridcare.core.audit import build_event
    from gridcare.core.bulk import WriteSet, insert_rows, update_from_arrays
    from gridcare.core.models import Event

    at = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)

    def write_sets(pipeline: bool) -> float:
        WriteSet.PIPELINE = pipeline
        t0 = time.perf_counter()
        for i in range(args.sets):
            # Intake's shape: a handful of rows over a few statements, no transaction of its own.
            writes = WriteSet()
            writes.insert([build_event(actor=None, action="bench.order", subject_id=str(i), at=at, new={"i": i})])
            writes.insert([build_event(actor=None, action="bench.event", subject_id=str(i), at=at) for _ in range(2)])
            writes.insert([build_event(actor=None, action="bench.deadline", subject_id=str(i), at=at)])
            writes.execute(f"UPDATE {Event._meta.db_table} SET note = note WHERE id = %s", [0])  # noqa: S608
            writes.write()
        return args.sets / (time.perf_counter() - t0)

    with transaction.atomic():
        insert_rows(
            Event,
            ["at", "action", "subject_type", "subject_id"],
            [(at, "bench.row", "x", str(i)) for i in range(args.rows)],
        )
    ids = list(Event.objects.filter(action="bench.row").values_list("id", flat=True))
    table = Event._meta.db_table

    def arrays(round_no: int) -> float:
        t0 = time.perf_counter()
        with transaction.atomic():
            update_from_arrays(
                Event, ids, {"note": [f"r{round_no}-{i}" for i in ids], "subject_label": ["a"] * len(ids)}
            )
        return len(ids) / (time.perf_counter() - t0)

    def executemany(round_no: int) -> float:
        t0 = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {table} SET note = %s, subject_label = %s WHERE id = %s",  # noqa: S608
                [(f"m{round_no}-{i}", "b", i) for i in ids],
            )
        return len(ids) / (time.perf_counter() - t0)

    joined, piped, unnest, many = [], [], [], []
    for r in range(args.rounds):
        joined.append(write_sets(False))
        piped.append(write_sets(True))
        unnest.append(arrays(r))
        many.append(executemany(r))
    WriteSet.PIPELINE = False
    best = max
    lines = [
        f"bulk writes — PostgreSQL, {args.sets:,} write sets, {len(ids):,}-row updates, best of {args.rounds} rounds",
        f"  write set, joined mogrified statements  {best(joined):10,.0f} sets/s   (product)",
        f"  write set, psycopg pipeline mode        {best(piped):10,.0f} sets/s",
        f"  update_from_arrays (unnest)             {best(unnest):10,.0f} rows/s   (product)",
        f"  baseline: executemany UPDATE per row    {best(many):10,.0f} rows/s",
        f"  kept: {'pipeline' if best(piped) > best(joined) else 'joined statements'} for write sets",
    ]
    text = "\n".join(lines)
    print(text)
    out = ROOT / "bench" / "results" / "bulk.txt"
    out.write_text(f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC\n{text}\n")


if __name__ == "__main__":
    main()
