"""The repair order's own clocks: 到达现场 stops at H, 恢复送电 at restoration, for every caller of the fault;
answered or cancelled calls stop theirs; and nothing is supervised as overdue afterwards (issue #13, defect 1)."""

from __future__ import annotations

import datetime as dt

from gridcare.repair import services as rs
from gridcare.repair.models import RepairTicket
from gridcare.workorders import services as wo
from gridcare.workorders.models import Deadline, WorkOrder
from gridcare.workorders.supervision import handle_due_deadlines
from tests import factories as f
from tests.conftest import City
from tests.repair.test_flow import minutes, repair_call, vehicle


def clock(order: WorkOrder, milestone: str) -> Deadline:
    return Deadline.objects.get(order=order, milestone=milestone)


def restore(ticket: RepairTicket, city: City, at: float) -> None:
    rs.repair_fault_record(ticket=ticket, actor=city.crew_member, fault_class="低压线路", cause_class="外力破坏")
    rs.repair_done(ticket=ticket, actor=city.crew_member, now=minutes(at - 5))
    rs.repair_restore(ticket=ticket, actor=city.crew_member, now=minutes(at))


def test_arrival_and_restoration_stop_the_clocks_of_every_caller_and_nothing_is_supervised_after(city: City) -> None:
    area = city.north_net.areas[0]
    callers = [f.make_customer(city.north, area) for _ in range(3)]
    orders = [repair_call(city, minutes(i), customer=c) for i, c in enumerate(callers)]
    main = RepairTicket.objects.select_related("workorder").get(workorder__in=orders, is_main=True)
    for order in orders:
        assert clock(order, "arrive").state == "pending" and clock(order, "restore").state == "pending"
    wo.workorder_dispatch(order=main.workorder, actor=city.shift_lead, unit=city.north, now=minutes(4))
    a = rs.repair_assign(ticket=main, vehicle=vehicle(city), actor=city.dispatcher_north, now=minutes(5))
    rs.repair_accept(assignment=a, actor=city.crew_member, now=minutes(6))
    rs.repair_depart(ticket=main, actor=city.crew_member, now=minutes(7))
    rs.repair_arrive(ticket=main, actor=city.crew_member, now=minutes(20))
    for order in orders:  # the crew that reached the fault reached every caller of it
        arrive = clock(order, "arrive")
        assert arrive.state == "met" and arrive.met_at == minutes(20), order.number
        assert clock(order, "restore").state == "pending"
    # A caller who rings after the crew is there joins the fault with its arrival already reached.
    late = repair_call(city, minutes(25), customer=f.make_customer(city.north, area))
    assert WorkOrder.objects.get(pk=late.pk).main_id == main.workorder_id
    assert clock(late, "arrive").state == "met"
    restore(main, city, at=90)
    for order in [*orders, late]:
        assert clock(order, "restore").state == "met" and clock(order, "restore").met_at == minutes(90)
        assert not Deadline.objects.filter(order=order, met_at__isnull=True).exclude(state="cancelled").exists()
    # Hours later the supervision pass finds nothing to chase on these orders.
    handle_due_deadlines(minutes(60 * 24 * 3))
    for order in [*orders, late]:
        order.refresh_from_db()
        assert not order.is_supervised and not order.is_overdue, order.number


def test_a_call_answered_without_a_repair_or_cancelled_stops_its_crew_clocks(city: City) -> None:
    answered = repair_call(city, minutes(0))
    wo.workorder_reply(order=answered, actor=city.agent, text="计划停电，已告知恢复时间", now=minutes(2))
    assert {d.milestone: d.state for d in Deadline.objects.filter(order=answered)}.get("arrive") == "cancelled"
    assert clock(answered, "restore").state == "cancelled"
    other = f.make_customer(city.north, city.north_net.areas[-1])
    cancelled = repair_call(city, minutes(3), customer=other)
    wo.workorder_cancel(order=cancelled, actor=city.agent, reason="客户来电撤销", now=minutes(4))
    assert clock(cancelled, "arrive").state == "cancelled" and clock(cancelled, "restore").state == "cancelled"
    handle_due_deadlines(minutes(60 * 24))
    for order in (answered, cancelled):
        order.refresh_from_db()
        assert not order.is_supervised and not order.is_overdue


def test_restoration_met_in_time_is_not_overdue_even_when_checked_later(city: City) -> None:
    order = repair_call(city, minutes(0))
    ticket = RepairTicket.objects.get(workorder=order)
    wo.workorder_dispatch(order=order, actor=city.shift_lead, unit=city.north, now=minutes(2))
    a = rs.repair_assign(ticket=ticket, vehicle=vehicle(city), actor=city.dispatcher_north, now=minutes(3))
    rs.repair_accept(assignment=a, actor=city.crew_member, now=minutes(4))
    rs.repair_depart(ticket=ticket, actor=city.crew_member, now=minutes(5))
    rs.repair_arrive(ticket=ticket, actor=city.crew_member, now=minutes(35))
    restore(ticket, city, at=120)
    arrive, restored = clock(order, "arrive"), clock(order, "restore")
    assert arrive.met_at is not None and arrive.met_at <= arrive.due_at
    assert restored.met_at is not None and restored.met_at - minutes(0) == dt.timedelta(minutes=120)
