"""Online outage prediction under a storm (issue #13): every event through the product's own path, one at a time.

Runs alone: `.venv/bin/python bench/bench_storm_online.py [--feeders 40] [--hours 2] [--intensity 0.3]
[--meters 0.3] [--seed 7] [--database-url postgres://…]`.

A city and a storm from the independent generator (gridcare.repair.stormgen) are loaded into a fresh database
(SQLite by default) as GridDevice / TransformerArea / ServicePoint rows. The storm's evidence is replayed in
time order: each call through `workorder_create` (work order + repair ticket + online prediction), each meter
event through the AMI consumer (`meter_events_consume`). Reported:

- per-event latency (p50/p99) of the whole intake and of the prediction step alone (`services.placing.place`,
  timed by wrapping it), goal p99 ≤ 20 ms per event for the prediction;
- baseline in the same run: `workorder_create` of a consultation (no repair ticket, no prediction) — the floor
  every call pays anyway;
- pairwise precision/recall of the online outages against the storm's true faults, and whether the online
  outages equal `prediction.predict` run offline on the same events (they must).
Writes bench/results/storm_online.txt.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1)]


class MeterEvent:
    kind = "last_gasp"

    def __init__(self, event_id: str, meter_no: str, at: dt.datetime, service_point_id: int):
        self.event_id, self.meter_no, self.at, self.service_point_id = event_id, meter_no, at, service_point_id


def run(args: argparse.Namespace, out: list[str]) -> None:
    from django.core.management import call_command
    from django.db import transaction

    call_command("migrate", verbosity=0)
    from gridcare.customers.models import Contact, Customer
    from gridcare.grid import topology
    from gridcare.grid.models import District, Feeder, GridDevice, ServicePoint, Substation, TransformerArea
    from gridcare.org.roles import Role
    from gridcare.org.services import ManagerSpec, orgunit_create, site_create, user_create
    from gridcare.repair import stormgen
    from gridcare.repair.evidence import METER, Evidence
    from gridcare.repair.models import MeterEvidence, ProbableOutage, RepairTicket
    from gridcare.repair.prediction import predict
    from gridcare.repair.services import placing
    from gridcare.repair.services.meters import meter_events_consume
    from gridcare.workorders.models import Category
    from gridcare.workorders.services import workorder_create

    net = stormgen.city(args.seed, feeders=args.feeders)
    storm = stormgen.storm(net, args.seed, hours=args.hours, intensity=args.intensity, meters=args.meters)
    evidence = [e for e in storm.events if isinstance(e, Evidence)]
    callers = sorted({e.customer for e in evidence if e.source != METER})
    t_load = time.perf_counter()
    with transaction.atomic():
        site = site_create(code="S", name="城区", actor=None)
        mgr = [ManagerSpec("甲", "13900000001"), ManagerSpec("乙", "13900000002")]
        company = orgunit_create(
            code="C", name="公司", kind="company", site=site, duty_phone="1", managers=mgr, actor=None
        )
        center = orgunit_create(
            code="95598",
            name="95598",
            kind="center_95598",
            site=site,
            duty_phone="2",
            managers=mgr,
            parent=company,
            scope_unit=company,
            actor=None,
        )
        rc = orgunit_create(
            code="RC", name="报修中心", kind="repair_center", site=site, duty_phone="3", managers=mgr, parent=company,
            actor=None,
        )  # fmt: skip
        agent = user_create(username="agent", password=None, role=Role.AGENT, unit=center, actor=None)
        district = District.objects.create(code="D", name="城区", area_class="urban")
        sub = Substation.objects.create(code="SUB", name="变电站", lat=30.2, lon=120.1, unit=rc)
        feeders = {
            d.feeder: Feeder.objects.create(code=d.feeder, name=d.feeder, substation=sub, unit=rc)
            for d in net.devices.values()
            if d.feeder
        }
        rows: dict[str, GridDevice] = {}
        for device in sorted(net.devices, key=lambda d: net.depth[d]):
            d = net.devices[device]
            rows[device] = GridDevice.objects.create(
                code=device,
                name=device,
                kind=d.kind,
                feeder=feeders[net.feeder_of(device) or ""],
                upstream=rows[d.parent] if d.parent else None,
            )
        sps: list[ServicePoint] = []
        for a in net.areas.values():
            ta = TransformerArea.objects.create(
                code=a.id, name=a.id, feeder=rows[a.device].feeder, rated_kva=400, lat=30.2, lon=120.1,
                district=district, unit=rc, device=rows[a.device],
            )  # fmt: skip
            sps += [
                ServicePoint(code=c, transformer_area=ta, meter_no=c, lat=30.2, lon=120.1)
                for c in stormgen.customers_of(net, a.id)
            ]
        ServicePoint.objects.bulk_create(sps, batch_size=5000)
        sp_of = dict(ServicePoint.objects.values_list("code", "pk"))
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
                service_point_id=sp_of[code],
                service_unit=rc,
                opened_on=dt.date(2020, 1, 1),
            )
            for i, code in enumerate(callers)
        )
        if any(c.pk is None for c in customers):
            customers = list(Customer.objects.order_by("id"))
        Contact.objects.bulk_create(
            Contact(customer=c, name=c.name, phone=f"139{i:08d}") for i, c in enumerate(customers)
        )
    customer_of = {c.service_point_id: c for c in customers}
    topology.forget()
    topology.now()
    load_s = time.perf_counter() - t_load
    repair = Category.objects.get(code="repair")
    consult = Category.objects.get(code="consult")

    placing_ms: list[float] = []
    real_place = placing.place

    def timed_place(*a: object, **kw: object) -> object:
        t0 = time.perf_counter()
        try:
            return real_place(*a, **kw)  # type: ignore[arg-type]
        finally:
            placing_ms.append((time.perf_counter() - t0) * 1000)

    placing.place = timed_place  # type: ignore[assignment]
    call_ms: list[float] = []
    meter_ms: list[float] = []
    online_id: dict[str, str] = {}
    cpu0 = time.process_time()
    wall0 = time.perf_counter()
    for e in evidence:
        sp = sp_of[e.customer]
        t0 = time.perf_counter()
        if e.source == METER:
            meter_events_consume([MeterEvent(e.id, e.customer, e.at, sp)], now=e.at)
            meter_ms.append((time.perf_counter() - t0) * 1000)
            online_id[f"meter:{MeterEvidence.objects.get(event_id=e.id).pk}"] = e.id
        else:
            order = workorder_create(
                actor=agent, channel="phone", category=repair, customer=customer_of[sp], description="停电",
                call_ended_at=e.at, now=e.at,
            )  # fmt: skip
            call_ms.append((time.perf_counter() - t0) * 1000)
            online_id[f"call:{RepairTicket.objects.get(workorder=order).pk}"] = e.id
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    placing.place = real_place  # type: ignore[assignment]

    base_ms: list[float] = []
    for i in range(min(300, len(call_ms) or 1)):
        c = customers[i % len(customers)]
        t0 = time.perf_counter()
        workorder_create(actor=agent, channel="phone", category=consult, customer=c, description="咨询电价")
        base_ms.append((time.perf_counter() - t0) * 1000)

    groups: dict[int, list[str]] = defaultdict(list)
    live = ProbableOutage.objects.exclude(state="merged")
    for t in RepairTicket.objects.filter(outage__in=live).exclude(workorder__channel="ami"):
        groups[t.outage_id].append(online_id[f"call:{t.pk}"])
    for m in MeterEvidence.objects.filter(outage__in=live):
        groups[m.outage_id].append(online_id[f"meter:{m.pk}"])
    online = {frozenset(g) for g in groups.values()}
    t0 = time.process_time()
    offline_predictions = predict(topology.now().network, evidence)
    offline_cpu = time.process_time() - t0
    offline = {frozenset(p.evidence) for p in offline_predictions}

    class _P:  # the online outages as predictions, for the generator's scoring
        def __init__(self, ids: list[str]):
            self.evidence = ids

    precision, recall = stormgen.pairwise([_P(g) for g in groups.values()], storm.truth)  # type: ignore[arg-type]
    n_meter = sum(1 for e in evidence if e.source == METER)
    out += [
        f"city: {args.feeders} feeders, {len(net.devices)} devices, {len(net.areas)} 台区, {len(sps):,} service points "
        f"(loaded in {load_s:.1f} s); storm seed {args.seed}, {args.hours} h, intensity {args.intensity}, "
        f"meters {args.meters:.0%}: {len(evidence) - n_meter} calls, {n_meter} meter events, "
        f"{len(storm.faults)} true faults",
        f"replayed one event at a time through the product's path in {wall:.1f} s wall, {cpu:.1f} s CPU:",
        f"  call intake (work order + repair ticket + prediction): p50 {statistics.median(call_ms):.1f} ms  "
        f"p99 {pct(call_ms, 99):.1f} ms",
        f"  meter event (evidence + prediction, proactive order when it opens one): "
        f"p50 {statistics.median(meter_ms):.1f} ms  p99 {pct(meter_ms, 99):.1f} ms"
        if meter_ms
        else "  no meter events",
        f"  prediction step alone (placing.place, {len(placing_ms)} events): p50 {statistics.median(placing_ms):.1f} ms"
        f"  p99 {pct(placing_ms, 99):.1f} ms  (goal p99 ≤ 20 ms)",
        f"  baseline, the same intake for a consultation (no ticket, no prediction): "
        f"p50 {statistics.median(base_ms):.1f} ms  p99 {pct(base_ms, 99):.1f} ms",
        f"outages online: {len(online)}; pairwise precision {precision:.4f}, recall {recall:.4f}",
        f"offline predict() on the same events: {len(offline)} outages in {offline_cpu * 1000:.0f} ms CPU; "
        f"online == offline: {online == offline}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--feeders", type=int, default=40)
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--intensity", type=float, default=0.3)
    parser.add_argument("--meters", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="gc-bench-storm-online-"))
    os.environ.setdefault("SECRET_KEY", "bench")
    os.environ["GRIDCARE_VAR_DIR"] = str(tmp)
    os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{tmp / 'bench.sqlite3'}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "gridcare.settings"
    import django

    django.setup()
    out: list[str] = []
    run(args, out)
    text = "\n".join(out)
    print(text)
    name = "storm_online-postgresql.txt" if args.database_url else "storm_online.txt"
    (ROOT / "bench" / "results" / name).write_text(f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC\n{text}\n")


if __name__ == "__main__":
    main()
