"""Switching (倒闸操作): the service refuses no-ops and 合环, records operation and audit event together, and the
next topology — what outage prediction walks — follows it. Through the API and the feeder page as well."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from gridcare.core.errors import Conflict, ServiceError
from gridcare.core.models import Event
from gridcare.grid import topology
from gridcare.grid.models import GridDevice, SwitchingOperation
from gridcare.grid.services import device_switch
from gridcare.org.services import token_create
from tests.conftest import City
from tests.grid.helpers import TwoFeeders, two_feeders

AT = dt.datetime(2026, 7, 14, 3, 20, tzinfo=dt.UTC)


@pytest.fixture
def net(city: City) -> TwoFeeders:
    return two_feeders(city)


def test_opening_a_sectionaliser_and_closing_the_tie_moves_the_areas_beyond_it_to_the_other_feeder(
    city: City, net: TwoFeeders
) -> None:
    normal = topology.now()
    assert normal.feeder_of_area(net.a_beyond.code) == net.a.code
    assert normal.feeder_of_area(net.b_area.code) == net.b.code

    opened = device_switch(device=net.device("A-S1"), opened=True, actor=city.dispatcher_north, at=AT, note="故障隔离")
    dark = topology.now()
    assert dark.version != normal.version
    assert dark.feeder_of_area(net.a_beyond.code) is None  # isolated: de-energised until the tie closes

    closed = device_switch(
        device=net.device("A-T"), opened=False, actor=city.dispatcher_north, at=AT + dt.timedelta(minutes=5)
    )
    switched = topology.now()
    assert switched.feeder_of_area(net.a_beyond.code) == net.b.code
    assert switched.network.upstream("A-S2") == ["A-S2", "A-T", "B-S1", "B-CB"]
    assert switched.feeder_of_area(net.b_area.code) == net.b.code

    assert [(o.device.code, o.opened, o.operator) for o in (opened, closed)] == [
        ("A-S1", True, city.dispatcher_north.get_full_name() or city.dispatcher_north.username),
        ("A-T", False, city.dispatcher_north.get_full_name() or city.dispatcher_north.username),
    ]
    assert opened.at == AT and opened.note == "故障隔离"
    events = Event.objects.filter(action="griddevice.switch").order_by("id")
    assert [(e.subject_label.split()[-1], e.old, e.new["is_open"]) for e in events] == [
        ("A线1号分段开关", {"is_open": False}, True),
        ("A-B线联络开关", {"is_open": True}, False),
    ]
    assert events[0].actor == city.dispatcher_north and events[0].at == AT


def test_closing_the_tie_while_both_feeders_are_fed_is_refused_as_parallel(city: City, net: TwoFeeders) -> None:
    with pytest.raises(Conflict) as refused:
        device_switch(device=net.device("A-T"), opened=False, actor=city.dispatcher_north)
    message = refused.value.message
    assert "A-T" in message and "并列运行（合环）" in message and net.a.code in message and net.b.code in message
    assert GridDevice.objects.get(code="A-T").is_open
    assert not SwitchingOperation.objects.exists() and not Event.objects.filter(action="griddevice.switch").exists()


def test_a_no_op_and_an_operation_dated_before_the_last_one_are_refused(city: City, net: TwoFeeders) -> None:
    with pytest.raises(Conflict, match="已经是断开状态"):
        device_switch(device=net.device("A-T"), opened=True, actor=city.dispatcher_north)
    device_switch(device=net.device("A-S1"), opened=True, actor=city.dispatcher_north, at=AT)
    with pytest.raises(ServiceError, match="早于该设备上一次倒闸操作"):
        device_switch(device=net.device("A-S1"), opened=False, actor=city.dispatcher_north, at=AT - dt.timedelta(1))
    with pytest.raises(ServiceError, match="最多 200 个字"):
        device_switch(device=net.device("A-S1"), opened=False, actor=city.dispatcher_north, note="长" * 201)
    assert SwitchingOperation.objects.count() == 1


def _api(city: City, role_user: object) -> dict[str, str]:
    _, token = token_create(user=role_user, actor=None)
    return {"Authorization": f"Bearer {token}"}


def test_the_api_switches_lists_devices_and_operations(city: City, net: TwoFeeders, client: Client) -> None:
    headers = _api(city, city.dispatcher_north)
    url = "/api/v1/grid/devices/A-S1/switch"
    resp = client.post(url, {"open": True, "note": "检修"}, content_type="application/json", headers=headers)
    assert resp.status_code == 200, resp.content
    assert resp.json()["device"] == "A-S1" and resp.json()["opened"] is True
    again = client.post(url, {"open": True}, content_type="application/json", headers=headers)
    assert again.status_code == 409 and "已经是断开状态" in again.json()["detail"]
    ring = client.post(
        "/api/v1/grid/devices/B-S1/switch", {"open": True}, content_type="application/json", headers=headers
    )
    assert ring.status_code == 200

    devices = client.get(f"/api/v1/grid/feeders/{net.a.code}/devices", headers=headers).json()
    by_code = {d["code"]: d for d in devices}
    assert by_code["A-S1"]["is_open"] and by_code["A-S1"]["energised"]  # reached from the outlet, passes nothing
    assert by_code["A-S2"]["energised"] is False and by_code["A-S2"]["fed_by"] is None
    assert by_code["A-T"]["tie_to"] == "B-S1" and by_code["A-T"]["kind_label"] == "负荷开关"
    assert by_code["A-CB"]["fed_by"] == net.a.code
    ops = client.get(f"/api/v1/grid/feeders/{net.a.code}/switching", headers=headers).json()
    assert [(o["device"], o["opened"], o["note"]) for o in ops] == [("A-S1", True, "检修")]

    # Other roles and other units: the role's 403, another centre's device reads like a missing one.
    agent = client.post(url, {"open": False}, content_type="application/json", headers=_api(city, city.agent))
    assert agent.status_code == 403
    south = client.post(
        url, {"open": False}, content_type="application/json", headers=_api(city, city.dispatcher_south)
    )
    missing = client.post(
        "/api/v1/grid/devices/NO-SUCH/switch",
        {"open": False},
        content_type="application/json",
        headers=_api(city, city.dispatcher_south),
    )
    assert south.status_code == missing.status_code == 404
    assert south.json()["detail"].replace("A-S1", "X") == missing.json()["detail"].replace("NO-SUCH", "X")
    assert SwitchingOperation.objects.count() == 2


def test_the_feeder_page_draws_the_schematic_with_states_and_escaped_names(
    city: City, net: TwoFeeders, client: Client
) -> None:
    GridDevice.objects.filter(code="A-FU1").update(name="<script>alert(1)</script>")
    device_switch(device=net.device("A-S1"), opened=True, actor=city.dispatcher_north)
    client.force_login(city.dispatcher_north)
    page = client.get(f"/grid/feeders/{net.a.code}/").content.decode()
    assert "<svg" in page and 'class="schematic"' in page
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
    assert 'class="node sectionaliser open"' in page  # A-S1: hollow, and the word 分 beside it
    assert "A-S1 分" in page and "A-CB 合" in page
    assert 'class="node sectionaliser dead"' in page  # A-S2 beyond it is greyed
    assert f"{net.a_beyond.name}" in page and "失电" in page
    assert "联络 → " in page and f'href="/grid/feeders/{net.b.code}/"' in page
    assert 'href="/grid/devices/A-S1/switch/"' in page  # the dispatcher's action on the drawing
    assert "最近的倒闸操作" in page
    # B's page shows the tie reaching it from A.
    assert "联络 ← " in client.get(f"/grid/feeders/{net.b.code}/").content.decode()
    # An agent reads the drawing but gets no switching links.
    client.force_login(city.agent)
    page = client.get(f"/grid/feeders/{net.a.code}/").content.decode()
    assert "<svg" in page and "/switch/" not in page
    # The south centre's dispatcher does not see the north centre's feeders at all.
    client.force_login(city.dispatcher_south)
    assert client.get(f"/grid/feeders/{net.a.code}/").status_code == 404


def test_the_confirmation_page_says_what_will_happen_and_posting_it_switches(
    city: City, net: TwoFeeders, client: Client
) -> None:
    client.force_login(city.dispatcher_north)
    confirm = client.get("/grid/devices/A-S1/switch/")
    text = confirm.content.decode()
    assert confirm.status_code == 200 and "确认断开" in text
    assert "个台区失电" in text and net.a_beyond.code in text and net.a_branch.code in text
    tie = client.get("/grid/devices/A-T/switch/").content.decode()
    assert "并列运行" in tie and "disabled" in tie  # refused before the dispatcher even tries
    done = client.post("/grid/devices/A-S1/switch/", {"note": "隔离故障"})
    assert done.status_code == 302 and done["Location"] == f"/grid/feeders/{net.a.code}/"
    assert GridDevice.objects.get(code="A-S1").is_open
    transfer = client.get("/grid/devices/A-T/switch/").content.decode()
    assert "确认合上" in transfer and "恢复供电" in transfer and "disabled" not in transfer
    assert client.post("/grid/devices/A-T/switch/").status_code == 302  # B now feeds the isolated section
    assert not GridDevice.objects.get(code="A-T").is_open
    client.force_login(city.dispatcher_south)
    assert client.get("/grid/devices/A-S1/switch/").status_code == 404
    client.force_login(city.crew_member)
    assert client.post("/grid/devices/A-S1/switch/").status_code == 403


def test_operations_are_stored_in_utc_and_shown_in_beijing_time(city: City, net: TwoFeeders, client: Client) -> None:
    device_switch(device=net.device("A-S1"), opened=True, actor=city.dispatcher_north, at=AT)
    op = SwitchingOperation.objects.get()
    assert op.at == AT and timezone.localtime(op.at).hour == 11
    client.force_login(city.dispatcher_north)
    assert "2026-07-14 11:20" in client.get(f"/grid/feeders/{net.a.code}/").content.decode()
