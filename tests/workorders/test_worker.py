"""The deadline worker: warns, supervises and escalates exactly once, even with two workers."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from gridcare.core.models import Event
from gridcare.core.worker import run_pass
from gridcare.workorders.models import Deadline, WorkOrder
from gridcare.workorders.supervision import handle_due_deadlines
from tests.conftest import City
from tests.workorders.helpers import bj, complaint


def actions_for(order: WorkOrder) -> list[str]:
    return list(
        Event.objects.filter(
            subject_type="workorders.workorder",
            subject_id=str(order.pk),
            action__in=["workorder.deadline_warn", "workorder.supervise", "workorder.escalate"],
        )
        .order_by("id")
        .values_list("action", flat=True)
    )


def test_overdue_contact_is_supervised_and_escalated_through_duty_phone_then_managers(city: City) -> None:
    order = complaint(city, bj(2026, 11, 2, 9))
    handle_due_deadlines(bj(2026, 11, 2, 12))  # nothing yet
    assert actions_for(order) == []
    handle_due_deadlines(bj(2026, 11, 3, 4))  # 75 % of the working day allowed has passed: warn
    assert actions_for(order) == ["workorder.deadline_warn"]
    handle_due_deadlines(bj(2026, 11, 3, 9))  # contact deadline
    order.refresh_from_db()
    assert order.is_overdue and order.is_supervised
    supervise = Event.objects.get(subject_id=str(order.pk), action="workorder.supervise")
    assert supervise.new["phone"] == city.marketing.duty_phone and supervise.new["milestone"] == "contact"
    handle_due_deadlines(bj(2026, 11, 3, 11, 0))  # complaint policy: every 2 hours up the chain
    escalations = list(Event.objects.filter(subject_id=str(order.pk), action="workorder.escalate").order_by("id"))
    managers = list(city.marketing.managers.order_by("rank"))
    assert [e.new["phone"] for e in escalations] == [managers[0].phone]


def test_running_the_same_pass_twice_acts_once(city: City) -> None:
    order = complaint(city, bj(2026, 11, 2, 9))
    assert handle_due_deadlines(bj(2026, 11, 3, 9, 30)) >= 1
    before = actions_for(order)
    assert handle_due_deadlines(bj(2026, 11, 3, 9, 30)) == 0
    assert actions_for(order) == before


def test_worker_stopped_for_two_days_catches_up_once(city: City) -> None:
    order = complaint(city, bj(2026, 11, 2, 9))
    run_pass(bj(2026, 11, 5, 9), only={"workorders.deadlines"})
    acts = actions_for(order)
    # Two days late: no warning any more (its moment has passed), the contact deadline supervised once (reply is
    # not due yet), then each manager of the chain called once, in order.
    managers = city.marketing.managers.count()
    assert managers >= 2
    assert acts == ["workorder.supervise"] + ["workorder.escalate"] * managers
    run_pass(bj(2026, 11, 5, 9), only={"workorders.deadlines"})
    assert actions_for(order) == acts


def test_met_and_paused_deadlines_are_never_read(city: City) -> None:
    order = complaint(city, bj(2026, 11, 2, 9))
    from gridcare.workorders import services as svc

    svc.workorder_take(order=order, actor=city.handler, now=bj(2026, 11, 2, 9, 30))
    svc.workorder_contact(order=order, actor=city.handler, now=bj(2026, 11, 2, 9, 40))
    svc.workorder_suspend(order=order, actor=city.handler, reason="客户要求暂缓", now=bj(2026, 11, 2, 10))
    assert not Deadline.objects.filter(order=order, next_check_at__isnull=False).exists()
    assert handle_due_deadlines(bj(2026, 12, 31, 9)) == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_act_exactly_once(city: City) -> None:
    orders = [complaint(city, bj(2026, 11, 2, 9)) for _ in range(30)]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            barrier.wait()
            while handle_due_deadlines(bj(2026, 11, 3, 9, 30), batch=7):
                pass
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for order in orders:
        assert actions_for(order).count("workorder.supervise") == 1
