"""Worker queues: a long analytics job yields between batches, so the four-minute repair alert still fires on time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from gridcare.core import worker
from gridcare.core.models import Event
from gridcare.repair.models import RepairTicket
from gridcare.workorders import services as wo
from tests.conftest import City
from tests.workorders.helpers import bj, cat

pytestmark = pytest.mark.django_db

T0 = bj(2026, 11, 2, 20, 0)
SLOW = "analytics.fake_tag_run"


class FakeClock:
    """The loop's clock; the slow job moves it on as a real tag run would take time, so nothing sleeps."""

    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def slow_job(clock: FakeClock) -> Iterator[list[dt.datetime]]:
    """Ten minutes of analytics in 30 batches of 20 seconds each; records when each batch started."""
    batches: list[dt.datetime] = []

    def fake_tag_run(now: dt.datetime) -> int:
        if len(batches) == 30:
            return 0
        batches.append(now)
        clock.at += dt.timedelta(seconds=20)
        return 1

    worker.job(SLOW, queue="analytics", budget=30.0, max_rounds=1000)(fake_tag_run)
    yield batches
    worker.JOBS.pop(SLOW, None)


def order_sent_to_repair_centre(city: City, at: dt.datetime) -> RepairTicket:
    order = wo.workorder_create(
        actor=city.agent,
        channel="phone",
        category=cat("repair"),
        customer=city.north_customer,
        description="停电",
        now=at,
    )
    wo.workorder_dispatch(order=order, actor=city.shift_lead, unit=city.north, now=at)  # B: the 4 minutes start
    return RepairTicket.objects.get(workorder=order)


def test_four_minute_acceptance_alert_fires_on_time_while_a_long_analytics_job_runs(
    city: City, clock: FakeClock, slow_job: list[dt.datetime]
) -> None:
    ticket = order_sent_to_repair_centre(city, T0)
    due = ticket.next_check_at
    assert due == T0 + dt.timedelta(minutes=4)
    clock.at = T0 + dt.timedelta(seconds=30)

    handled = worker.run_pass(only={"repair.acceptance", SLOW}, clock=clock, interval=5.0)

    assert handled[SLOW] == 30 and clock.at == T0 + dt.timedelta(seconds=30 + 30 * 20)  # it ran its ten minutes
    alert = Event.objects.filter(action="repair.not_accepted", subject_id=str(ticket.workorder_id)).order_by("id")[0]
    # Fired within 30 s of falling due, in the middle of the analytics run rather than after it.
    assert due <= alert.at <= due + dt.timedelta(seconds=30)
    assert alert.at < slow_job[-1]
    assert alert.new["phone"] == city.north.duty_phone


def test_a_worker_runs_only_its_queues(city: City, clock: FakeClock, slow_job: list[dt.datetime]) -> None:
    ticket = order_sent_to_repair_centre(city, T0)
    clock.at = T0 + dt.timedelta(minutes=5)
    handled = worker.run_pass(queues={"alerts", "deadlines"}, clock=clock)
    assert SLOW not in handled and handled["repair.acceptance"] == 1 and slow_job == []
    assert worker.run_pass(queues={"analytics"}, clock=clock)[SLOW] == 30
    assert "repair.acceptance" not in worker.run_pass(queues={"analytics"}, clock=clock)
    assert Event.objects.filter(action="repair.not_accepted", subject_id=str(ticket.workorder_id)).count() == 1


def test_every_registered_job_declares_a_known_queue() -> None:
    jobs = worker.discover()
    assert {name: jobs[name].queue for name in ("repair.acceptance", "workorders.deadlines", "notices.deliver")} == {
        "repair.acceptance": "alerts",
        "workorders.deadlines": "deadlines",
        "notices.deliver": "delivery",
    }
    assert jobs["tags.scheduled_run"].queue == "analytics" and jobs["dsm.load_limits"].queue == "analytics"
    assert all(j.queue in worker.QUEUES and j.budget > 0 for j in jobs.values())


def test_the_command_refuses_an_unknown_queue_and_lists_the_queues() -> None:
    with pytest.raises(CommandError, match=r"unknown queue.*analytix"):
        call_command("worker", "--queue", "alerts,analytix", "--once")
    out = StringIO()
    call_command("worker", "--list", stdout=out)
    assert "repair.acceptance  queue=alerts" in out.getvalue()
    with pytest.raises(ValueError, match="unknown queue"):
        worker.job("x.y", queue="fast")


def test_the_command_runs_one_pass_of_the_chosen_queues(city: City) -> None:
    order_sent_to_repair_centre(city, bj(2026, 11, 2, 8))  # long overdue by the time the test runs
    out = StringIO()
    call_command("worker", "--queue", "alerts", "--once", stdout=out)
    assert "repair.acceptance=1" in out.getvalue()
