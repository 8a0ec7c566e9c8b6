"""The load section on the customer 360 and the feeder load page draw their Plotly charts in a real browser."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from gridcare.dsm import store
from tests import factories as f
from tests.browser import Page
from tests.conftest import City
from tests.dsm.test_analytics import write_store
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_load_charts_draw_without_console_errors(city: City, ui: Page, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings.ANALYTICS_DIR = tmp_path / "analytics"
    curve = [1.0 + (i % 24) / 4 for i in range(96)]
    curve[72:76] = [380.0] * 4
    write_store(
        store.store_dir("interval", settings.ANALYTICS_DIR),
        {(city.north_customer.pk, d): [v + d for v in curve] for d in range(3)},
    )
    ui.login("agent", PASSWORD)
    ui.goto(f"/customers/{city.north_customer.account_no}/")
    ui.page.wait_for_selector("[data-testid=customer-load] .chart .main-svg", timeout=20_000)
    ui.screenshot("dsm-customer-360-load")
    ui.goto(f"/dsm/feeders/{city.north_net.feeder.code}/load")
    ui.page.wait_for_selector(".chart .main-svg", timeout=20_000)
    assert "过载" in ui.page.inner_text("[data-testid=overload-warnings]")
    ui.screenshot("dsm-feeder-load")
    assert ui.console_errors == []


def test_a_planner_creates_an_orderly_use_plan_and_sees_its_result(city: City, ui: Page) -> None:
    big = f.make_customer(city.north, city.north_net.areas[0], category="large_industry", contract_kva=Decimal(1000))
    ui.login("analyst", PASSWORD)
    ui.goto("/dsm/plans/")
    ui.page.click("[data-testid=new-plan]")
    ui.page.fill("#id_name", "午高峰有序用电")
    ui.page.fill("#id_target_mw", "0.3")
    ui.page.fill("#id_window_start", "2030-07-10T14:00")
    ui.page.fill("#id_window_end", "2030-07-10T16:00")
    ui.page.select_option("#id_feeders", city.north_net.feeder.code)
    ui.page.click("[data-testid=plan-form] button[type=submit]")
    ui.page.wait_for_selector("[data-testid=plan-result]")
    # 300 kW from the one large customer (450 kW curtailable at 1 元/kW, plus 20 to involve it) = ¥320.00;
    # the resident customer on the feeder is protected
    assert ui.page.inner_text("[data-testid=planned-kw]") == "300.0 kW"
    assert ui.page.inner_text("[data-testid=plan-cost]") == "¥320.00"
    allocations = ui.page.inner_text("[data-testid=allocations]")
    assert big.account_no in allocations and city.north_customer.account_no not in allocations
    assert ui.page.is_visible("[data-testid=feasible]")
    ui.screenshot("dsm-plan-detail")
    ui.page.click("[data-testid=make-event]")
    ui.page.wait_for_selector("[data-testid=participants]")
    assert "远期" in ui.page.inner_text("[data-testid=event-status]")
    assert big.account_no in ui.page.inner_text("[data-testid=participants]")
    ui.screenshot("dsm-dr-event")
    assert ui.console_errors == []
