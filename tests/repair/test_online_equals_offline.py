"""Online = offline: a storm fed through the repair services one event at a time (calls through work-order intake,
meter events through the AMI consumer) ends in the same outages as `prediction.predict` on the same events.

The city and the storm come from the independent generator (repair.stormgen); the city is loaded into the
database as GridDevice / TransformerArea / ServicePoint rows, so the online path reads it back through
grid.topology exactly as production does."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from gridcare.grid import topology
from gridcare.grid.models import Feeder, GridDevice, ServicePoint, Substation, TransformerArea
from gridcare.repair import stormgen
from gridcare.repair.evidence import METER, Evidence
from gridcare.repair.models import MeterEvidence, ProbableOutage, RepairTicket
from gridcare.repair.prediction import predict
from gridcare.repair.services.meters import meter_events_consume
from gridcare.workorders import services as wo
from tests import factories as f
from tests.conftest import City
from tests.repair.test_meters import Ev
from tests.workorders.helpers import cat


def load_city(city: City, net: stormgen.Network) -> dict[str, ServicePoint]:
    unit = city.north
    sub = Substation.objects.create(code="SGSUB", name="风暴变", lat=30.2, lon=120.1, unit=unit)
    feeders = {
        d.feeder: Feeder.objects.create(code=d.feeder, name=d.feeder, substation=sub, unit=unit)
        for d in net.devices.values()
        if d.feeder
    }
    rows: dict[str, GridDevice] = {}
    for device in sorted(net.devices, key=lambda d: net.depth[d]):
        d = net.devices[device]
        feeder = feeders[net.feeder_of(device) or ""]
        rows[device] = GridDevice.objects.create(
            code=device, name=device, kind=d.kind, feeder=feeder, upstream=rows[d.parent] if d.parent else None
        )
    sps: list[ServicePoint] = []
    for a in net.areas.values():
        device = rows[a.device]
        ta = TransformerArea.objects.create(
            code=a.id, name=a.id, feeder=device.feeder, rated_kva=400, lat=30.2, lon=120.1, unit=unit, device=device
        )
        sps += [
            ServicePoint(code=c, transformer_area=ta, meter_no=c, lat=30.2, lon=120.1)
            for c in stormgen.customers_of(net, a.id)
        ]
    ServicePoint.objects.bulk_create(sps, batch_size=2000)
    topology.forget()
    return {sp.code: sp for sp in ServicePoint.objects.filter(code__in=[s.code for s in sps])}


def partition(groups: list[list[str]]) -> set[frozenset[str]]:
    return {frozenset(g) for g in groups if g}


def test_a_storm_replayed_through_the_services_ends_in_the_outages_predict_finds(city: City) -> None:
    net = stormgen.city(7, feeders=5)
    sps = load_city(city, net)
    storm = stormgen.storm(net, 7, hours=2.0, intensity=0.5, meters=0.3)
    until = storm.start + dt.timedelta(minutes=120)
    evidence = [e for e in storm.events if isinstance(e, Evidence) and e.at <= until]
    calls = [e for e in evidence if e.source != METER]
    assert len(calls) >= 20 and len(evidence) > len(calls)  # a storm with both kinds of evidence to compare
    topo = topology.now()
    assert net.areas.keys() <= topo.network.areas.keys()  # (the test city has its own small feeders too)
    offline = partition([p.evidence for p in predict(topo.network, evidence)])

    category = cat("repair")
    customers: dict[str, object] = {}
    online_id: dict[str, str] = {}  # database evidence → generator evidence id
    for e in evidence:  # in time order, one at a time, as they would arrive
        sp = sps[e.customer]
        if e.source == METER:
            meter_events_consume([Ev(e.id, sp.meter_no or "", "last_gasp", e.at, sp.pk)], now=e.at)
            online_id[f"meter:{MeterEvidence.objects.get(event_id=e.id).pk}"] = e.id
            continue
        if e.customer not in customers:
            customers[e.customer] = f.make_customer(city.north, None, service_point=sp)
        order = wo.workorder_create(
            actor=city.agent,
            channel="phone",
            category=category,
            customer=customers[e.customer],  # type: ignore[arg-type]
            description="停电",
            call_ended_at=e.at,
            now=e.at,
        )
        online_id[f"call:{RepairTicket.objects.get(workorder=order).pk}"] = e.id

    groups: dict[int, list[str]] = defaultdict(list)
    live = ProbableOutage.objects.exclude(state="merged")
    for t in RepairTicket.objects.filter(outage__in=live).exclude(workorder__channel="ami"):
        groups[t.outage_id].append(online_id[f"call:{t.pk}"])
    for m in MeterEvidence.objects.filter(outage__in=live):
        groups[m.outage_id].append(online_id[f"meter:{m.pk}"])
    online = partition(list(groups.values()))
    assert sum(len(g) for g in online) == len(evidence)
    assert online == offline
