"""A scripted repair: every A–H point from a real event, segments, who lost the minutes, escalation."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from gridcare.core.errors import Conflict, ServiceError
from gridcare.core.models import Event
from gridcare.repair import services as rs
from gridcare.repair.escalation import handle_unaccepted
from gridcare.repair.models import ProbableOutage, RepairTicket, Vehicle, VehicleAssignment
from gridcare.repair.selectors import ticket_timing
from gridcare.workorders import services as wo
from tests import factories as f
from tests.conftest import City
from tests.workorders.helpers import bj, cat

T0 = bj(2026, 11, 2, 20, 0)


def minutes(m: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=m)


def vehicle(city: City, crew: object | None = None, plate: str = "浙A·D0001") -> Vehicle:
    return Vehicle.objects.create(
        plate=plate,
        crew=crew or city.crew_north,
        device=f.make_device(f"dev-{plate}"),
        crew_type="both",
        home_lat=30.2,
        home_lon=120.1,
    )


def repair_call(city: City, at: dt.datetime, customer: object | None = None, ended: dt.datetime | None = None):  # type: ignore[no-untyped-def]
    return wo.workorder_create(
        actor=city.agent,
        channel="phone",
        category=cat("repair"),
        customer=customer or city.north_customer,
        description="家里停电了",
        call_ended_at=ended,
        now=at,
    )


def scripted(city: City, v: Vehicle, d_to_f: float = 1.5) -> RepairTicket:
    order = repair_call(city, minutes(1), ended=minutes(0))
    wo.workorder_dispatch(order=order, actor=city.shift_lead, unit=city.north, now=minutes(3))  # B, AB = 3 (late)
    ticket = RepairTicket.objects.get(workorder=order)
    rs.repair_receive(ticket=ticket, actor="报修中心系统", now=minutes(4))  # C, BC = 1
    a = rs.repair_assign(ticket=ticket, vehicle=v, actor=city.dispatcher_north, now=minutes(5))  # D, CD = 1
    rs.repair_device_receive(assignment=a, actor=city.crew_member, now=minutes(5.5))  # E
    rs.repair_accept(assignment=a, actor=city.crew_member, now=minutes(5 + d_to_f), lat=30.2, lon=120.1)  # F
    rs.repair_depart(ticket=ticket, actor=city.crew_member, now=minutes(9))  # G
    rs.repair_arrive(ticket=ticket, actor=city.crew_member, now=minutes(40), lat=30.21, lon=120.11)  # H: GH = 31
    return RepairTicket.objects.get(pk=ticket.pk)


def test_scripted_repair_gives_segment_durations_and_who_lost_the_minutes(city: City) -> None:
    ticket = scripted(city, vehicle(city))
    timing = ticket_timing(ticket)
    got = {s.code: s.minutes for s in timing.segments}
    assert got == {"AB": 3.0, "BC": 1.0, "CD": 1.0, "DE": 0.5, "EF": 1.0, "FG": 2.5, "GH": 31.0}
    overdue = {s.code: (s.lost_minutes, s.party, s.who) for s in timing.segments if s.overdue}
    assert overdue["AB"][:2] == (1.0, "center_95598") and overdue["AB"][2] == "lead"
    assert overdue["GH"][:2] == (3.0, "crew") and "城北一班" in overdue["GH"][2]
    assert timing.arrival_minutes == 40.0 and not timing.arrival_overdue  # within the city's 45 minutes
    assert timing.worst is not None and timing.worst.code == "GH"


def test_points_come_from_events_and_cannot_be_stamped_twice(city: City) -> None:
    ticket = scripted(city, vehicle(city))
    actions = set(
        Event.objects.filter(subject_id=str(ticket.workorder_id), action__startswith="repair.").values_list(
            "action", flat=True
        )
    )
    assert {f"repair.{p}" for p in "ABCDEFGH"} <= actions
    with pytest.raises(Conflict):
        rs.repair_arrive(ticket=ticket, actor=city.crew_member, now=minutes(41))


def test_de_target_is_four_minutes_when_the_crew_sits_at_another_site(city: City) -> None:
    far_crew = f.make_unit("crew", parent=city.north, site=f.make_site("FAR"), scope_unit=city.north, name="远郊班")
    v = vehicle(city, far_crew, "浙A·D0009")
    order = repair_call(city, minutes(1), ended=minutes(0))
    wo.workorder_dispatch(order=order, actor=city.shift_lead, unit=city.north, now=minutes(2))
    ticket = RepairTicket.objects.get(workorder=order)
    a = rs.repair_assign(ticket=ticket, vehicle=v, actor=city.dispatcher_north, now=minutes(3))
    rs.repair_device_receive(assignment=a, actor="终端", now=minutes(6))  # DE = 3 minutes
    de = next(s for s in ticket_timing(RepairTicket.objects.get(pk=ticket.pk)).segments if s.code == "DE")
    assert de.target == 4 and not de.overdue
    near = vehicle(city, None, "浙A·D0010")
    order2 = repair_call(city, minutes(1), customer=city.south_customer, ended=minutes(0))
    wo.workorder_dispatch(order=order2, actor=city.shift_lead, unit=city.north, now=minutes(2))
    t2 = RepairTicket.objects.get(workorder=order2)
    a2 = rs.repair_assign(ticket=t2, vehicle=near, actor=city.dispatcher_north, now=minutes(3))
    rs.repair_device_receive(assignment=a2, actor="终端", now=minutes(6))
    de2 = next(s for s in ticket_timing(RepairTicket.objects.get(pk=t2.pk)).segments if s.code == "DE")
    assert de2.target == 2 and de2.overdue and de2.lost_minutes == 1.0 and de2.party == "network"


def assigned_call(city: City) -> tuple[object, RepairTicket]:
    """A call at minute 0, sent to the north centre at 1, put in a vehicle's queue at 2."""
    v = vehicle(city)
    order = repair_call(city, minutes(0))
    wo.workorder_dispatch(order=order, actor=city.shift_lead, unit=city.north, now=minutes(1))
    ticket = RepairTicket.objects.get(workorder=order)
    rs.repair_assign(ticket=ticket, vehicle=v, actor=city.dispatcher_north, now=minutes(2))
    return order, ticket


def test_unaccepted_order_alerts_the_dispatcher_after_four_minutes_then_managers(city: City) -> None:
    order, _ = assigned_call(city)
    assert handle_unaccepted(minutes(5.9)) == 0
    assert handle_unaccepted(minutes(6)) == 1
    alert = Event.objects.get(action="repair.not_accepted", subject_id=str(order.pk))
    assert alert.new["phone"] == city.crew_north.duty_phone and alert.new["alert_to"] == "disp_n"
    handle_unaccepted(minutes(8))
    phones = list(Event.objects.filter(action="repair.not_accepted").order_by("id").values_list("new", flat=True))
    assert phones[1]["phone"] == city.crew_north.managers.order_by("rank")[0].phone
    assert handle_unaccepted(minutes(8)) == 0  # exactly once per level


def test_repair_centre_that_does_not_send_on_is_chased_too(city: City) -> None:
    order = repair_call(city, minutes(0))
    wo.workorder_dispatch(order=order, actor=city.shift_lead, unit=city.north, now=minutes(1))
    handle_unaccepted(minutes(5))
    alert = Event.objects.get(action="repair.not_accepted")
    assert alert.new["phone"] == city.north.duty_phone and alert.new["alert_to"] == "lead"


def test_one_vehicle_holds_three_orders_in_the_dispatchers_order(city: City) -> None:
    v = vehicle(city)
    # Three faults on three feeders: three separate outages, all queued on one vehicle.
    customers = [f.make_customer(city.north, f.make_network(city.north).areas[0]) for _ in range(3)]
    tickets = []
    for i, c in enumerate(customers):
        order = repair_call(city, minutes(i), customer=c)
        wo.workorder_dispatch(order=order, actor=city.shift_lead, unit=city.north, now=minutes(i + 1))
        t = RepairTicket.objects.get(workorder=order)
        rs.repair_assign(ticket=t, vehicle=v, actor=city.dispatcher_north, now=minutes(i + 2))
        tickets.append(t)
    queue = list(VehicleAssignment.objects.filter(vehicle=v).order_by("position").values_list("ticket_id", flat=True))
    assert queue == [t.pk for t in tickets]
    rs.repair_queue_reorder(
        vehicle=v, ticket_ids=[tickets[2].pk, tickets[0].pk, tickets[1].pk], actor=city.dispatcher_north
    )
    queue = list(VehicleAssignment.objects.filter(vehicle=v).order_by("position").values_list("ticket_id", flat=True))
    assert queue == [tickets[2].pk, tickets[0].pk, tickets[1].pk]
    v.refresh_from_db()
    assert v.status == "assigned"


def test_decline_returns_the_order_and_recall_removes_the_vehicle_copy(city: City) -> None:
    v1, v2 = vehicle(city), vehicle(city, None, "浙A·D0002")
    order = repair_call(city, minutes(0))
    wo.workorder_dispatch(order=order, actor=city.shift_lead, unit=city.north, now=minutes(1))
    ticket = RepairTicket.objects.get(workorder=order)
    a1 = rs.repair_assign(ticket=ticket, vehicle=v1, actor=city.dispatcher_north, now=minutes(2))
    rs.repair_decline(assignment=a1, actor=city.crew_member, reason="车辆在保养", now=minutes(3))
    a2 = rs.repair_assign(ticket=ticket, vehicle=v2, actor=city.dispatcher_north, now=minutes(4))
    rs.repair_recall(ticket=ticket, actor=city.dispatcher_north, reason="派错车", now=minutes(4.5))
    a2.refresh_from_db()
    assert a2.state == "recalled"
    assert not VehicleAssignment.objects.filter(vehicle=v2, state__in=["queued", "received", "accepted"]).exists()
    v2.refresh_from_db()
    assert v2.status == "idle"
    assert Event.objects.get(action="repair.decline").new["minutes_lost"] == 1.0


def test_fifty_calls_from_one_area_make_one_outage_and_one_assignment(city: City) -> None:
    v = vehicle(city)
    area = city.north_net.areas[0]
    callers = [f.make_customer(city.north, area) for _ in range(50)]
    orders = [repair_call(city, minutes(i * 0.2), customer=c) for i, c in enumerate(callers)]
    tickets = RepairTicket.objects.filter(workorder__in=orders)
    assert ProbableOutage.objects.count() == 1
    outage = ProbableOutage.objects.get()
    assert outage.call_count == 50 and outage.level == "transformer_area"
    main = tickets.get(is_main=True)
    assert tickets.filter(state="child").count() == 49
    main.workorder.refresh_from_db()
    assert main.workorder.call_count == 50
    wo.workorder_dispatch(order=main.workorder, actor=city.shift_lead, unit=city.north, now=minutes(11))
    rs.repair_assign(ticket=main, vehicle=v, actor=city.dispatcher_north, now=minutes(12))
    assert VehicleAssignment.objects.count() == 1


def test_calls_from_every_tai_qu_of_a_feeder_roll_up_to_the_feeder_but_not_while_big_ones_stay_silent(
    city: City,
) -> None:
    net = f.make_network(city.north, areas=5)
    for area in net.areas[3:]:  # two 台区 with four customers each who do not call (yet)
        for _ in range(4):
            f.make_customer(city.north, area)
    for i, area in enumerate(net.areas[:3]):
        for k in range(2):  # two calls from each 台区: a 台区 outage, not one customer's fault
            repair_call(city, minutes(i + k / 2), customer=f.make_customer(city.north, area))
    # Three of five 台区: were the feeder out, its eight silent customers would have called at the rate these did.
    assert ProbableOutage.objects.exclude(state="merged").count() == 3
    repair_call(city, minutes(3), customer=f.make_customer(city.north, net.areas[3]))
    assert ProbableOutage.objects.exclude(state="merged").count() == 4  # one call: a service outage so far
    repair_call(city, minutes(3.5), customer=f.make_customer(city.north, net.areas[4]))
    live = ProbableOutage.objects.exclude(state="merged")
    assert live.count() == 1 and live.get().level == "feeder" and live.get().call_count == 8
    assert RepairTicket.objects.filter(outage=live.get(), is_main=True).count() == 1
    assert RepairTicket.objects.filter(outage=live.get()).count() == 8


def test_restoration_answers_every_caller_with_a_return_visit(city: City) -> None:
    v = vehicle(city)
    area = city.north_net.areas[0]
    callers = [f.make_customer(city.north, area) for _ in range(3)]
    orders = [repair_call(city, minutes(i), customer=c) for i, c in enumerate(callers)]
    main = RepairTicket.objects.get(workorder__in=orders, is_main=True)
    wo.workorder_dispatch(order=main.workorder, actor=city.shift_lead, unit=city.north, now=minutes(4))
    a = rs.repair_assign(ticket=main, vehicle=v, actor=city.dispatcher_north, now=minutes(5))
    rs.repair_accept(assignment=a, actor=city.crew_member, now=minutes(6))
    rs.repair_depart(ticket=main, actor=city.crew_member, now=minutes(7))
    rs.repair_arrive(ticket=main, actor=city.crew_member, now=minutes(30))
    with pytest.raises(ServiceError, match="请先填写故障记录"):
        rs.repair_done(ticket=main, actor=city.crew_member, now=minutes(60))
    rs.repair_fault_record(
        ticket=main,
        actor=city.crew_member,
        fault_class="低压线路",
        cause_class="外力破坏",
        equipment="接户线",
        ownership="utility",
    )
    rs.repair_done(ticket=main, actor=city.crew_member, now=minutes(80))
    rs.repair_restore(ticket=main, actor=city.crew_member, now=minutes(85))
    for order in orders:
        order.refresh_from_db()
        assert order.status == "return_visit", order.number
        assert order.visits.filter(closed_at__isnull=True).count() == 1
    v.refresh_from_db()
    assert v.status == "idle"


def test_caller_still_without_power_reopens_the_analysis(city: City) -> None:
    order = repair_call(city, minutes(0))
    ticket = RepairTicket.objects.get(workorder=order)
    # The crew restored the fault (the whole flow is in the test above); the call-back finds the caller still off.
    ProbableOutage.objects.filter(pk=ticket.outage_id).update(state="restored", restored_at=minutes(150))
    reopened = rs.repair_callback(ticket=ticket, power_on=False, actor=city.quality, now=minutes(200))
    assert reopened is not None and reopened.outage_id != ticket.outage_id
    assert ProbableOutage.objects.get(pk=reopened.outage_id).reopened_from_id == ticket.outage_id


def test_etr_only_moves_later_with_a_reason(city: City) -> None:
    repair_call(city, minutes(0))
    outage = ProbableOutage.objects.get()
    rs.outage_set_etr(outage=outage, etr=minutes(120), reason="", actor=city.dispatcher_north, now=minutes(5))
    with pytest.raises(ServiceError, match="预计恢复时间只能推后"):
        rs.outage_set_etr(outage=outage, etr=minutes(90), reason="修得快", actor=city.dispatcher_north, now=minutes(6))
    with pytest.raises(ServiceError, match="修改预计恢复时间须说明原因"):
        rs.outage_set_etr(outage=outage, etr=minutes(150), reason="", actor=city.dispatcher_north, now=minutes(6))
    outage = rs.outage_set_etr(
        outage=outage, etr=minutes(150), reason="需更换变压器", actor=city.dispatcher_north, now=minutes(7)
    )
    assert outage.etr == minutes(150) and outage.etr_updated_at == minutes(7)


def test_candidates_rank_from_the_latest_gps_fix(city: City) -> None:
    from gridcare.gps.models import LatestPosition
    from gridcare.repair.selectors import candidates

    near_home, far_home = vehicle(city), vehicle(city, None, "浙A·D0005")
    Vehicle.objects.filter(pk=far_home.pk).update(home_lat=31.5, home_lon=121.5)
    order = repair_call(city, minutes(0))
    ticket = RepairTicket.objects.get(workorder=order)
    assert candidates(user=city.dispatcher_north, ticket=ticket)[0][0].plate == near_home.plate
    # A fix from three days ago says nothing about where a vehicle is now: it is ranked from home.
    days_ago = timezone.now() - dt.timedelta(days=3)
    stale = LatestPosition.objects.create(
        device=far_home.device, lat=ticket.lat, lon=ticket.lon, fixed_at=days_ago, received_at=days_ago
    )
    assert candidates(user=city.dispatcher_north, ticket=ticket)[0][0].plate == near_home.plate
    stale.delete()
    # The far vehicle reports it is right at the fault now; the other one has driven away.
    now = timezone.now()
    for v, (lat, lon) in ((far_home, (ticket.lat, ticket.lon)), (near_home, (31.9, 121.9))):
        LatestPosition.objects.create(device=v.device, lat=lat, lon=lon, fixed_at=now, received_at=now)
    ranked = candidates(user=city.dispatcher_north, ticket=ticket)
    assert ranked[0][0].plate == far_home.plate and ranked[0][1].distance_km < 1


def test_a_cancelled_call_leaves_the_dispatch_lists_and_its_outage_is_closed(city: City) -> None:
    from gridcare.repair.models import OutageState
    from gridcare.repair.selectors import outage_for_customer

    order = repair_call(city, minutes(0))
    wo.workorder_dispatch(order=order, actor=city.shift_lead, unit=city.north, now=minutes(1))
    ticket = RepairTicket.objects.get(workorder=order)
    wo.workorder_cancel(order=order, actor=city.agent, reason="客户来电说明是自家空开跳闸，已自行恢复", now=minutes(5))
    ticket.refresh_from_db()
    assert ticket.state == "cancelled"
    assert ProbableOutage.objects.get().state == OutageState.CANCELLED
    assert Event.objects.filter(action="repair.cancel", subject_id=str(order.pk)).exists()
    assert outage_for_customer(city.north_customer) is None  # neighbours are no longer told of it
    # A real fault call later opens its own outage instead of joining the cancelled one.
    later = repair_call(city, minutes(15))
    assert RepairTicket.objects.get(workorder=later).is_main


def test_a_main_call_with_other_callers_waiting_cannot_be_cancelled_and_an_answered_call_sends_nobody(
    city: City,
) -> None:
    area = city.north_net.areas[0]
    first, second = (f.make_customer(city.north, area) for _ in range(2))
    one = repair_call(city, minutes(0), customer=first)
    repair_call(city, minutes(1), customer=second)
    main = RepairTicket.objects.get(is_main=True).workorder
    with pytest.raises(Conflict, match="其他来电"):
        wo.workorder_cancel(order=main, actor=city.agent, reason="误报", now=minutes(3))
    assert RepairTicket.objects.get(workorder=one).state != "cancelled"
    # A call answered without sending anyone (a planned outage, say) leaves no dispatch work behind.
    third = f.make_customer(city.north, city.north_net.areas[-1])
    answered = repair_call(city, minutes(5), customer=third)
    wo.workorder_reply(
        order=answered, actor=city.shift_lead, text="该区域今日计划停电检修，17:00 前恢复。", now=minutes(6)
    )
    assert RepairTicket.objects.get(workorder=answered).state == "cancelled"


def test_a_ticket_follows_its_order_to_another_repair_centre(city: City) -> None:
    from gridcare.repair.selectors import tickets_visible

    order, ticket = assigned_call(city)
    order.refresh_from_db()  # type: ignore[attr-defined]
    wo.workorder_transfer(
        order=order, actor=city.dispatcher_north, unit=city.south, reason="属城南供区", now=minutes(3)
    )
    ticket.refresh_from_db()
    assert ticket.repair_center == city.south and ticket.vehicle is None and ticket.d_at is None
    assert ticket.c_at is not None  # the first receipt stays: the time until the new centre sends counts in CD
    assert VehicleAssignment.objects.get(ticket=ticket).state == "recalled"
    assert tickets_visible(user=city.dispatcher_south).filter(pk=ticket.pk).exists()  # the new centre sees it
