"""Meters as evidence: a last-gasp cluster opens a repair with no caller and tells its customers; meters that do not
come back after the crew's restoration are a nested outage; a transient fault closes itself."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from gridcare.core.errors import ServiceError
from gridcare.core.models import Event
from gridcare.grid.models import ServicePoint
from gridcare.notices.models import Message
from gridcare.repair import services as rs
from gridcare.repair.models import MeterEvidence, ProbableOutage, RepairTicket
from gridcare.repair.services.meters import RESTORE_GRACE, meter_events_consume, restorations_check
from gridcare.workorders import services as wo
from tests import factories as f
from tests.conftest import City
from tests.repair.test_flow import minutes, repair_call, vehicle


@dataclass(frozen=True)
class Ev:  # the fields the AMI app's MeterEvent has
    event_id: str
    meter_no: str
    kind: str
    at: dt.datetime
    service_point_id: int | None


def off(sp: ServicePoint, at: dt.datetime, kind: str = "last_gasp") -> Ev:
    return Ev(f"{kind}-{sp.meter_no}-{at:%H%M%S}", sp.meter_no or "", kind, at, sp.pk)


def on(sp: ServicePoint, at: dt.datetime) -> Ev:
    return Ev(f"restored-{sp.meter_no}-{at:%H%M%S}", sp.meter_no or "", "restored", at, sp.pk)


def area_with_customers(city: City, n: int) -> list[ServicePoint]:
    area = city.north_net.areas[0]
    return [f.make_customer(city.north, area).service_point for _ in range(n)]  # type: ignore[misc]


def test_a_last_gasp_cluster_opens_a_repair_with_no_caller_and_tells_the_customers(city: City) -> None:
    sps = area_with_customers(city, 4)
    meter_events_consume([off(sp, minutes(0.1 * i)) for i, sp in enumerate(sps[:3])], now=minutes(1))
    outage = ProbableOutage.objects.exclude(state="merged").get()
    assert outage.level == "transformer_area" and outage.call_count == 0
    main = RepairTicket.objects.get(outage=outage, is_main=True)
    assert main.workorder.channel == "ami" and main.workorder.customer is None
    assert main.a_at == minutes(0)  # A is the first power-off event, not when the system noticed
    assert outage.notice_outage_id is not None
    told = set(Message.objects.filter(notice__outage_id=outage.notice_outage_id).values_list("customer_id", flat=True))
    area_customers = {c.pk for sp in sps for c in sp.customers.all()}
    assert area_customers <= told  # the fourth customer, whose meter said nothing, is told as well
    # The same batch again (the head-end resends): nothing new.
    meter_events_consume([off(sp, minutes(0.1 * i)) for i, sp in enumerate(sps[:3])], now=minutes(2))
    assert MeterEvidence.objects.count() == 3 and RepairTicket.objects.count() == 1
    # A customer who calls now joins the outage the meters found, as a follower of the proactive order.
    caller = sps[3].customers.get()
    order = repair_call(city, minutes(5), customer=caller)
    ticket = RepairTicket.objects.get(workorder=order)
    assert ticket.outage_id == outage.pk and ticket.state == "child"
    order.refresh_from_db()
    assert order.main_id == main.workorder_id


def test_one_meter_going_quiet_is_a_prediction_not_a_crew(city: City) -> None:
    sps = area_with_customers(city, 3)
    meter_events_consume([off(sps[0], minutes(0))], now=minutes(1))
    outage = ProbableOutage.objects.get()
    assert outage.level == "service_point"
    assert not RepairTicket.objects.exists()


def test_a_transient_fault_closes_itself_when_every_meter_is_back(city: City) -> None:
    sps = area_with_customers(city, 3)
    meter_events_consume([off(sp, minutes(0)) for sp in sps], now=minutes(1))
    outage = ProbableOutage.objects.exclude(state="merged").get()
    meter_events_consume([on(sp, minutes(2)) for sp in sps[:2]], now=minutes(2))
    outage.refresh_from_db()
    assert outage.state == "open"  # one meter still off
    meter_events_consume([on(sps[2], minutes(3))], now=minutes(3))
    outage.refresh_from_db()
    assert outage.state == "restored" and Event.objects.filter(action="outage.self_restored").count() == 1
    ticket = RepairTicket.objects.get(outage=outage)
    assert ticket.state == "cancelled"


def test_meters_still_off_after_the_crew_restored_are_a_nested_outage(city: City) -> None:
    sps = area_with_customers(city, 4)
    meter_events_consume([off(sp, minutes(0)) for sp in sps], now=minutes(1))
    outage = ProbableOutage.objects.exclude(state="merged").get()
    main = RepairTicket.objects.get(outage=outage, is_main=True)
    v = vehicle(city)
    wo.workorder_dispatch(order=main.workorder, actor=city.shift_lead, unit=city.north, now=minutes(3))
    a = rs.repair_assign(ticket=main, vehicle=v, actor=city.dispatcher_north, now=minutes(4))
    rs.repair_accept(assignment=a, actor=city.crew_member, now=minutes(5))
    rs.repair_depart(ticket=main, actor=city.crew_member, now=minutes(6))
    rs.repair_arrive(ticket=main, actor=city.crew_member, now=minutes(30))
    rs.repair_fault_record(ticket=main, actor=city.crew_member, fault_class="配电变压器", cause_class="雷击")
    rs.repair_done(ticket=main, actor=city.crew_member, now=minutes(60))
    rs.repair_restore(ticket=main, actor=city.crew_member, now=minutes(61))
    meter_events_consume([on(sp, minutes(61.5)) for sp in sps[:2]], now=minutes(62))
    assert restorations_check(now=minutes(62)) == []  # within the grace period nothing is concluded
    later = minutes(61) + RESTORE_GRACE + dt.timedelta(minutes=1)
    nested = restorations_check(now=later)
    assert len(nested) == 1
    n = nested[0]
    assert n.pk != outage.pk and n.state == "open" and n.level == "transformer_area"
    held = set(MeterEvidence.objects.filter(outage=n).values_list("service_point_id", flat=True))
    assert held == {sps[2].pk, sps[3].pk}
    assert restorations_check(now=later + dt.timedelta(minutes=5)) == []  # each meter is re-placed once
    assert Event.objects.filter(action="outage.nested").exists()


def test_a_dispatcher_splits_calls_off_an_outage_and_confirms_it(city: City) -> None:
    area = city.north_net.areas[0]
    orders = [repair_call(city, minutes(i), customer=f.make_customer(city.north, area)) for i in range(4)]
    outage = ProbableOutage.objects.exclude(state="merged").get()
    assert outage.level == "transformer_area" and outage.call_count == 4
    moved = [o.number for o in orders[2:]]
    other = rs.outage_split(outage=outage, tickets=moved, actor=city.dispatcher_north, now=minutes(10))
    outage.refresh_from_db()
    assert outage.call_count == 2 and other.call_count == 2 and other.confirmed
    mains = RepairTicket.objects.filter(outage=other, is_main=True)
    assert mains.count() == 1 and mains.get().workorder.number == moved[0]
    for o in orders:
        o.refresh_from_db()
    assert orders[0].call_count == 2 and orders[2].call_count == 2  # each call counted once, on its own main
    assert orders[3].main_id == orders[2].pk and orders[2].main_id is None
    # A fifth caller of the 台区 joins the first outage (the split one is confirmed and holds only its own calls).
    confirmed = rs.outage_confirm(outage=outage, actor=city.dispatcher_north, now=minutes(11))
    assert confirmed.confirmed
    with pytest.raises(ServiceError, match="不属于该故障研判"):
        rs.outage_split(outage=outage, tickets=["nope"], actor=city.dispatcher_north, now=minutes(12))
    with pytest.raises(ServiceError, match="部分"):
        rs.outage_split(outage=outage, tickets=[orders[0].number, orders[1].number], actor=city.dispatcher_north)


def test_meter_events_posted_by_the_head_end_open_the_repair_and_a_restore_batch_closes_it(
    city: City, django_capture_on_commit_callbacks
) -> None:
    import json

    from django.test import Client

    from tests.ami.conftest import TOKEN

    sps = area_with_customers(city, 3)
    stamp = dt.datetime.now(dt.UTC).replace(microsecond=0)
    body = {
        "events": [
            {"event_id": f"HE-{sp.meter_no}", "meter_no": sp.meter_no, "kind": "停电事件", "at": stamp.isoformat()}
            for sp in sps
        ]
    }
    from gridcare.ami import config as ami_config

    with ami_config.override(ami_config.load_config({"GRIDCARE_AMI_TOKEN": TOKEN})):
        with django_capture_on_commit_callbacks(execute=True):
            r = Client().post(
                "/api/v1/ami/events",
                json.dumps(body, ensure_ascii=False),
                content_type="application/json",
                headers={"X-GridCare-Token": TOKEN},
            )
        assert r.status_code == 200, r.content
        outage = ProbableOutage.objects.exclude(state="merged").get()
        assert outage.level == "transformer_area" and outage.notice_outage_id is not None
        assert RepairTicket.objects.get(outage=outage).workorder.channel == "ami"
        back = {
            "events": [
                {"event_id": f"HR-{sp.meter_no}", "meter_no": sp.meter_no, "kind": "restored", "at": stamp.isoformat()}
                for sp in sps
            ]
        }
        with django_capture_on_commit_callbacks(execute=True):
            Client().post(
                "/api/v1/ami/events",
                json.dumps(back),
                content_type="application/json",
                headers={"X-GridCare-Token": TOKEN},
            )
    outage.refresh_from_db()
    assert outage.state == "restored"  # every meter came back before a crew was sent: a transient fault
