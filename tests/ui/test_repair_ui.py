"""Dispatcher and crew pages end to end in a real browser: assign in one click, then the crew's phone."""

from __future__ import annotations

import pytest

from gridcare.repair.models import RepairTicket, Vehicle
from gridcare.workorders import services as wo
from tests.browser import Page
from tests.conftest import City
from tests.factories import PASSWORD, make_device
from tests.workorders.helpers import cat

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_dispatcher_assigns_and_the_crew_works_the_order_on_a_phone(city: City, ui: Page, browser) -> None:  # type: ignore[no-untyped-def]
    Vehicle.objects.create(
        plate="浙A·D0001",
        crew=city.crew_north,
        device=make_device("dev-1"),
        crew_type="both",
        home_lat=30.21,
        home_lon=120.11,
    )
    Vehicle.objects.create(
        plate="浙A·D0002",
        crew=city.crew_north,
        device=make_device("dev-2"),
        crew_type="both",
        home_lat=31.5,
        home_lon=121.5,
    )
    order = wo.workorder_create(
        actor=city.agent,
        channel="phone",
        category=cat("repair"),
        customer=city.north_customer,
        description="整栋楼停电",
    )
    wo.workorder_dispatch(order=order, actor=city.shift_lead, unit=city.north)

    ui.login("disp_n", PASSWORD)
    ui.goto("/repair/dispatch/")
    ui.page.wait_for_selector(f"#tickets button[data-number='{order.number}']")
    assert RepairTicket.objects.get(workorder=order).c_at is not None  # the screen acknowledged receipt: C
    ui.page.click(f"#tickets button[data-number='{order.number}']")
    ui.page.wait_for_selector("#candidates button[data-assign]")
    first = ui.page.inner_text("#candidates tbody tr:first-child")
    assert "浙A·D0001" in first  # the nearer vehicle ranks first
    ui.screenshot("dispatch")
    ui.page.click("#candidates tbody tr:first-child button[data-assign]")
    ui.page.wait_for_function("() => document.getElementById('dispatch-msg').textContent.includes('已派')")
    ticket = RepairTicket.objects.get(workorder=order)
    assert ticket.d_at is not None and ticket.vehicle is not None and ticket.vehicle.plate == "浙A·D0001"
    assert ui.console_errors == []

    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True, has_touch=True)
    crew = Page(phone.new_page(), ui.base_url)
    crew.login("crew1", PASSWORD)
    crew.goto("/crew/")
    crew.page.wait_for_selector("button[data-do=accept]:not([hidden])")
    assert RepairTicket.objects.get(pk=ticket.pk).e_at is not None  # the phone has it: E
    crew.screenshot("crew-phone")
    for action in ["accept", "depart", "arrive"]:
        crew.page.click(f"button[data-do={action}]:not([hidden])")
        crew.page.wait_for_timeout(300)
        crew.page.wait_for_selector("#crew-orders li")
    crew.page.wait_for_selector("form.fault:not([hidden])")
    crew.page.select_option("select[name=ownership]", "utility")
    crew.page.fill("input[name=equipment]", "接户线")
    crew.page.click("form.fault button[type=submit]")
    try:
        crew.page.wait_for_selector("button[data-do=restore]:not([hidden])", timeout=10000)
    except Exception:
        raise AssertionError(crew.page.inner_text("#crew")) from None
    crew.page.click("button[data-do=restore]")
    crew.page.wait_for_function("() => document.getElementById('crew-status').textContent.includes('暂无任务')")
    ticket.refresh_from_db()
    assert all(getattr(ticket, f"{p}_at") for p in "abcdefgh") and ticket.restored_at is not None
    assert ticket.fault_class and ticket.ownership == "utility"
    order.refresh_from_db()
    assert order.status == "return_visit"
    assert crew.console_errors == []
    phone.close()
