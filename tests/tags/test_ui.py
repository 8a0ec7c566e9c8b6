"""The segment builder counts customers live as the analyst types, in a real browser."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from gridcare.tags import services
from tests.browser import Page
from tests.conftest import City
from tests.factories import PASSWORD
from tests.tags.store import AS_OF, write_store

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_segment_builder_counts_as_you_type(
    city: City, ui: Page, settings: pytest.FixtureRequest, tmp_path: Path
) -> None:
    settings.ANALYTICS_DIR = tmp_path  # type: ignore[attr-defined]
    write_store(tmp_path, ids=[city.north_customer.pk, city.south_customer.pk, *range(10_000, 10_060)])
    services.defaults_load(actor="test")
    services.catalogue_publish(actor="test")
    run = services.run_create(actor="test", as_of=AS_OF)
    services.run_execute(run=run, now=dt.datetime(2026, 7, 1, tzinfo=dt.UTC))
    ui.login("analyst", PASSWORD)
    ui.goto("/tags/segments/")
    ui.page.fill("#expression", "customer_type=高压 OR customer_type!=高压")
    # The analyst's scope holds the two ledger customers; the other 60 exist only in the analytics store.
    ui.page.wait_for_function("() => document.getElementById('segment-count').textContent === '2 户'")
    assert city.south_customer.account_no in ui.page.inner_text("[data-testid=segment-preview]")
    ui.page.fill("#expression", "customer_type=火星")
    ui.page.wait_for_function("() => document.getElementById('segment-error').textContent.includes('可选')")
    ui.screenshot("tags-segments")
    ui.goto(f"/tags/customers/{city.south_customer.account_no}/")
    assert "月均电量分档" in ui.page.inner_text("[data-testid=portrait]")
    # The one 400 is the API refusing 火星 on purpose (the browser logs every 4xx response); nothing else.
    assert [e for e in ui.console_errors if "400 (Bad Request)" not in e] == []
    assert len(ui.console_errors) <= 1
