"""Staff pages for orderly use of power: plan list (filters, sort, Excel), new-plan form with errors next to the
fields, plan detail with its result, and the event page with status actions, opt-in/out and the response."""

from __future__ import annotations

import io
import zoneinfo
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.test import Client
from openpyxl import load_workbook

from gridcare.dsm.models import DemandResponseEvent, OrderlyUsePlan, Participation
from tests.conftest import City, login
from tests.dsm.conftest import Grid
from tests.dsm.test_plans_api import PLANNED_AT

TZ = zoneinfo.ZoneInfo("Asia/Shanghai")


def form_data(grid: Grid, **change: object) -> dict[str, object]:
    return {
        "name": "迎峰度夏演练",
        "target_mw": "0.5",
        "window_start": "2024-07-10T14:00",
        "window_end": "2024-07-10T16:00",
        "feeders": [grid.city.north_net.feeder.code],
        **change,
    }


def new_plan(client: Client, grid: Grid, **change: object) -> Any:
    with time_machine.travel(PLANNED_AT, tick=False):
        return client.post("/dsm/plans/new/", form_data(grid, **change))


def test_navigation_shows_orderly_use_to_planners_only(city: City, client: Client) -> None:
    login(client, city.analyst)
    assert "有序用电" in client.get("/dsm/").content.decode()
    login(client, city.agent)
    assert "有序用电" not in client.get("/").content.decode()
    assert client.get("/dsm/plans/").status_code == 404


def test_the_form_keeps_what_was_typed_and_shows_errors_next_to_the_field(grid: Grid, client: Client) -> None:
    login(client, grid.city.analyst)
    page = client.get("/dsm/plans/new/").content.decode()
    assert grid.city.north_net.feeder.code in page and grid.city.south_net.feeder.code in page
    response = new_plan(client, grid, window_end="2024-07-10T13:00", target_mw="0")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="error-window_end"' in body and "结束时间必须晚于开始时间" in body
    assert 'data-testid="error-target_mw"' in body
    assert 'value="迎峰度夏演练"' in body and 'value="2024-07-10T13:00"' in body
    missing = new_plan(client, grid, feeders=[])
    assert "请选择至少一条线路" in missing.content.decode()
    assert OrderlyUsePlan.objects.count() == 0


def test_a_new_plan_shows_its_result_and_the_list_exports(grid: Grid, client: Client) -> None:
    login(client, grid.city.analyst)
    response = new_plan(client, grid)
    plan = OrderlyUsePlan.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/dsm/plans/{plan.pk}/"
    page = client.get(f"/dsm/plans/{plan.pk}/").content.decode()
    assert 'data-testid="feasible"' in page and "500.0 kW" in page and "¥640.00" in page
    assert grid.big.account_no in page and grid.shop.account_no in page and grid.vip.account_no not in page
    short = new_plan(client, grid, name="超出能力", target_mw="1")
    short_plan = OrderlyUsePlan.objects.get(name="超出能力")
    assert short["Location"] == f"/dsm/plans/{short_plan.pk}/"
    assert "缺口 388.0 kW" in client.get(short["Location"]).content.decode()
    listing = client.get("/dsm/plans/?sort=-target_kw").content.decode()
    assert "共 2 个方案" in listing and listing.index("超出能力") < listing.index("迎峰度夏演练")
    export = client.get("/dsm/plans/?sort=name&export=xlsx")
    rows = list(load_workbook(io.BytesIO(export.content)).active.iter_rows(values_only=True))
    assert rows[0][0] == "方案名称" and {r[0] for r in rows[1:]} == {"迎峰度夏演练", "超出能力"}
    login(client, grid.city.dispatcher_south)
    assert client.get(f"/dsm/plans/{plan.pk}/").status_code == 404


def test_event_page_changes_status_records_answers_and_refuses_invalid_changes(grid: Grid, client: Client) -> None:
    login(client, grid.city.analyst)
    new_plan(client, grid)
    plan = OrderlyUsePlan.objects.get()
    with time_machine.travel(PLANNED_AT, tick=False):
        made = client.post(f"/dsm/plans/{plan.pk}/event/")
        event = DemandResponseEvent.objects.get()
        assert made["Location"] == f"/dsm/events/{event.event_id}/"
        page = client.get(made["Location"]).content.decode()
        assert "需求响应邀约" in page and 'data-testid="participants"' in page
        assert grid.big.account_no in page and "待确认" in page
        base = f"/dsm/events/{event.event_id}"
        client.post(f"{base}/participants/{grid.big.account_no}/opt/", {"opt": "opt_out"})
        refused = client.post(f"{base}/status/", {"status": "completed"}, follow=True).content.decode()
        assert "不能改为「已完成」" in refused
        client.post(f"{base}/status/", {"status": "cancelled", "reason": "天气转凉"})
    event.refresh_from_db()
    assert event.status == "cancelled" and event.notices.count() == 2
    assert Participation.objects.get(customer=grid.big).opt == "opt_out"
    page = client.get(f"/dsm/events/{event.event_id}/").content.decode()
    assert "事件已结束，状态不能再更改" in page and "需求响应取消" in page
    export = client.get(f"/dsm/events/{event.event_id}/?export=xlsx")
    rows = list(load_workbook(io.BytesIO(export.content)).active.iter_rows(values_only=True))
    assert rows[-1][0] == "合计" and Decimal(str(rows[-1][3])) == Decimal(500)


@pytest.mark.parametrize("path", ["/dsm/plans/999/", "/dsm/events/DR-none/"])
def test_unknown_plans_and_events_are_404(city: City, client: Client, path: str) -> None:
    login(client, city.analyst)
    assert client.get(path).status_code == 404
