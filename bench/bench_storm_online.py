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
With `--http N` the same storm goes through the HTTP API instead, served by `gridcare serve` on the bench
database: N concurrent clients, each feeder's events sent in time order by one client (feeders are independent:
the order within a feeder is what the engine depends on), calls as `POST /api/v1/workorders` and meter events as
`POST /api/v1/ami/events`; request latency percentiles and online == offline are reported. The storm is moved to
end just before now, so the server accepts its times. Use PostgreSQL for concurrent clients.
Writes bench/results/storm_online[-http][-postgresql].txt.
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

from bench._org import repair_org  # noqa: E402


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
    from gridcare.repair import stormgen
    from gridcare.repair.evidence import METER, Evidence
    from gridcare.repair.models import MeterEvidence, ProbableOutage, RepairTicket
    from gridcare.repair.prediction import predict
    from gridcare.workorders.models import Category
    from gridcare.workorders.services import workorder_create

    net = stormgen.city(args.seed, feeders=args.feeders)
    start = stormgen.DEFAULT_START
    if args.http:  # the server takes times up to now only: the storm ends five minutes ago
        start = dt.datetime.now(dt.UTC) - dt.timedelta(hours=args.hours, minutes=5)
    storm = stormgen.storm(net, args.seed, hours=args.hours, intensity=args.intensity, meters=args.meters, start=start)
    evidence = [e for e in storm.events if isinstance(e, Evidence)]
    callers = sorted({e.customer for e in evidence if e.source != METER})
    t_load = time.perf_counter()
    with transaction.atomic():
        rc, agent = repair_org()
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
    call_ms: list[float] = []
    meter_ms: list[float] = []
    online_id: dict[str, str] = {}
    if args.http:
        wall, cpu = http_replay(args, agent, net, evidence, customer_of, sp_of, call_ms, meter_ms)
        for t in RepairTicket.objects.select_related("workorder").exclude(workorder__channel="ami"):
            online_id[f"call:{t.pk}"] = t.workorder.description.removeprefix("停电 ")
        for m in MeterEvidence.objects.all():
            online_id[f"meter:{m.pk}"] = m.event_id
    else:
        wall, cpu = local_replay(evidence, agent, repair, customer_of, sp_of, placing_ms, call_ms, meter_ms, online_id)
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
        (
            f"replayed over HTTP by {args.http} concurrent clients (one per group of feeders) in {wall:.1f} s wall:"
            if args.http
            else f"replayed one event at a time through the product's path in {wall:.1f} s wall, {cpu:.1f} s CPU:"
        ),
        f"  call intake (work order + repair ticket + prediction): p50 {statistics.median(call_ms):.1f} ms  "
        f"p99 {pct(call_ms, 99):.1f} ms",
        f"  meter event (evidence + prediction, proactive order when it opens one): "
        f"p50 {statistics.median(meter_ms):.1f} ms  p99 {pct(meter_ms, 99):.1f} ms"
        if meter_ms
        else "  no meter events",
        f"  prediction step alone (placing.place, {len(placing_ms)} events): p50 {statistics.median(placing_ms):.1f} ms"
        f"  p99 {pct(placing_ms, 99):.1f} ms  (goal p99 ≤ 20 ms)"
        if placing_ms
        else "  (prediction step timed in-process only; run without --http)",
        f"  baseline, the same intake for a consultation (no ticket, no prediction): "
        f"p50 {statistics.median(base_ms):.1f} ms  p99 {pct(base_ms, 99):.1f} ms",
        f"outages online: {len(online)}; pairwise precision {precision:.4f}, recall {recall:.4f}",
        f"offline predict() on the same events: {len(offline)} outages in {offline_cpu * 1000:.0f} ms CPU; "
        f"online == offline: {online == offline}",
    ]


def local_replay(evidence, agent, repair, customer_of, sp_of, placing_ms, call_ms, meter_ms, online_id):  # type: ignore[no-untyped-def]
    """Every event through the product's services in this process, timed one by one."""
    from gridcare.repair.evidence import METER
    from gridcare.repair.models import MeterEvidence, RepairTicket
    from gridcare.repair.services import placing
    from gridcare.repair.services.meters import meter_events_consume
    from gridcare.workorders.services import workorder_create

    real_place = placing.place

    def timed_place(*a: object, **kw: object) -> object:
        t0 = time.perf_counter()
        try:
            return real_place(*a, **kw)  # type: ignore[arg-type]
        finally:
            placing_ms.append((time.perf_counter() - t0) * 1000)

    placing.place = timed_place  # type: ignore[assignment]
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
    placing.place = real_place  # type: ignore[assignment]
    return time.perf_counter() - wall0, time.process_time() - cpu0


def http_replay(args, agent, net, evidence, customer_of, sp_of, call_ms, meter_ms):  # type: ignore[no-untyped-def]
    """The storm through `gridcare serve`: one client per group of feeders, each feeder's events in time order."""
    import json
    import socket
    import subprocess
    import threading
    import urllib.request

    from gridcare.org.services import token_create
    from gridcare.repair.evidence import METER

    _row, bearer = token_create(user=agent, name="bench", actor=None)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = dict(os.environ)
    server = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gridcare"), "serve", "--host", "127.0.0.1", "--port", str(port),
         "--workers", "2", "--threads", "4"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1)  # noqa: S310 - our own server
                break
            except OSError:
                time.sleep(0.1)
        feeder_of = {a: net.feeder_of(net.area_device(a)) for a in net.areas}
        feeders = sorted({feeder_of[e.area] for e in evidence})
        lanes: list[list[object]] = [[] for _ in range(args.http)]
        lane_of = {f: i % args.http for i, f in enumerate(feeders)}
        for e in evidence:
            lanes[lane_of[feeder_of[e.area]]].append(e)
        lock = threading.Lock()
        errors: list[str] = []

        def send(events: list) -> None:  # type: ignore[type-arg]
            for e in events:
                if e.source == METER:
                    url, headers = f"{base}/api/v1/ami/events", {"X-GridCare-Token": os.environ["GRIDCARE_AMI_TOKEN"]}
                    body = {"event_id": e.id, "meter_no": e.customer, "kind": "last_gasp", "at": e.at.isoformat()}
                else:
                    url, headers = f"{base}/api/v1/workorders", {"Authorization": f"Bearer {bearer}"}
                    body = {"category": "repair", "account_no": customer_of[sp_of[e.customer]].account_no,
                            "description": f"停电 {e.id}", "call_ended_at": e.at.isoformat()}  # fmt: skip
                req = urllib.request.Request(  # noqa: S310 - our own server
                    url, json.dumps(body).encode(), {"Content-Type": "application/json", **headers}
                )
                t0 = time.perf_counter()
                try:
                    with urllib.request.urlopen(req, timeout=60) as resp:  # noqa: S310
                        resp.read()
                except Exception as exc:
                    with lock:
                        errors.append(f"{e.id}: {exc}")
                ms = (time.perf_counter() - t0) * 1000
                with lock:
                    (meter_ms if e.source == METER else call_ms).append(ms)

        cpu0 = time.process_time()
        wall0 = time.perf_counter()
        threads = [threading.Thread(target=send, args=(lane,)) for lane in lanes]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - wall0
        if errors:
            print(f"{len(errors)} requests failed, e.g. {errors[:3]}")
        return wall, time.process_time() - cpu0
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--feeders", type=int, default=40)
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--intensity", type=float, default=0.3)
    parser.add_argument("--meters", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--http", type=int, default=0, help="replay over HTTP with this many concurrent clients")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="gc-bench-storm-online-"))
    os.environ.setdefault("SECRET_KEY", "bench")
    os.environ["GRIDCARE_VAR_DIR"] = str(tmp)
    os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{tmp / 'bench.sqlite3'}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "gridcare.settings"
    os.environ.setdefault("GRIDCARE_AMI_TOKEN", "bench-head-end-0123456789")
    os.environ["GRIDCARE_REPAIR_MAX_CALL_AGE_MINUTES"] = str(int(args.hours * 60) + 60)
    import django

    django.setup()
    out: list[str] = []
    run(args, out)
    text = "\n".join(out)
    print(text)
    name = "storm_online" + ("-http" if args.http else "") + ("-postgresql" if args.database_url else "") + ".txt"
    (ROOT / "bench" / "results" / name).write_text(f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC\n{text}\n")


if __name__ == "__main__":
    main()
