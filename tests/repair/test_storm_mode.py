"""Storm mode: switched by a shift lead (service and API, audited) or by the call rate in the worker, once a minute,
with hysteresis; a lead's switch is never overruled by the count."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client

from gridcare.core.errors import Conflict, ServiceError
from gridcare.core.models import Event
from gridcare.core.worker import run_pass
from gridcare.org.services import token_create
from gridcare.repair import services as rs
from gridcare.repair.models import StormMode
from gridcare.workorders import services as wo
from tests import factories as f
from tests.conftest import City
from tests.workorders.helpers import bj, cat

T0 = bj(2026, 7, 20, 17, 0)


def minutes(m: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=m)


@pytest.fixture
def low_threshold(settings: Any) -> None:
    settings.GRIDCARE_STORM_CALLS_PER_10MIN = 3
    settings.GRIDCARE_STORM_CALLS_PER_10MIN_OFF = 2


def calls(city: City, n: int, at: dt.datetime) -> None:
    """`n` repair calls from different customers of the north network, accepted at `at`."""
    for _ in range(n):
        customer = f.make_customer(city.north, city.north_net.areas[1])
        wo.workorder_create(
            actor=city.agent, channel="phone", category=cat("repair"), customer=customer, description="停电", now=at
        )


def mode() -> StormMode:
    return StormMode.objects.get(pk=1)


def worker(at: dt.datetime) -> int:
    return run_pass(at, {"repair.storm_mode"})["repair.storm_mode"]


def test_a_shift_lead_switches_storm_mode_with_a_reason_and_it_is_audited(city: City) -> None:
    with pytest.raises(ServiceError) as missing:
        rs.storm_mode_set(on=True, reason="  ", actor=city.shift_lead, now=T0)
    assert missing.value.field == "reason" and "原因" in missing.value.message
    rs.storm_mode_set(on=True, reason="台风“烟花”登陆", actor=city.shift_lead, now=T0)
    m = mode()
    assert (m.on, m.since, m.automatic, m.switched_by, m.reason) == (True, T0, False, city.shift_lead, "台风“烟花”登陆")
    with pytest.raises(Conflict):
        rs.storm_mode_set(on=True, reason="再开一次", actor=city.shift_lead, now=minutes(1))
    rs.storm_mode_set(on=False, reason="雨停了", actor=city.shift_lead, now=minutes(90))
    events = list(Event.objects.filter(action__startswith="storm.").order_by("at").values_list("action", "actor_name"))
    assert events == [("storm.on", city.shift_lead.username), ("storm.off", city.shift_lead.username)]
    assert not mode().on and mode().since == minutes(90)


def test_the_worker_switches_on_at_the_threshold_once_a_minute_and_off_after_a_quiet_half_hour(
    city: City, low_threshold: None
) -> None:
    calls(city, 2, minutes(0))
    assert worker(minutes(1)) == 0 and not mode().on
    assert mode().calls_per_10min == 2
    calls(city, 1, minutes(1.5))
    assert worker(minutes(1.5)) == 0  # evaluated at minute 1: the next look is at minute 2, whoever runs it
    assert worker(minutes(2)) == 1
    m = mode()
    assert m.on and m.automatic and m.switched_by is None and m.since == minutes(2) and m.calls_per_10min == 3
    assert "达到暴雨模式阈值 3 个" in m.reason
    on = Event.objects.get(action="storm.on")
    assert on.actor_name == "暴雨模式自动切换" and on.actor is None
    # Two calls every ten minutes, between the off count (2) and the on count (3): it stays on …
    for at in (12, 22, 32):
        calls(city, 2, minutes(at))
    for at in (5, 20, 35, 50):
        worker(minutes(at))
        assert mode().on, at
    # … until every 10 minutes of the last half hour had fewer than 2 calls.
    assert worker(minutes(61)) == 0 and mode().on  # (31, 41] still holds the two calls of minute 32
    assert worker(minutes(62)) == 1
    assert not mode().on and mode().automatic and "少于 2 个" in mode().reason


def test_a_shift_leads_storm_mode_stays_on_however_quiet_and_off_for_half_an_hour(
    city: City, low_threshold: None
) -> None:
    rs.storm_mode_set(on=True, reason="气象台发布红色预警", actor=city.shift_lead, now=T0)
    worker(minutes(120))
    assert mode().on and not mode().automatic
    rs.storm_mode_set(on=False, reason="预警解除", actor=city.shift_lead, now=minutes(121))
    calls(city, 5, minutes(125))
    assert worker(minutes(126)) == 0 and not mode().on  # the lead decided five minutes ago
    calls(city, 3, minutes(150))
    assert worker(minutes(151)) == 1 and mode().on and mode().automatic  # 30 minutes later the count decides


def test_a_shift_lead_taking_over_automatic_storm_mode_keeps_it_on(city: City, low_threshold: None) -> None:
    calls(city, 3, T0)
    worker(minutes(1))
    rs.storm_mode_set(on=True, reason="值长确认：继续按暴雨模式", actor=city.shift_lead, now=minutes(5))
    m = mode()
    assert m.on and not m.automatic and m.since == minutes(1) and m.switched_by == city.shift_lead
    assert Event.objects.filter(action="storm.confirm").count() == 1
    worker(minutes(200))
    assert mode().on


def _api(client: Client, user: Any, body: dict[str, Any] | None = None) -> Any:
    _, raw = token_create(user=user, actor=None)
    headers = {"Authorization": f"Bearer {raw}"}
    with time_machine.travel(T0, tick=False):
        if body is None:
            return client.get("/api/v1/repair/storm", headers=headers)
        return client.post("/api/v1/repair/storm", body, content_type="application/json", headers=headers)


def test_the_api_lets_a_shift_lead_switch_and_everyone_read(city: City, client: Client) -> None:
    assert _api(client, city.agent, {"on": True, "reason": "想开"}).status_code == 403
    r = _api(client, city.shift_lead, {"on": True, "reason": ""})
    assert r.status_code == 400 and "原因" in r.json()["detail"]
    r = _api(client, city.shift_lead, {"on": True, "reason": "暴雨红色预警"})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["on"] is True and body["automatic"] is False and body["switched_by"] == "lead"
    assert body["since"].startswith("2026-07-20T17:00:00+08:00") and body["threshold"] == 60
    assert _api(client, city.shift_lead, {"on": True, "reason": "再开"}).status_code == 409
    assert _api(client, city.crew_member).json()["on"] is True


def test_thresholds_that_would_flap_stop_the_start_with_the_variable_named(settings: Any) -> None:
    from django.core.management.base import SystemCheckError

    settings.GRIDCARE_STORM_CALLS_PER_10MIN = 40
    settings.GRIDCARE_STORM_CALLS_PER_10MIN_OFF = 40
    with pytest.raises(SystemCheckError, match="GRIDCARE_STORM_CALLS_PER_10MIN_OFF=40 must be below"):
        call_command("check")
