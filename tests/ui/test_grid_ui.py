"""The feeder schematic in a real browser: a dispatcher opens a sectionaliser from the drawing on a desktop, and
the drawing scrolls sideways on a phone instead of shrinking out of reading size."""

from __future__ import annotations

from typing import Any

import pytest

from gridcare.grid.models import GridDevice, SwitchingOperation
from tests.browser import Page
from tests.conftest import City
from tests.factories import PASSWORD
from tests.grid.helpers import two_feeders

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_dispatcher_opens_a_device_from_the_schematic(city: City, ui: Page) -> None:
    net = two_feeders(city)
    ui.login("disp_n", PASSWORD)
    ui.goto(f"/grid/feeders/{net.a.code}/")
    ui.page.wait_for_selector("svg.schematic")
    ui.screenshot("feeder-schematic")
    ui.page.click('svg.schematic a[href="/grid/devices/A-S1/switch/"]')
    ui.page.wait_for_selector("text=确认断开")
    assert net.a_beyond.code in ui.page.inner_text("main")  # the 台区 that will lose power are named first
    ui.screenshot("switch-confirm")
    ui.page.fill("#id_note", "隔离故障")
    ui.page.click("button[type=submit]")
    ui.page.wait_for_selector("text=已断开")
    assert GridDevice.objects.get(code="A-S1").is_open
    assert SwitchingOperation.objects.get().note == "隔离故障"
    # The section beyond is greyed on the redrawn schematic.
    assert ui.page.locator("svg.schematic g.node.dead").count() >= 2
    assert ui.console_errors == []


def test_the_schematic_scrolls_sideways_on_a_phone(city: City, browser: Any, live_server: Any) -> None:
    net = two_feeders(city)
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True)
    phone = Page(context.new_page(), live_server.url)
    phone.login("disp_n", PASSWORD)
    phone.goto(f"/grid/feeders/{net.a.code}/")
    box = phone.page.wait_for_selector(".schematic-scroll")
    assert box is not None
    widths = phone.page.evaluate(
        "() => { const b = document.querySelector('.schematic-scroll');"
        " const s = document.querySelector('svg.schematic');"
        " return [b.scrollWidth, b.clientWidth, s.getBoundingClientRect().width, s.getAttribute('width')]; }"
    )
    scroll_width, client_width, drawn, declared = widths
    assert scroll_width > client_width  # the drawing is wider than the phone: it scrolls…
    assert drawn == float(declared)  # …at full size, not shrunk
    phone.screenshot("feeder-schematic-phone")
    assert phone.console_errors == []
    context.close()
