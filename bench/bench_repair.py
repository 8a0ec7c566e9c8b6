"""Benchmarks of the repair flow (issue 6): storm replay through the real intake, and vehicle ranking.

Runs alone: `.venv/bin/python bench/bench_repair.py [--calls 10000] [--areas 200] [--vehicles 5000]`.

1. Storm replay: a simulated storm with known faults (whole feeders, single 台区, single customers)
   produces `--calls` repair calls within 10 minutes from customers under `--areas` 台区. Every call goes
   through the real intake service (work order + repair ticket + online grouping) on a fresh SQLite
   database (or --database-url); we report intake latency percentiles and the pairwise precision and
   recall of the grouping against the true faults (goal ≥ 0.95 each, p99 ≤ 100 ms). The same calls
   are also grouped offline by the pure rule, as a check that online and offline agree.
2. Ranking: candidates for an order among `--vehicles` vehicles — p99 of the vectorised ranking
   (goal ≤ 5 ms), with a plain-Python loop over the same fleet as the baseline in the same run.
Writes bench/results/repair.txt.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._org import repair_org  # noqa: E402


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1)]


def storm(args: argparse.Namespace, out: list[str]) -> None:
    from django.core.management import call_command
    from django.db import connection, transaction

    call_command("migrate", verbosity=0)
    from gridcare.customers.models import Contact, Customer
    from gridcare.grid.models import District, Feeder, ServicePoint, Substation, TransformerArea
    from gridcare.repair import grouping
    from gridcare.repair.models import RepairTicket
    from gridcare.workorders.models import Category
    from gridcare.workorders.services import workorder_create

    rng = random.Random(args.seed)
    per_feeder = 10
    n_feeders = args.areas // per_feeder
    customers_per_area = 60
    with transaction.atomic():
        rc, agent = repair_org()
        district = District.objects.create(code="D", name="城区", area_class="urban")
        sub = Substation.objects.create(code="SUB", name="变电站", lat=30.2, lon=120.1, unit=rc)
        areas = []
        for fi in range(n_feeders):
            feeder = Feeder.objects.create(code=f"F{fi}", name=f"{fi}线", substation=sub, unit=rc)
            for ai in range(per_feeder):
                areas.append(
                    TransformerArea.objects.create(
                        code=f"TA{fi}-{ai}",
                        name=f"{fi}线{ai}台区",
                        feeder=feeder,
                        rated_kva=400,
                        lat=30.2 + fi / 100,
                        lon=120.1 + ai / 100,
                        district=district,
                        unit=rc,
                    )
                )
        sps = ServicePoint.objects.bulk_create(
            ServicePoint(code=f"SP{i}", transformer_area=areas[i // customers_per_area], lat=30.2, lon=120.1)
            for i in range(len(areas) * customers_per_area)
        )
        customers = Customer.objects.bulk_create(
            Customer(
                account_no=f"{5000000000 + i}",
                name=f"客户{i}",
                customer_type="lv_resident",
                category="resident",
                voltage_level="220V",
                contract_kva=8,
                address=f"路{i}号",
                district=district,
                area_class="urban",
                service_point=sps[i],
                service_unit=rc,
                opened_on=dt.date(2020, 1, 1),
            )
            for i in range(len(sps))
        )
        if any(c.pk is None for c in customers):
            customers = list(Customer.objects.order_by("id"))
        Contact.objects.bulk_create(
            Contact(customer=c, name=c.name, phone=f"139{i:08d}") for i, c in enumerate(customers)
        )
    category = Category.objects.get(code="repair")
    by_area: dict[int, list] = {}
    for c, sp in zip(customers, sps, strict=True):
        by_area.setdefault(sp.transformer_area_id, []).append(c)

    # The true faults: a few whole feeders, many single 台区, and scattered single customers.
    feeders = list(range(n_feeders))
    rng.shuffle(feeders)
    feeder_faults = feeders[: max(1, n_feeders // 7)]
    other_areas = [a for a in areas if int(a.feeder.code[1:]) not in feeder_faults]
    # Independent 台区 faults: a fifth of the other 台区, at most 3 on any one feeder — with most of a
    # feeder's 台区 dark at once, calls alone cannot tell a feeder fault from coincidence, and neither can
    # an operator, so the simulator does not ask for the impossible.
    area_faults = []
    per_feeder_faults: dict[int, int] = {}
    for a in rng.sample(other_areas, k=len(other_areas)):
        if len(area_faults) >= max(1, len(other_areas) // 5):
            break
        if per_feeder_faults.get(a.feeder_id, 0) < 3:
            area_faults.append(a)
            per_feeder_faults[a.feeder_id] = per_feeder_faults.get(a.feeder_id, 0) + 1
    if os.environ.get("BENCH_DEBUG"):
        from collections import Counter

        print("台区 faults per feeder", sorted(Counter(a.feeder_id for a in area_faults).items()))
    faults: list[tuple[str, list]] = []
    for fi in feeder_faults:
        faults.append(("feeder", [c for a in areas if a.feeder.code == f"F{fi}" for c in by_area[a.pk]]))
    for a in area_faults:
        faults.append(("area", by_area[a.pk]))
    start = dt.datetime(2026, 7, 15, 14, 0, tzinfo=dt.UTC)
    calls: list[tuple[dt.datetime, object, int]] = []
    weights = [len(people) for _, people in faults]
    for _ in range(args.calls):
        fi = rng.choices(range(len(faults)), weights=weights)[0]
        person = rng.choice(faults[fi][1])
        calls.append((start + dt.timedelta(seconds=rng.uniform(0, 600)), person, fi))
    single = int(args.calls * 0.01)  # customer-side faults: one caller each
    for k in range(single):
        area = rng.choice(other_areas)
        if area in area_faults:
            continue
        person = rng.choice(by_area[area.pk])
        calls[k] = (start + dt.timedelta(seconds=rng.uniform(0, 600)), person, len(faults) + k)
    calls.sort(key=lambda x: x[0])

    latencies: list[float] = []
    truth: dict[int, int] = {}
    t_all = time.perf_counter()
    for at, person, fault in calls:
        t0 = time.perf_counter()
        order = workorder_create(
            actor=agent,
            channel="phone",
            category=category,
            customer=person,  # type: ignore[arg-type]
            description="停电",
            now=at,
        )
        latencies.append((time.perf_counter() - t0) * 1000)
        truth[order.pk] = fault
    wall = time.perf_counter() - t_all
    groups: dict[int, list[int]] = {}
    for order_id, outage_id in RepairTicket.objects.values_list("workorder_id", "outage_id"):
        groups.setdefault(outage_id, []).append(order_id)
    precision, recall = grouping.pair_scores(groups.values(), truth)

    offline_calls = []
    area_of = {c.pk: sp.transformer_area_id for c, sp in zip(customers, sps, strict=True)}
    feeder_of = {a.pk: a.feeder_id for a in areas}
    ids = dict(RepairTicket.objects.values_list("workorder_id", "workorder__customer_id"))
    when = dict(RepairTicket.objects.values_list("workorder_id", "a_at"))
    for oid in truth:
        a = area_of[ids[oid]]
        offline_calls.append(grouping.Call(oid, when[oid], a, feeder_of[a]))
    per_feeder_count = {a.feeder_id: per_feeder for a in areas}
    offline = grouping.group_calls(offline_calls, per_feeder_count)
    op, orc = grouping.pair_scores([g.calls for g in offline], truth)
    if os.environ.get("BENCH_DEBUG"):
        from collections import Counter

        for g in offline:
            mix = Counter(truth[i] for i in g.calls)
            if len(mix) > 1:
                print("mixed group", g.level, g.feeder, g.area, dict(mix))
    out += [
        f"storm replay — {connection.vendor}: {len(calls):,} calls in 10 min under {len(areas)} 台区 "
        f"({len(feeder_faults)} feeder faults, {len(area_faults)} 台区 faults, {single} single-customer faults)",
        f"  intake through workorder_create (work order + repair ticket + grouping): {len(calls) / wall:,.0f} calls/s",
        f"  intake latency ms: p50 {statistics.median(latencies):.1f}  p95 {pct(latencies, 95):.1f}  "
        f"p99 {pct(latencies, 99):.1f}  max {max(latencies):.1f}   (goal p99 ≤ 100 ms)",
        f"  grouping online: {len(groups)} outages, precision {precision:.4f}, recall {recall:.4f} (goal ≥ 0.95 each)",
        f"  grouping offline (pure rule, same calls): {len(offline)} outages, precision {op:.4f}, recall {orc:.4f}",
    ]


def ranking_bench(args: argparse.Namespace, out: list[str]) -> None:
    import numpy as np

    from gridcare.core.geo import haversine_m
    from gridcare.repair import ranking

    rng = np.random.default_rng(args.seed)
    n = args.vehicles
    rows = [
        (
            i,
            30.0 + rng.random(),
            120.0 + rng.random(),
            ["lv", "mv", "both"][i % 3],
            f"/1/{2 + i % 8}/{100 + i}/",
            float(rng.integers(0, 4) * 60),
            bool(rng.random() > 0.1),
        )
        for i in range(n)
    ]
    fleet = ranking.make_fleet(rows)
    points = [(30.0 + rng.random(), 120.0 + rng.random()) for _ in range(2000)]
    times = []
    for lat, lon in points:
        t0 = time.perf_counter()
        ranking.rank(fleet, lat=lat, lon=lon, need="lv", unit_prefix="/1/3/", limit=10)
        times.append((time.perf_counter() - t0) * 1000)
    base = []
    for lat, lon in points[:200]:
        t0 = time.perf_counter()
        scored = [
            ((haversine_m(lat, lon, r[1], r[2]) / 1000 * 1.3) / 25 * 60 + r[5], r[0])
            for r in rows
            if r[6] and r[3] in ("lv", "both") and r[4].startswith("/1/3/")
        ]
        scored.sort()
        base.append((time.perf_counter() - t0) * 1000)
    out += [
        f"ranking {n:,} vehicles (filter by crew type and unit, ETA = drive + queue), {len(points)} orders:",
        f"  vectorised: p50 {statistics.median(times):.3f} ms  p99 {pct(times, 99):.3f} ms  (goal p99 ≤ 5 ms)",
        f"  baseline, plain Python loop over the same fleet: p50 {statistics.median(base):.3f} ms  "
        f"p99 {pct(base, 99):.3f} ms",
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--areas", type=int, default=200)
    parser.add_argument("--vehicles", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--skip-storm", action="store_true")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="gc-bench-repair-"))
    os.environ.setdefault("SECRET_KEY", "bench")
    os.environ["GRIDCARE_VAR_DIR"] = str(tmp)
    os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{tmp / 'bench.sqlite3'}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "gridcare.settings"
    import django

    django.setup()
    out: list[str] = []
    ranking_bench(args, out)
    if not args.skip_storm:
        storm(args, out)
    text = "\n".join(out)
    print(text)
    (ROOT / "bench" / "results" / "repair.txt").write_text(f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC\n{text}\n")


if __name__ == "__main__":
    main()
