"""The load section on the customer 360 and the feeder load page draw their Plotly charts in a real browser."""

from __future__ import annotations

from pathlib import Path

import pytest

from gridcare.dsm import store
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
