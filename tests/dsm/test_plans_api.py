"""Orderly-use plans and demand-response events over /api/v1/dsm: plan results, events, status changes (409 on
invalid ones), opt-in/out, the selected customers notified through the notices app, and the measured response."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.test import Client

from gridcare.dsm import services, store
from gridcare.dsm.models import DemandResponseEvent, Participation
from gridcare.notices.models import Message, MessageStatus
from tests.conftest import login
from tests.dsm.conftest import Grid
from tests.dsm.test_analytics import write_store

TZ = zoneinfo.ZoneInfo("Asia/Shanghai")
PLANNED_AT = dt.datetime(2024, 7, 1, 9, 0, tzinfo=TZ)  # nine days before the window: the event is "far"
START = "2024-07-10T14:00:00+08:00"
END = "2024-07-10T16:00:00+08:00"


def post(client: Client, url: str, data: dict[str, Any], when: dt.datetime = PLANNED_AT) -> Any:
    with time_machine.travel(when, tick=False):
        return client.post(url, data, content_type="application/json")


def make_plan(client: Client, grid: Grid, target_mw: str = "0.5", **extra: Any) -> Any:
    body = {
        "name": "7月10日午高峰",
        "target_mw": target_mw,
        "window_start": START,
        "window_end": END,
        "feeders": [grid.city.north_net.feeder.code],
        **extra,
    }
    return post(client, "/api/v1/dsm/plans", body)


def test_a_plan_chooses_the_cheapest_customers_and_spares_protected_ones(grid: Grid, client: Client) -> None:
    login(client, grid.city.analyst)
    response = make_plan(client, grid)
    assert response.status_code == 201, response.content
    plan = response.json()
    # 500 kW: all 450 kW of the large customer (1 元/kW) and 50 kW of the 500 kVA shop (3 元/kW), which is
    # cheaper than 23 + 27 kW from the shop and the small one (an extra fixed 20): 450 + 20 + 150 + 20 = 640
    got = {a["account_no"]: a["reduction_kw"] for a in plan["allocations"]}
    assert got == {grid.big.account_no: "450.0", grid.shop.account_no: "50.0"}
    assert (plan["target_kw"], plan["target_mw"], plan["planned_kw"]) == ("500.0", "0.5", "500.0")
    assert plan["feasible"] is True and plan["shortfall_kw"] == "0.0" and plan["cost"] == "640.00"
    assert plan["feeders"] == [grid.city.north_net.feeder.code]
    # each customer's share (per kW and the fixed 20) adds up to the plan's cost
    shares = {a["account_no"]: a["cost"] for a in plan["allocations"]}
    assert shares == {grid.big.account_no: "470.00", grid.shop.account_no: "170.00"}
    again = client.get(f"/api/v1/dsm/plans/{plan['id']}").json()
    assert again["allocations"] == plan["allocations"]
    assert client.get("/api/v1/dsm/plans").json()["count"] == 1


def test_an_unreachable_target_reports_the_shortfall(grid: Grid, client: Client) -> None:
    login(client, grid.city.analyst)
    plan = make_plan(client, grid, target_mw="1").json()
    # 1000 kW wanted; 450 + 135 + 27 = 612 kW can be shed (the VIP, the resident and the closed one never)
    assert (plan["planned_kw"], plan["shortfall_kw"], plan["feasible"]) == ("612.0", "388.0", False)
    accounts = {a["account_no"] for a in plan["allocations"]}
    assert accounts == {grid.big.account_no, grid.shop.account_no, grid.small.account_no}


@pytest.mark.parametrize(
    ("change", "status", "words"),
    [
        ({"target_mw": "0"}, 400, "削减目标"),
        ({"target_mw": "-2"}, 400, "削减目标"),
        ({"target_mw": "1e9"}, 400, "削减目标"),
        ({"target_mw": "lots"}, 422, "target_mw"),
        ({"window_end": "2024-07-10T13:00:00+08:00"}, 400, "结束时间必须晚于开始时间"),
        ({"window_start": "next tuesday"}, 422, "window_start"),
        ({"feeders": []}, 400, "至少一条线路"),
        ({"feeders": ["NOPE-1"]}, 400, "NOPE-1"),
        ({"name": "  "}, 400, "方案名称"),
    ],
)
def test_bad_plan_input_gets_a_4xx_a_person_can_act_on(
    grid: Grid, client: Client, change: dict[str, Any], status: int, words: str
) -> None:
    login(client, grid.city.analyst)
    response = make_plan(client, grid, **change)
    assert response.status_code == status, response.content
    assert words in response.json()["detail"]


def test_plans_follow_data_scope_and_role(grid: Grid, client: Client) -> None:
    login(client, grid.city.dispatcher_south)
    response = make_plan(client, grid)
    assert response.status_code == 400 and grid.city.north_net.feeder.code in response.json()["detail"]
    login(client, grid.city.analyst)
    plan = make_plan(client, grid).json()
    login(client, grid.city.dispatcher_south)
    assert client.get(f"/api/v1/dsm/plans/{plan['id']}").status_code == 404
    assert client.get("/api/v1/dsm/plans").json()["count"] == 0
    login(client, grid.city.agent)
    assert make_plan(client, grid).status_code == 403


def selected_messages(event_id: str) -> list[dict[str, set[int]]]:
    """For each notice of the event (in order): the customers with a queued message."""
    event = DemandResponseEvent.objects.get(event_id=event_id)
    out = []
    for notice in event.notices.order_by("created_at", "pk"):
        rows = Message.objects.filter(notice=notice)
        out.append(
            {
                "queued": set(rows.filter(status=MessageStatus.QUEUED).values_list("customer_id", flat=True)),
                "all": set(rows.values_list("customer_id", flat=True)),
            }
        )
    return out


def test_a_plan_becomes_an_event_and_exactly_the_selected_customers_are_notified(grid: Grid, client: Client) -> None:
    login(client, grid.city.analyst)
    plan = make_plan(client, grid).json()
    response = post(client, f"/api/v1/dsm/plans/{plan['id']}/event", {})
    assert response.status_code == 201, response.content
    event = response.json()
    assert event["status"] == "far" and event["signal_name"] == "LOAD_DISPATCH"
    assert event["intervals"] == [{"uid": 0, "duration_minutes": 120, "payload_kw": -500.0}]
    assert event["targets"] == {"feeders": [grid.city.north_net.feeder.code]}
    assert {p["account_no"]: p["opt"] for p in event["participants"]} == {
        grid.big.account_no: "pending",
        grid.shop.account_no: "pending",
    }
    [told] = selected_messages(event["event_id"])
    assert told == {"queued": {grid.big.pk, grid.shop.pk}, "all": {grid.big.pk, grid.shop.pk}}
    # one live event per plan
    again = post(client, f"/api/v1/dsm/plans/{plan['id']}/event", {})
    assert again.status_code == 409 and event["event_id"] in again.json()["detail"]
    assert client.get(f"/api/v1/dsm/plans/{plan['id']}").json()["status"] == "issued"


def test_status_changes_follow_the_event_lifecycle_and_cancelling_tells_the_customers_again(
    grid: Grid, client: Client
) -> None:
    login(client, grid.city.analyst)
    plan = make_plan(client, grid).json()
    event_id = post(client, f"/api/v1/dsm/plans/{plan['id']}/event", {}).json()["event_id"]
    url = f"/api/v1/dsm/events/{event_id}/status"
    refused = post(client, url, {"status": "completed"})
    assert refused.status_code == 409
    assert "远期" in refused.json()["detail"] and "已完成" in refused.json()["detail"]
    assert post(client, url, {"status": "someday"}).status_code == 400
    near = post(client, url, {"status": "near"})
    assert near.status_code == 200 and near.json()["status"] == "near"
    assert near.json()["modification_number"] == 1 and near.json()["allowed_status"] == ["active", "cancelled"]
    assert post(client, url, {"status": "far"}).status_code == 409
    no_reason = post(client, url, {"status": "cancelled"})
    assert no_reason.status_code == 400 and "取消原因" in no_reason.json()["detail"]
    cancelled = post(client, url, {"status": "cancelled", "reason": "负荷预测下调"})
    assert cancelled.status_code == 200 and cancelled.json()["allowed_status"] == []
    _invitation, cancellation = selected_messages(event_id)
    assert cancellation == {"queued": {grid.big.pk, grid.shop.pk}, "all": {grid.big.pk, grid.shop.pk}}
    assert post(client, url, {"status": "active"}).status_code == 409
    # an answer after the event was called off is refused too
    late = post(client, f"/api/v1/dsm/events/{event_id}/participants/{grid.big.account_no}", {"opt": "opt_in"})
    assert late.status_code == 409 and "已取消" in late.json()["detail"]
    # and the plan can be sent out again
    assert post(client, f"/api/v1/dsm/plans/{plan['id']}/event", {}).status_code == 201


def test_completing_needs_the_event_to_have_ended(grid: Grid, client: Client) -> None:
    login(client, grid.city.analyst)
    plan = make_plan(client, grid).json()
    event_id = post(client, f"/api/v1/dsm/plans/{plan['id']}/event", {}).json()["event_id"]
    url = f"/api/v1/dsm/events/{event_id}/status"
    during = dt.datetime(2024, 7, 10, 15, 0, tzinfo=TZ)
    assert post(client, url, {"status": "active"}, when=during).status_code == 200
    early = post(client, url, {"status": "completed"}, when=during)
    assert early.status_code == 409 and "16:00" in early.json()["detail"]
    assert post(client, url, {"status": "completed"}, when=during + dt.timedelta(hours=2)).status_code == 200


def test_customers_opt_in_and_out(grid: Grid, client: Client) -> None:
    login(client, grid.city.analyst)
    plan = make_plan(client, grid).json()
    event_id = post(client, f"/api/v1/dsm/plans/{plan['id']}/event", {}).json()["event_id"]
    base = f"/api/v1/dsm/events/{event_id}/participants"
    login(client, grid.city.agent)  # taken on the phone by an agent
    answer = post(client, f"{base}/{grid.big.account_no}", {"opt": "opt_in"})
    assert answer.status_code == 200 and answer.json()["opt"] == "opt_in"
    assert post(client, f"{base}/{grid.shop.account_no}", {"opt": "opt_out"}).json()["opt"] == "opt_out"
    assert post(client, f"{base}/{grid.shop.account_no}", {"opt": "maybe"}).status_code == 400
    missing = post(client, f"{base}/{grid.small.account_no}", {"opt": "opt_in"})
    assert missing.status_code == 404 and grid.small.account_no in missing.json()["detail"]
    opts = dict(Participation.objects.filter(event__event_id=event_id).values_list("customer_id", "opt"))
    assert opts == {grid.big.pk: "opt_in", grid.shop.pk: "opt_out"}
    login(client, grid.city.analyst)
    report = client.get(f"/api/v1/dsm/events/{event_id}/report").json()
    assert (report["planned_kw"], report["planned_opted_in_kw"]) == ("500.0", "450.0")


def test_the_measured_response_report_uses_the_last_five_similar_non_event_days(
    grid: Grid, client: Client, settings, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    settings.ANALYTICS_DIR = tmp_path / "analytics"
    login(client, grid.city.analyst)
    # An earlier event on Monday 8 July: that day is not a baseline day.
    earlier = services.orderly_plan_create(
        name="7月8日",
        target_kw=Decimal(100),
        window_start=dt.datetime(2024, 7, 8, 14, tzinfo=TZ),
        window_end=dt.datetime(2024, 7, 8, 16, tzinfo=TZ),
        feeders=[grid.city.north_net.feeder],
        actor=grid.city.analyst,
        now=PLANNED_AT,
    )
    services.dr_event_create(plan=earlier, actor=grid.city.analyst, now=PLANNED_AT)
    plan = make_plan(client, grid).json()
    event_id = post(client, f"/api/v1/dsm/plans/{plan['id']}/event", {}).json()["event_id"]

    # Wednesday 10 July 14:00–16:00 = slots 56–63. Workdays before it: 9, (8 = event), 5, 4, 3, 2 July.
    big_days = {9: 600.0, 8: 5000.0, 5: 610.0, 4: 620.0, 3: 630.0, 2: 640.0}  # baseline (600…640)/5 = 620
    shop_days = {9: 300.0, 8: 5000.0, 5: 300.0, 4: 300.0, 3: 300.0, 2: 300.0}  # baseline 300
    curves: dict[tuple[int, int], list[float]] = {}
    for offset in range(-20, 10):
        day = dt.date(2024, 7, 1) + dt.timedelta(days=offset)
        weekend = day.weekday() >= 5
        for cid, levels in ((grid.big.pk, big_days), (grid.shop.pk, shop_days)):
            level = 100.0 if weekend else levels.get(day.day if day.month == 7 else 0, 900.0)
            curves[(cid, offset)] = [level] * 96
    big_event, shop_event = [620.0] * 96, [300.0] * 96
    for slot in range(56, 64):
        big_event[slot] = 190.0  # delivered 620 − 190 = 430 of 450 planned
        shop_event[slot] = 260.0  # delivered 300 − 260 = 40 of 50 planned
    curves[(grid.big.pk, 9)], curves[(grid.shop.pk, 9)] = big_event, shop_event
    write_store(store.store_dir("interval", settings.ANALYTICS_DIR), curves)

    during = dt.datetime(2024, 7, 10, 15, tzinfo=TZ)
    early = post(client, f"/api/v1/dsm/events/{event_id}/measure", {}, when=during)
    assert early.status_code == 409 and "not ended" in early.json()["detail"]
    response = post(client, f"/api/v1/dsm/events/{event_id}/measure", {}, when=during + dt.timedelta(hours=2))
    assert response.status_code == 200, response.content
    report = response.json()
    rows = {r["account_no"]: r for r in report["participants"]}
    big, shop = rows[grid.big.account_no], rows[grid.shop.account_no]
    assert (big["baseline_kw"], big["actual_kw"], big["delivered_kw"]) == ("620.00", "190.00", "430.00")
    assert (shop["baseline_kw"], shop["actual_kw"], shop["delivered_kw"]) == ("300.00", "260.00", "40.00")
    assert (big["planned_kw"], big["delivered_ratio"]) == ("450.0", "0.956")  # 430 / 450
    assert (shop["planned_kw"], shop["delivered_ratio"]) == ("50.0", "0.800")
    assert (report["planned_kw"], report["delivered_kw"], report["delivered_ratio"]) == ("500.0", "470.00", "0.940")
    assert report["status"] == "completed" and report["measured"] == 2
    assert client.get(f"/api/v1/dsm/events/{event_id}/report").json() == report


def test_measuring_without_interval_data_is_a_400_not_a_500(
    grid: Grid, client: Client, settings, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    settings.ANALYTICS_DIR = tmp_path / "empty"
    login(client, grid.city.analyst)
    plan = make_plan(client, grid).json()
    event_id = post(client, f"/api/v1/dsm/plans/{plan['id']}/event", {}).json()["event_id"]
    response = post(client, f"/api/v1/dsm/events/{event_id}/measure", {}, when=dt.datetime(2024, 7, 11, tzinfo=TZ))
    assert response.status_code == 400 and "负荷数据" in response.json()["detail"]
    assert client.get("/api/v1/dsm/events/DR-nope").status_code == 404
