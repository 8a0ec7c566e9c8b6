"""Storm mode on the network below the feeder: an outage predicted at a fuse darkens exactly the 台区 below it (the
board counts their customers), is estimated as a fuse (its kind), and a neighbour below the fuse is answered in one
line."""

from __future__ import annotations

import datetime as dt
from typing import Any

from gridcare.grid import topology
from gridcare.grid.models import GridDevice, TransformerArea
from gridcare.repair import services as rs
from gridcare.repair import storm_selectors
from gridcare.repair.board import customers_off
from gridcare.repair.models import OutageEtr, OutageLevel, RepairTicket
from gridcare.workorders import services as wo
from tests import factories as f
from tests.conftest import City
from tests.workorders.helpers import bj, cat

T0 = bj(2026, 7, 20, 17, 0)


def branch_city(city: City) -> dict[str, Any]:
    """A feeder whose outlet breaker feeds one 台区 directly and, through a fuse on a branch line, two more."""
    net = f.make_network(city.north, areas=3)
    breaker = GridDevice.objects.create(code="B1", name="出口断路器", kind="breaker", feeder=net.feeder)
    fuse = GridDevice.objects.create(code="FU1", name="分支熔断器", kind="fuse", feeder=net.feeder, upstream=breaker)
    TransformerArea.objects.filter(pk=net.areas[0].pk).update(device=breaker)
    TransformerArea.objects.filter(pk__in=[a.pk for a in net.areas[1:]]).update(device=fuse)
    topology.forget()
    return {"net": net, "fuse": fuse}


def call(city: City, customer: Any, at: dt.datetime) -> Any:
    return wo.workorder_create(
        actor=city.agent, channel="phone", category=cat("repair"), customer=customer, description="停电", now=at
    )


def test_a_fuse_outage_darkens_the_area_below_it_is_estimated_as_a_fuse_and_covers_its_neighbours(
    city: City,
) -> None:
    c = branch_city(city)
    net = c["net"]
    below = [f.make_customer(city.north, area) for area in net.areas[1:] for _ in range(2)]
    f.make_customer(city.north, net.areas[0])  # on the main line: not below the fuse
    order = call(city, below[0], T0)
    call(city, below[2], T0 + dt.timedelta(minutes=2))  # the other 台区 below the fuse
    outage = RepairTicket.objects.select_related("outage").get(workorder=order).outage
    assert outage is not None and outage.level == OutageLevel.DEVICE and outage.device_id == c["fuse"].pk
    assert storm_selectors.outage_areas(outage) == {net.areas[1].pk, net.areas[2].pk}
    assert customers_off([outage], user=city.shift_lead)[outage.pk] == len(below)
    assert storm_selectors.outage_kind(outage) == "fuse"
    rs.etr_refresh_due(now=T0 + dt.timedelta(minutes=3))
    assert OutageEtr.objects.get(outage=outage).kind == "fuse"
    # A neighbour below the fuse who has not called yet is answered in one line and joins the fuse's outage.
    rs.storm_mode_set(on=True, reason="雷雨", actor=city.shift_lead, now=T0)
    _order, ticket, told = rs.storm_call_record(
        customer=below[3], phone="13900004444", actor=city.agent, now=T0 + dt.timedelta(minutes=5)
    )
    assert told.pk == outage.pk and ticket.outage_id == outage.pk
