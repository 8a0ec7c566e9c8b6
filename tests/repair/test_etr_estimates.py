"""ETRs estimated from history in the worker: set when an outage opens, moved with a reason when it is assigned, the
crew arrives, the level changes or the estimate passes; a dispatcher's own ETR wins; callers hear the interval."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine

from gridcare.core.errors import ServiceError
from gridcare.core.models import Event
from gridcare.core.worker import run_pass
from gridcare.notices.models import Outage
from gridcare.repair import services as rs
from gridcare.repair import storm_selectors
from gridcare.repair.models import EtrSource, OutageEtr, OutageLevel, OutageState, ProbableOutage, RepairTicket, Vehicle
from gridcare.workorders import services as wo
from gridcare.workorders.models import WorkOrder
from gridcare.workorders.selectors import known_outages
from tests import factories as f
from tests.conftest import City
from tests.workorders.helpers import bj, cat

T0 = bj(2026, 11, 3, 21, 0)  # an evening


def minutes(m: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=m)


@pytest.fixture(autouse=True)
def no_cached_history() -> Iterator[None]:
    storm_selectors.forget_history()  # each test writes its own history
    yield
    storm_selectors.forget_history()


def call(city: City, at: dt.datetime, customer: Any = None) -> WorkOrder:
    return wo.workorder_create(
        actor=city.agent,
        channel="phone",
        category=cat("repair"),
        customer=customer or city.north_customer,
        description="家里停电",
        now=at,
    )


def estimate(at: dt.datetime) -> int:
    return run_pass(at, {"repair.etr"})["repair.etr"]


def outage_of(order: WorkOrder) -> ProbableOutage:
    return RepairTicket.objects.select_related("outage").get(workorder=order).outage  # type: ignore[return-value]


def reasons(outage: ProbableOutage) -> list[str]:
    return list(
        Event.objects.filter(action="outage.etr_estimate", subject_id=str(outage.pk))
        .order_by("at")
        .values_list("note", flat=True)
    )


def history(count: int, *, level: str = OutageLevel.SERVICE_POINT, first: dt.datetime, took: range) -> None:
    """`count` restored outages of the past, first called at `first`'s time of day, lasting `took` minutes."""
    lasting = list(took)
    for i in range(count):
        start = first - dt.timedelta(days=i + 1)
        ProbableOutage.objects.create(
            level=level,
            state=OutageState.RESTORED,
            first_call_at=start,
            last_call_at=start,
            restored_at=start + dt.timedelta(minutes=lasting[i % len(lasting)]),
        )


def test_a_new_outage_gets_an_estimate_from_the_published_targets_when_there_is_no_history(city: City) -> None:
    order = call(city, T0)
    outage = outage_of(order)
    assert outage.etr is None
    assert estimate(minutes(1)) == 1
    outage.refresh_from_db()
    detail = OutageEtr.objects.get(outage=outage)
    # City: on site within 45 minutes, power back within 180 after that: median 225 minutes, p10/p90 ÷/× 2.
    assert (outage.etr, detail.low, detail.high) == (minutes(225), minutes(110), minutes(450))
    assert (detail.source, detail.samples, detail.phase, detail.kind) == ("estimate", 0, "open", "service_point")
    assert detail.basis == "供电服务承诺时限（无足够历史）" and outage.etr_updated_at == minutes(1)
    assert reasons(outage) == ["新的故障研判：按历史同类故障估计"]
    assert estimate(minutes(2)) == 0 and len(reasons(outage)) == 1  # nothing changed: not estimated again
    # The caller calling again is told the time with its interval (intake's known outages, the agent's panel).
    with time_machine.travel(minutes(2), tick=False):
        told = known_outages(city.north_customer)[0]
    assert (
        told["etr_text"]
        == "预计 明天 00:45 恢复（80% 在 22:50–明天 04:30 之间，尚无足够的同类故障记录，依据供电服务承诺时限估计）"
    )


def test_with_history_the_estimate_rests_on_the_outages_like_this_one_in_one_query(
    city: City, django_assert_num_queries: Any
) -> None:
    history(12, first=T0, took=range(60, 180, 10))  # evenings: 60, 70, … 170 minutes
    history(12, first=T0.replace(hour=9), took=range(400, 401))  # mornings took far longer
    with django_assert_num_queries(1):
        samples = storm_selectors.history_samples(minutes(1))
    assert len(samples) == 24
    order = call(city, T0)
    estimate(minutes(1))
    outage = outage_of(order)
    detail = OutageEtr.objects.get(outage=outage)
    # No crews recorded for the past outages, so the cell with the idle crews is empty; the evening cell holds 12.
    assert (detail.samples, detail.basis) == (12, "单户故障 · 城市 · 傍晚")
    assert outage.etr == minutes(115)  # median of 60 … 170 is 115
    with time_machine.travel(minutes(2), tick=False):
        told = known_outages(city.north_customer)[0]
    assert told["etr_text"] == "预计 22:55 恢复（80% 在 22:10–23:40 之间，依据 12 次同类故障）"


def vehicle(city: City) -> Vehicle:
    return Vehicle.objects.create(
        plate="浙A·E0001", crew=city.crew_north, device=f.make_device("etr-1"), home_lat=30.2, home_lon=120.1
    )


def test_the_estimate_moves_with_its_reason_when_assigned_and_when_the_crew_arrives(city: City) -> None:
    order = call(city, T0)
    estimate(minutes(1))
    outage = outage_of(order)
    rs.outage_publish(outage=outage, cause="线路故障", actor=city.dispatcher_north, now=minutes(2))
    wo.workorder_dispatch(order=order, actor=city.shift_lead, unit=city.north, now=minutes(3))
    ticket = RepairTicket.objects.get(workorder=order)
    a = rs.repair_assign(ticket=ticket, vehicle=vehicle(city), actor=city.dispatcher_north, now=minutes(5))
    assert estimate(minutes(6)) == 1
    rs.repair_accept(assignment=a, actor=city.crew_member, now=minutes(7))
    rs.repair_depart(ticket=ticket, actor=city.crew_member, now=minutes(8))
    rs.repair_arrive(ticket=ticket, actor=city.crew_member, now=minutes(40))
    assert estimate(minutes(41)) == 1
    outage.refresh_from_db()
    assert reasons(outage) == [
        "新的故障研判：按历史同类故障估计",
        "已派抢修车辆，按已停电时长重新估计",
        "抢修人员已到达现场，按到达后的修复时长重新估计",
    ]
    # On site the estimate runs from the arrival: the city's 180 minutes after it, earlier than before.
    assert outage.etr == minutes(220) and outage.etr_reason.startswith("抢修人员已到达现场")
    assert Outage.objects.get(pk=outage.notice_outage_id).etr == minutes(220)  # the published outage follows


def test_a_second_caller_raising_the_level_re_estimates(city: City) -> None:
    order = call(city, T0)
    estimate(minutes(1))
    call(city, minutes(3), customer=f.make_customer(city.north, city.north_net.areas[0]))
    outage = outage_of(order)
    assert outage.level == OutageLevel.TRANSFORMER_AREA
    assert estimate(minutes(4)) == 1
    assert reasons(outage)[-1] == "研判由「单户故障」变为「台区故障」，重新估计"
    assert OutageEtr.objects.get(outage=outage).kind == "transformer_area"


def test_an_estimate_that_passed_without_power_back_is_moved_on(city: City) -> None:
    order = call(city, T0)
    estimate(minutes(1))
    outage = outage_of(order)
    assert estimate(minutes(224)) == 0
    assert estimate(minutes(226)) == 1
    outage.refresh_from_db()
    assert outage.etr is not None and outage.etr > minutes(226)
    assert reasons(outage)[-1] == "已超过预计恢复时间仍未复电，按已停电时长重新估计"


def test_a_dispatchers_etr_wins_over_the_estimate_in_either_direction(city: City) -> None:
    order = call(city, T0)
    estimate(minutes(1))
    outage = outage_of(order)
    # Earlier than the estimate (225 minutes): allowed, because it replaces a statistic, with a reason.
    rs.outage_set_etr(
        outage=outage, etr=minutes(90), reason="现场确认为熔断器熔断", actor=city.dispatcher_north, now=minutes(20)
    )
    detail = OutageEtr.objects.get(outage=outage)
    assert detail.source == EtrSource.MANUAL and detail.low is None and detail.kind == "service_point"
    # From then on estimates leave it alone, whatever happens …
    call(city, minutes(25), customer=f.make_customer(city.north, city.north_net.areas[0]))
    assert estimate(minutes(26)) == 0 and estimate(minutes(200)) == 0
    outage.refresh_from_db()
    assert outage.etr == minutes(90)
    with time_machine.travel(minutes(30), tick=False):
        told = known_outages(city.north_customer)[0]
    assert told["etr_text"] == "预计 22:30 恢复（抢修指挥人员评估）"
    # … and a person's own time moves only later, as before.
    with pytest.raises(ServiceError, match="只能推后"):
        rs.outage_set_etr(outage=outage, etr=minutes(80), reason="更快", actor=city.dispatcher_north, now=minutes(30))


def test_an_etr_given_before_estimates_existed_is_left_alone(city: City) -> None:
    order = call(city, T0)
    outage = outage_of(order)
    ProbableOutage.objects.filter(pk=outage.pk).update(etr=minutes(300))  # as data from before this version
    assert estimate(minutes(1)) == 0
    assert not OutageEtr.objects.filter(outage=outage).exists()


def test_restored_and_cancelled_outages_are_not_estimated(city: City) -> None:
    order = call(city, T0)
    outage = outage_of(order)
    ProbableOutage.objects.filter(pk=outage.pk).update(state=OutageState.RESTORED, restored_at=minutes(30))
    assert estimate(minutes(31)) == 0
    assert rs.outage_etr_estimate(outage=outage, now=minutes(31)) is None
