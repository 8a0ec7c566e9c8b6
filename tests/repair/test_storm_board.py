"""The storm board's numbers, within the reader's units: outages by state, customers off (each once), crews,
calls waiting for a crew, the oldest outage nobody was sent to, calls per 10 minutes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from gridcare.repair import services as rs
from gridcare.repair.board import customers_off, storm_board
from gridcare.repair.models import OutageLevel, ProbableOutage, RepairTicket, Vehicle
from gridcare.repair.storm_selectors import areas_of_outages, outage_areas
from gridcare.workorders import services as wo
from gridcare.workorders.models import WorkOrder
from tests import factories as f
from tests.conftest import City
from tests.workorders.helpers import bj, cat

T0 = bj(2026, 7, 20, 17, 0)


def minutes(m: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=m)


def call(city: City, customer: Any, at: dt.datetime) -> WorkOrder:
    return wo.workorder_create(
        actor=city.agent, channel="phone", category=cat("repair"), customer=customer, description="停电", now=at
    )


def test_the_board_counts_a_storm_as_a_shift_lead_needs_it(city: City) -> None:
    # Feeder 1: a 台区 of 4 customers with two callers, a 台区 of 3 with one. Feeder 2: all three 台区 dark (2 + 1 + 1).
    one = f.make_network(city.north, areas=2)
    two = f.make_network(city.north, areas=3)
    dark = [f.make_customer(city.north, one.areas[0]) for _ in range(4)]
    single = [f.make_customer(city.north, one.areas[1]) for _ in range(3)]
    feeder = [f.make_customer(city.north, two.areas[0]) for _ in range(2)] + [
        f.make_customer(city.north, area) for area in two.areas[1:]
    ]
    first = call(city, dark[0], minutes(0))
    call(city, dark[1], minutes(2))
    call(city, single[0], minutes(5))
    for customer, at in [(feeder[0], 6), (feeder[1], 7), (feeder[2], 8), (feeder[3], 8.5)]:
        call(city, customer, minutes(at))
    call(city, feeder[3], minutes(9))  # a repeat call: it counts as a call, the customer once
    area_outage = RepairTicket.objects.get(workorder=first).outage
    assert area_outage is not None and area_outage.level == OutageLevel.TRANSFORMER_AREA
    feeder_outage = RepairTicket.objects.filter(workorder__customer=feeder[0]).get().outage
    assert feeder_outage is not None and feeder_outage.level == OutageLevel.FEEDER
    assert outage_areas(feeder_outage) == {a.pk for a in two.areas}
    assert areas_of_outages([area_outage, feeder_outage])[area_outage.pk] == {one.areas[0].pk}
    # The 台区 outage gets a crew.
    wo.workorder_dispatch(order=first, actor=city.shift_lead, unit=city.north, now=minutes(10))
    v = Vehicle.objects.create(
        plate="浙A·S0001", crew=city.crew_north, device=f.make_device("s-1"), home_lat=30.2, home_lon=120.1
    )
    rs.repair_assign(ticket=RepairTicket.objects.get(workorder=first), vehicle=v, actor=city.dispatcher_north)

    b = storm_board(user=city.shift_lead, now=minutes(12))
    assert b["by_state"] == {"open": 2, "assigned": 1, "on_site": 0, "restored_12h": 0}
    assert b["customers_off"] == 4 + 1 + 4  # the dark 台区, the single caller, the whole second feeder
    assert b["crews_assigned"] == 1 and b["crews_idle"] == 0
    assert b["calls_waiting"] == 1 + 5  # the single caller's, and the feeder's five calls
    assert b["oldest_unassigned"]["calls"] == 1 and b["oldest_unassigned"]["age_minutes"] == 7
    assert b["calls_per_10min"] == 6 and b["call_windows"][1]["calls"] == 2  # (2, 12] minutes, then (-8, 2]
    rows = {r["id"]: r for r in b["outages"]}
    assert rows[area_outage.pk]["crews"] == ["浙A·S0001"] and rows[area_outage.pk]["customers_off"] == 4
    assert rows[feeder_outage.pk]["customers_off"] == 4 and rows[feeder_outage.pk]["state"] == "研判中"
    # Another repair centre's dispatcher sees none of it.
    other = storm_board(user=city.dispatcher_south, now=minutes(12))
    assert other["live"] == 0 and other["customers_off"] == 0 and other["calls_per_10min"] == 0


def test_a_customer_inside_two_outages_is_off_once(city: City) -> None:
    net = f.make_network(city.north, areas=2)
    caller = f.make_customer(city.north, net.areas[0])
    others = [f.make_customer(city.north, area) for area in net.areas]
    single = RepairTicket.objects.get(workorder=call(city, caller, minutes(0))).outage
    assert single is not None and single.level == OutageLevel.SERVICE_POINT
    # The whole feeder predicted dark as well (as the prediction engine may, before the single call is absorbed).
    whole = ProbableOutage.objects.create(
        level=OutageLevel.FEEDER, feeder=net.feeder, first_call_at=minutes(1), last_call_at=minutes(1)
    )
    off = customers_off([single, whole], user=city.shift_lead)
    assert off[single.pk] == 1 and off[whole.pk] == 1 + len(others)
    assert off[0] == 1 + len(others)  # the caller once, not twice


def test_the_board_fragment_the_page_refreshes_into_escapes_what_people_typed(city: City, client: Any) -> None:
    """storm.js puts the fragment in with innerHTML: it must arrive escaped (the lead's reason, the places)."""
    from gridcare.repair.services.storm import storm_mode_set

    hostile = '<img src=x onerror="alert(1)">'
    storm_mode_set(on=True, reason=hostile, actor=city.shift_lead)
    area = city.north_net.areas[0]
    area.name = "<script>alert(2)</script>台区"
    area.save()
    for _ in range(2):
        call(city, f.make_customer(city.north, area), dt.datetime.now(dt.UTC))
    client.force_login(city.shift_lead)
    html = client.get("/repair/storm/board/").content.decode()
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;台区" in html  # the place, on the outage row
    assert "<img src=x" not in html and "<script>alert(2)" not in html
