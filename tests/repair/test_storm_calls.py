"""Known-outage callers first in storm mode: the agent's customer panel offers a one-line call that joins the known
outage, and the IVR looks the caller up (the sentence to speak, with the ETR) and records the call the same way."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from gridcare.core.errors import Conflict, ServiceError
from gridcare.core.models import Event
from gridcare.org.models import User
from gridcare.org.roles import Role
from gridcare.org.services import token_create
from gridcare.repair import services as rs
from gridcare.repair.models import OutageState, ProbableOutage, RepairTicket, TicketState
from gridcare.workorders import services as wo
from gridcare.workorders.models import WorkOrder
from tests import factories as f
from tests.conftest import City, login
from tests.workorders.helpers import cat


def now() -> dt.datetime:
    return timezone.now()


def first_call(city: City) -> ProbableOutage:
    """Two customers of one 台区 call: a 台区 outage, which covers their neighbours."""
    order = wo.workorder_create(
        actor=city.agent,
        channel="phone",
        category=cat("repair"),
        customer=city.north_customer,
        description="整栋楼停电",
    )
    wo.workorder_create(
        actor=city.agent,
        channel="phone",
        category=cat("repair"),
        customer=f.make_customer(city.north, city.north_net.areas[0]),
        description="我家也停电了",
    )
    outage = RepairTicket.objects.select_related("outage").get(workorder=order).outage
    assert outage is not None and outage.level == "transformer_area"
    return outage


def neighbour(city: City, phone: str = "13900002222") -> Any:
    return f.make_customer(city.north, city.north_net.areas[0], phone=phone, name="李四")


def storm(city: City) -> None:
    rs.storm_mode_set(on=True, reason="台风登陆", actor=city.shift_lead)


def ivr_user(city: City) -> User:
    return f.make_user(Role.IVR, city.center, "ivr")


def api(client: Client, user: User, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    _, raw = token_create(user=user, actor=None)
    headers = {"Authorization": f"Bearer {raw}"}
    if method == "GET":
        return client.get(path, headers=headers)
    return client.post(path, body or {}, content_type="application/json", headers=headers)


def test_in_storm_mode_the_agents_panel_shows_the_known_outage_first_with_a_one_line_call(
    city: City, client: Client
) -> None:
    outage = first_call(city)
    rs.etr_refresh_due(now=now())
    caller = neighbour(city)
    login(client, city.agent)
    calm = client.get(f"/workorders/panel/{caller.account_no}/").content.decode()
    assert 'data-testid="quick-call"' not in calm and 'data-testid="known-outage"' in calm
    storm(city)
    html = client.get(f"/workorders/panel/{caller.account_no}/").content.decode()
    assert html.index('data-testid="storm-known-outage"') < html.index("在途工单")
    assert 'data-testid="quick-call"' in html and f'name="outage" value="{outage.pk}"' in html
    assert "80% 在" in html and "依据供电服务承诺时限估计" in html
    # Whoever may not take calls sees the outage, not the button.
    login(client, city.quality)
    assert 'data-testid="quick-call"' not in client.get(f"/workorders/panel/{caller.account_no}/").content.decode()


def test_a_one_line_call_from_the_panel_joins_the_known_outage_in_one_step(city: City, client: Client) -> None:
    outage = first_call(city)
    storm(city)
    caller = neighbour(city)
    login(client, city.agent)
    r = client.post(
        "/repair/storm/call/",
        {"account_no": caller.account_no, "outage": outage.pk, "phone": "13900002222", "note": "楼道也没电"},
        follow=True,
    )
    assert r.status_code == 200
    order = WorkOrder.objects.get(customer=caller)
    assert f"已登记一键报修 {order.number}，并入故障 {outage.pk}" in r.content.decode()
    ticket = RepairTicket.objects.get(workorder=order)
    assert ticket.outage_id == outage.pk and ticket.state == TicketState.CHILD and not ticket.is_main
    assert order.caller_phone == "13900002222" and order.channel == "phone" and "楼道也没电" in order.description
    outage.refresh_from_db()
    assert outage.call_count == 3
    event = Event.objects.get(action="repair.quick_call")
    assert event.new["joined"] is True and event.new["told_outage"] == outage.pk and event.note == "楼道也没电"


@pytest.mark.parametrize(
    ("phone", "storm_on", "expected"),
    [("", True, "请填写来电号码"), ("abc", True, "请填写来电号码"), ("13900002222", False, "暴雨模式未开启")],
)
def test_a_one_line_call_that_cannot_be_taken_says_why_and_writes_nothing(
    city: City, client: Client, phone: str, storm_on: bool, expected: str
) -> None:
    outage = first_call(city)
    if storm_on:
        storm(city)
    caller = neighbour(city)
    login(client, city.agent)
    r = client.post(
        "/repair/storm/call/", {"account_no": caller.account_no, "outage": outage.pk, "phone": phone}, follow=True
    )
    assert r.status_code == 200 and expected in r.content.decode()
    assert not WorkOrder.objects.filter(customer=caller).exists()


def test_a_caller_outside_any_known_outage_is_sent_to_the_full_form(city: City) -> None:
    first_call(city)
    storm(city)
    far = f.make_customer(city.south, city.south_net.areas[0])
    with pytest.raises(Conflict, match="没有已知故障"):
        rs.storm_call_record(customer=far, phone="13900003333", actor=city.agent)
    with pytest.raises(ServiceError, match="备注不能超过"):
        rs.storm_call_record(customer=neighbour(city), phone="13900003333", note="长" * 201, actor=city.agent)


def test_the_ivr_looks_up_the_caller_by_number_and_hears_the_etr(city: City, client: Client) -> None:
    outage = first_call(city)
    rs.etr_refresh_due(now=now())
    caller = neighbour(city)
    ivr = ivr_user(city)
    body = api(client, ivr, "GET", "/api/v1/repair/ivr/lookup?phone=139-0000-2222").json()
    assert body["found"] and body["account_no"] == caller.account_no and body["known"]
    assert body["storm_mode"] is False and body["one_line_call"] is False and body["outage"] is None
    assert body["say"].startswith("您好，您所在区域的停电我们已经知道，我们正在安排抢修。预计 ")
    assert "按 1" not in body["say"]
    storm(city)
    body = api(client, ivr, "GET", f"/api/v1/repair/ivr/lookup?account_no={caller.account_no}").json()
    assert body["one_line_call"] is True and body["outage"] == outage.pk
    assert body["outages"][0]["outage_id"] == outage.pk and "80% 在" in body["outages"][0]["etr_text"]
    assert body["say"].endswith("如需登记您的报修，请按 1；其他问题请转人工服务。")


def test_the_ivr_records_a_one_line_call_with_its_own_channel(city: City, client: Client) -> None:
    outage = first_call(city)
    storm(city)
    caller = neighbour(city)
    r = api(client, ivr_user(city), "POST", "/api/v1/repair/ivr/calls", {"phone": "13900002222", "outage": outage.pk})
    assert r.status_code == 200, r.content
    body = r.json()
    order = WorkOrder.objects.get(number=body["number"])
    assert order.customer == caller and order.channel == "ivr" and body["joined"] is True
    assert body["outage"] == outage.pk and body["say"].startswith(f"已为您登记报修，工单号 {order.number}。")


def test_the_ivr_is_told_when_the_caller_is_not_one_known_customer_or_the_outage_is_over(
    city: City, client: Client
) -> None:
    outage = first_call(city)
    storm(city)
    ivr = ivr_user(city)
    body = api(client, ivr, "GET", "/api/v1/repair/ivr/lookup?phone=13700000000").json()
    assert not body["found"] and body["say"].startswith("没有查到与您号码对应的用电户号")
    neighbour(city, phone="13600001111")
    neighbour(city, phone="13600001111")
    body = api(client, ivr, "GET", "/api/v1/repair/ivr/lookup?phone=13600001111").json()
    assert body["matches"] == 2 and "请输入您的户号" in body["say"]
    r = api(client, ivr, "POST", "/api/v1/repair/ivr/calls", {"phone": "13600001111"})
    assert r.status_code == 400 and "account_no" in r.json()["detail"]
    assert api(client, ivr, "GET", "/api/v1/repair/ivr/lookup").status_code == 400
    caller = neighbour(city)
    ProbableOutage.objects.filter(pk=outage.pk).update(state=OutageState.RESTORED)
    r = api(client, ivr, "POST", "/api/v1/repair/ivr/calls", {"phone": "13900002222", "outage": outage.pk})
    assert r.status_code == 409 and "请重新查询" in r.json()["detail"]
    assert not WorkOrder.objects.filter(customer=caller).exists()


def test_the_ivr_account_can_do_nothing_else(city: City, client: Client) -> None:
    ivr = ivr_user(city)
    r = api(
        client,
        ivr,
        "POST",
        "/api/v1/workorders",
        {"category": "consult", "account_no": city.north_customer.account_no, "description": "x"},
    )
    assert r.status_code == 403
    assert api(client, ivr, "POST", "/api/v1/repair/storm", {"on": True, "reason": "x"}).status_code == 403
    assert api(client, city.crew_member, "GET", "/api/v1/repair/ivr/lookup?phone=13812345678").status_code == 403


def test_the_storm_board_is_for_leads_and_dispatchers_and_escapes_what_people_typed(city: City, client: Client) -> None:
    area = city.north_net.areas[0]
    area.name = "<img src=x onerror=alert(1)>台区"
    area.save()
    first_call(city)
    storm(city)
    assert login(client, city.agent).get("/repair/storm/").status_code == 403
    html = login(client, city.shift_lead).get("/repair/storm/").content.decode()
    assert "&lt;img src=x onerror=alert(1)&gt;台区" in html and "<img src=x" not in html
    assert 'data-testid="storm-switch"' in html
    fragment = login(client, city.dispatcher_north).get("/repair/storm/board/").content.decode()
    assert 'data-testid="storm-outages"' in fragment and 'data-testid="storm-switch"' not in fragment
    assert api(client, city.agent, "GET", "/api/v1/repair/storm/board").status_code == 403
    board = api(client, city.shift_lead, "GET", "/api/v1/repair/storm/board").json()
    assert board["live"] == 1 and board["storm"]["on"] is True and board["outages"][0]["where"].startswith("<img")


def test_lookup_and_one_line_call_use_the_same_clock_as_the_order(city: City, client: Client) -> None:
    """The one-line call is an ordinary repair order: A is when it was taken, the repair clocks run from there."""
    first_call(city)
    storm(city)
    caller = neighbour(city)
    at = timezone.now().replace(microsecond=0)
    with time_machine.travel(at, tick=False):
        order, ticket, _told = rs.storm_call_record(customer=caller, phone="13900002222", actor=city.agent)
    assert ticket.a_at == order.accepted_at == at
