"""Storm mode in a real browser: the shift lead switches it on from the storm board, then an agent answers a
known-outage caller in one line from the intake screen."""

from __future__ import annotations

import pytest
from django.utils import timezone

from gridcare.repair.models import RepairTicket, StormMode
from gridcare.repair.services import etr_refresh_due
from gridcare.workorders import services as wo
from gridcare.workorders.models import WorkOrder
from tests import factories as f
from tests.browser import Page
from tests.conftest import City
from tests.factories import PASSWORD
from tests.workorders.helpers import cat

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_lead_switches_storm_mode_on_and_an_agent_takes_a_known_outage_call_in_one_line(city: City, ui: Page) -> None:
    first = wo.workorder_create(
        actor=city.agent, channel="phone", category=cat("repair"), customer=city.north_customer, description="停电"
    )
    wo.workorder_create(
        actor=city.agent,
        channel="phone",
        category=cat("repair"),
        customer=f.make_customer(city.north, city.north_net.areas[0]),
        description="我家也停电",
    )
    outage = RepairTicket.objects.get(workorder=first).outage
    assert outage is not None and outage.level == "transformer_area"  # two customers: it covers the 台区
    etr_refresh_due(now=timezone.now())  # what the worker does within seconds
    caller = f.make_customer(city.north, city.north_net.areas[0], phone="13900002222", name="李四")

    ui.login("lead", PASSWORD)
    ui.goto("/repair/storm/")
    ui.page.wait_for_selector("[data-testid=storm-tiles]")
    assert ui.page.get_attribute("[data-testid=storm-state]", "data-on") == "false"
    ui.page.fill("#storm-switch input[name=reason]", "台风登陆，报修来电激增")
    ui.page.click("#storm-switch button[value=true]")
    ui.page.wait_for_selector("[data-testid=storm-state][data-on=true]")
    assert "台风登陆" in ui.page.inner_text("[data-testid=storm-state]")
    assert StormMode.objects.get(pk=1).on
    ui.screenshot("storm-board")
    assert ui.console_errors == []

    ui.page.context.clear_cookies()
    ui.login("agent", PASSWORD)
    ui.goto("/workorders/new/")
    ui.page.keyboard.type("13900002222")
    ui.page.keyboard.press("Enter")
    ui.page.wait_for_selector("[data-testid=storm-known-outage]")
    # The known outage comes first and the caller's number field has the focus: type, Enter, done.
    assert ui.page.evaluate("document.activeElement.name") == "phone"
    assert "80% 在" in ui.page.inner_text("[data-testid=storm-etr]")  # the ETR with its interval
    ui.screenshot("storm-intake")
    ui.page.keyboard.type("13900002222")
    ui.page.keyboard.press("Enter")
    ui.page.wait_for_selector(".messages li")
    order = WorkOrder.objects.get(customer=caller)
    assert f"已登记一键报修 {order.number}" in ui.page.inner_text(".messages")
    assert RepairTicket.objects.get(workorder=order).outage_id == outage.pk
    assert ui.console_errors == []
