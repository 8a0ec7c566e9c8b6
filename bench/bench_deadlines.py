"""Benchmark: the worker's deadline pass over 1,000,000 open orders with 1 % due (issue 3: ≤ 1 s per pass).

Runs alone: `.venv/bin/python bench/bench_deadlines.py [--orders N] [--due-share 0.01] [--database-url URL]`.
Builds a fresh database (SQLite file by default), bulk-loads N open orders with one reply deadline each
(1 % already past due), then times one full pass of `handle_due_deadlines` — the function the worker's
deadline job calls, so the product's own path: claiming, the SLA plan, events, flags.

Baselines, measured in the same run on the same database and rows: the bare indexed read of the due ids
(a floor: no pass can act on rows without reading them) and a full scan of the table (what the pass would
cost without the `next_check_at` index). They are fair because they are the same rows on the same
connection a moment apart, so the machine's load and caches are shared; the pass should sit a small multiple
above the read and far below the scan. Writes bench/results/deadlines-<vendor>.txt.
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
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--due-share", type=float, default=0.01)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--profile", action="store_true", help="print where the pass spends its time")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="gc-bench-deadlines-"))
    os.environ.setdefault("SECRET_KEY", "bench")
    os.environ["GRIDCARE_VAR_DIR"] = str(tmp)
    os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{tmp / 'bench.sqlite3'}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "gridcare.settings"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    call_command("migrate", verbosity=0)
    from gridcare.core.models import Event
    from gridcare.grid.models import District
    from gridcare.org.services import ManagerSpec, orgunit_create, site_create
    from gridcare.workorders import supervision
    from gridcare.workorders.models import Category, Deadline, WorkOrder

    now = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)
    with transaction.atomic():
        site = site_create(code="B", name="bench", actor=None)
        managers = [ManagerSpec("甲", "13900000001"), ManagerSpec("乙", "13900000002")]
        unit = orgunit_create(
            code="DEPT", name="营销部", kind="department", site=site, duty_phone="0571-1", managers=managers, actor=None
        )
        District.objects.create(code="D", name="区", area_class="urban")
    category = Category.objects.get(code="complaint_service")
    n, due_n = args.orders, int(args.orders * args.due_share)
    print(f"loading {n:,} open orders, {due_n:,} of them due …", flush=True)
    t0 = time.perf_counter()
    wo, dl = WorkOrder._meta.db_table, Deadline._meta.db_table
    chunk = 50_000
    adapt = connection.ops.adapt_datetimefield_value
    accepted = adapt(now - dt.timedelta(days=3))
    with transaction.atomic(), connection.cursor() as cur:
        for lo in range(0, n, chunk):
            hi = min(n, lo + chunk)
            cur.executemany(
                f"INSERT INTO {wo} (id, number, channel, category_id, priority, status, caller_name, caller_phone, "  # noqa: S608
                "address, area_class, supply_class, description, reply_text, unit_id, accepted_at, pause_reason, "
                "resume_status, call_count, is_supervised, is_overdue, application_params, calendar_warning, version) "
                "VALUES (%s, %s, 'phone', %s, 'normal', 'taken', '', '', '', 'urban', '', 'x', '', %s, %s, '', '', "
                "1, FALSE, FALSE, '{}', '', 0)",
                [(i + 1, f"B{i + 1:012d}", category.pk, unit.pk, accepted) for i in range(lo, hi)],
            )
            rows = []
            for i in range(lo, hi):
                due = now - dt.timedelta(minutes=5 + i % 50) if i < due_n else now + dt.timedelta(days=2 + i % 9)
                warn = due - dt.timedelta(days=1)
                check = due if i < due_n else warn
                rows.append((i + 1, i + 1, adapt(due - dt.timedelta(days=6)), adapt(due), adapt(warn), adapt(check)))
            cur.executemany(
                f"INSERT INTO {dl} (id, order_id, milestone, step_code, amount, unit, started_at, paused_seconds, "  # noqa: S608
                "due_at, warn_at, state, escalation_level, next_check_at) "
                "VALUES (%s, %s, 'reply', '', 6, 'working_days', %s, 0, %s, %s, 'warned', 0, %s)",
                rows,
            )
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(f"ANALYZE {wo}; ANALYZE {dl}")
    load_s = time.perf_counter() - t0
    print(f"loaded in {load_s:.1f} s", flush=True)

    # Baselines, same run: the indexed read of the due rows alone, and a full scan of the table.
    t0 = time.perf_counter()
    due_ids = list(Deadline.objects.filter(next_check_at__lte=now).values_list("id", flat=True))
    read_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {dl} WHERE amount + 0 = 6")  # noqa: S608 - '+ 0' defeats any index
        scanned = cur.fetchone()[0]
    scan_s = time.perf_counter() - t0
    assert len(due_ids) == due_n and scanned == n, (len(due_ids), due_n, scanned, n)

    events_before = Event.objects.count()
    import cProfile

    prof = cProfile.Profile()
    if args.profile:
        prof.enable()
    t0 = time.perf_counter()
    handled = 0
    while True:
        k = supervision.handle_due_deadlines(now)
        if not k:
            break
        handled += k
    pass_s = time.perf_counter() - t0
    if args.profile:
        import pstats

        prof.disable()
        pstats.Stats(prof).sort_stats(os.environ.get("PROFILE_SORT", "cumulative")).print_stats(30)
    events = Event.objects.count() - events_before
    t0 = time.perf_counter()
    again = supervision.handle_due_deadlines(now)
    idle_s = time.perf_counter() - t0
    assert handled == due_n and again == 0, (handled, again)
    assert WorkOrder.objects.filter(is_overdue=True).count() == due_n

    lines = [
        f"deadline pass — {connection.vendor}, {n:,} open orders, {due_n:,} due ({args.due_share:.0%})",
        f"  load (setup, not measured)        {load_s:8.1f} s",
        f"  full pass: {handled:,} deadlines → {events:,} events   {pass_s:8.3f} s"
        f"   ({handled / pass_s:,.0f} deadlines/s)",
        f"  idle pass (nothing due)            {idle_s * 1000:8.1f} ms",
        f"  baseline: indexed read of due ids  {read_s * 1000:8.1f} ms",
        f"  baseline: full table scan          {scan_s * 1000:8.1f} ms",
        f"  target: ≤ 1 s per pass → {'MET' if pass_s <= 1.0 else 'MISSED'}",
    ]
    text = "\n".join(lines)
    print(text)
    out = ROOT / "bench" / "results" / f"deadlines-{connection.vendor}.txt"
    out.write_text(f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC\n{text}\n")


if __name__ == "__main__":
    main()
