"""Storm mode under concurrency, on PostgreSQL: many workers evaluating the call rate at once switch it once, and
simultaneous one-line calls from the IVR over real HTTP all join the one known outage."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from gridcare.core.models import Event
from gridcare.org.roles import Role
from gridcare.org.services import token_create
from gridcare.repair import services as rs
from gridcare.repair.models import ProbableOutage, RepairTicket, StormMode
from gridcare.workorders import services as wo
from gridcare.workorders.models import WorkOrder
from tests import factories as f
from tests.conftest import City
from tests.repair.test_storm_concurrency import post_json, storm_server  # noqa: F401 - the live-server fixture
from tests.workorders.helpers import bj, cat

CALLERS = 16
WORKERS = 8
T0 = bj(2026, 7, 20, 17, 0)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_workers_evaluating_at_the_same_moment_switch_storm_mode_once(city: City, settings: object) -> None:
    settings.GRIDCARE_STORM_CALLS_PER_10MIN = 3  # type: ignore[attr-defined]
    settings.GRIDCARE_STORM_CALLS_PER_10MIN_OFF = 1  # type: ignore[attr-defined]
    for _ in range(3):
        customer = f.make_customer(city.north, city.north_net.areas[1])
        wo.workorder_create(
            actor=city.agent, channel="phone", category=cat("repair"), customer=customer, description="停电", now=T0
        )
    barrier = threading.Barrier(WORKERS)
    switched: list[int] = []

    def evaluate() -> None:
        try:
            barrier.wait()
            switched.append(rs.storm_mode_evaluate(now=T0))
        finally:
            connection.close()

    threads = [threading.Thread(target=evaluate) for _ in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(switched) == [0] * (WORKERS - 1) + [1]
    assert StormMode.objects.get(pk=1).on
    assert Event.objects.filter(action="storm.on").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_one_line_calls_from_the_ivr_all_join_the_known_outage(
    city: City,
    storm_server: str,  # noqa: F811 - the fixture imported above
) -> None:
    area = city.north_net.areas[0]
    first = wo.workorder_create(
        actor=city.agent, channel="phone", category=cat("repair"), customer=city.north_customer, description="停电"
    )
    second = f.make_customer(city.north, area)
    wo.workorder_create(actor=city.agent, channel="phone", category=cat("repair"), customer=second, description="停电")
    outage = RepairTicket.objects.get(workorder=first).outage
    assert outage is not None and outage.level == "transformer_area"  # it covers the neighbours
    rs.storm_mode_set(on=True, reason="台风登陆", actor=city.shift_lead)
    callers = [f.make_customer(city.north, area, phone=f"1390000{i:04d}") for i in range(CALLERS)]
    _, token = token_create(user=f.make_user(Role.IVR, city.center, "ivr"), actor=None)
    barrier = threading.Barrier(CALLERS)
    answers: list[tuple[int, dict[str, object]]] = []

    def call(phone: str) -> None:
        barrier.wait()
        answers.append(
            post_json(f"{storm_server}/api/v1/repair/ivr/calls", token, {"phone": phone, "outage": str(outage.pk)})
        )

    threads = [threading.Thread(target=call, args=(c.contacts.get().phone,)) for c in callers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    connection.close()
    assert sorted(code for code, _ in answers) == [200] * CALLERS, [a for a in answers if a[0] != 200][:3]
    assert all(body["joined"] is True for _, body in answers)
    live = ProbableOutage.objects.exclude(state__in=["merged", "cancelled"])
    assert list(live.values_list("pk", flat=True)) == [outage.pk]
    assert live.get().call_count == CALLERS + 2
    assert WorkOrder.objects.filter(channel="ivr", main=first).count() == CALLERS
