"""A known outage: callers are told its ETR at intake, and every caller is told when power is back."""

from __future__ import annotations

from django.test import Client

from gridcare.notices.models import Message, Outage
from gridcare.repair import services as rs
from gridcare.repair.models import ProbableOutage, RepairTicket, Vehicle
from gridcare.repair.selectors import outage_for_customer
from gridcare.workorders import services as wo
from tests import factories as f
from tests.conftest import City
from tests.repair.test_flow import minutes, repair_call


def test_published_fault_outage_tells_callers_and_restoration_reaches_all_of_them(city: City) -> None:
    area = city.north_net.areas[0]
    first, second, late = (f.make_customer(city.north, area) for _ in range(3))
    repair_call(city, minutes(0), customer=first)
    repair_call(city, minutes(1), customer=second)
    outage = ProbableOutage.objects.get()
    rs.outage_set_etr(outage=outage, etr=minutes(180), reason="", actor=city.dispatcher_north, now=minutes(2))
    outage = rs.outage_publish(outage=outage, cause="台区变压器故障", actor=city.dispatcher_north, now=minutes(3))
    published = Outage.objects.get(pk=outage.notice_outage_id)
    assert published.kind == "fault" and published.etr == minutes(180)
    told = set(Message.objects.filter(notice__outage=published).values_list("customer_id", flat=True))
    assert {first.pk, second.pk} <= told

    # A later caller from the same 台区 hears the known outage and its ETR, and joins it.
    known = outage_for_customer(late)
    assert known is not None and known.pk == outage.pk and known.etr == minutes(180)
    order = repair_call(city, minutes(10), customer=late)
    assert RepairTicket.objects.get(workorder=order).state == "child"

    main = RepairTicket.objects.get(outage=outage, is_main=True)
    v = Vehicle.objects.create(
        plate="浙A·D0003", crew=city.crew_north, device=f.make_device("dev-3"), home_lat=30.2, home_lon=120.1
    )
    wo.workorder_dispatch(order=main.workorder, actor=city.shift_lead, unit=city.north, now=minutes(11))
    a = rs.repair_assign(ticket=main, vehicle=v, actor=city.dispatcher_north, now=minutes(12))
    rs.repair_accept(assignment=a, actor=city.crew_member, now=minutes(13))
    rs.repair_depart(ticket=main, actor=city.crew_member, now=minutes(14))
    rs.repair_arrive(ticket=main, actor=city.crew_member, now=minutes(30))
    rs.repair_fault_record(ticket=main, actor=city.crew_member, fault_class="配电变压器", cause_class="过负荷")
    rs.repair_done(ticket=main, actor=city.crew_member, now=minutes(120))
    rs.repair_restore(ticket=main, actor=city.crew_member, now=minutes(125))
    published.refresh_from_db()
    assert published.status == "restored"
    restored_msgs = set(
        Message.objects.filter(notice__outage=published, notice__kind="outage_restored").values_list(
            "customer_id", flat=True
        )
    )
    assert {first.pk, second.pk, late.pk} <= restored_msgs


def test_agent_panel_shows_the_known_outage_and_its_etr(city: City, client: Client) -> None:
    area = city.north_net.areas[0]
    repair_call(city, minutes(0), customer=f.make_customer(city.north, area))
    client.force_login(city.agent)
    other = f.make_customer(city.north, area)
    # One caller is their own service drop so far: a neighbour is not told of an outage that may not be theirs.
    assert "故障抢修中" not in client.get(f"/workorders/panel/{other.account_no}/").content.decode()
    repair_call(city, minutes(1), customer=f.make_customer(city.north, area))
    outage = ProbableOutage.objects.exclude(state="merged").get()
    assert outage.level == "transformer_area"
    rs.outage_set_etr(outage=outage, etr=minutes(200), reason="", actor=city.dispatcher_north, now=minutes(2))
    html = client.get(f"/workorders/panel/{other.account_no}/").content.decode()
    assert "故障抢修中" in html and "预计恢复" in html


def test_a_call_that_joins_a_known_outage_is_answered_as_the_child_it_became(city: City, client: Client) -> None:
    import time_machine

    from gridcare.org.services import token_create
    from tests.repair.test_flow import minutes as at

    area = city.north_net.areas[0]
    first, second, late = (f.make_customer(city.north, area) for _ in range(3))
    repair_call(city, at(0), customer=first)
    repair_call(city, at(1), customer=second)
    outage = ProbableOutage.objects.get()
    rs.outage_publish(outage=outage, cause="台区变压器故障", actor=city.dispatcher_north, now=at(3))
    _, raw = token_create(user=city.agent, actor=None)
    auth = {"Authorization": f"Bearer {raw}"}
    with time_machine.travel(at(10), tick=False):
        made = client.post(
            "/api/v1/workorders",
            {"category": "repair", "account_no": late.account_no, "description": "又停电了"},
            content_type="application/json",
            headers=auth,
        )
        assert made.status_code == 201, made.content
        again = client.get(f"/api/v1/workorders/{made.json()['number']}", headers=auth).json()
    main = RepairTicket.objects.get(outage=outage, is_main=True).workorder.number
    assert made.json()["main"] == again["main"] == main and made.json()["status"] == again["status"]
