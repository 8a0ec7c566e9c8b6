"""The notices pages in a real browser: a dispatcher previews and publishes; anyone reads the public page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from gridcare.notices import services
from gridcare.notices.models import Outage, OutageStatus
from tests.browser import Page
from tests.conftest import City
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_dispatcher_previews_then_publishes_and_the_public_page_shows_it(city: City, ui: Page) -> None:
    start = timezone.now() + dt.timedelta(days=10)
    outage = services.outage_create(
        kind="planned",
        title="城北线路年度检修",
        cause="更换柱上开关",
        unit=city.north,
        starts_at=start,
        ends_at=start + dt.timedelta(hours=6),
        feeders=[city.north_net.feeder],
        actor=None,
    )
    ui.login("disp_n", PASSWORD)
    ui.goto(f"/notices/outages/{outage.pk}/")
    preview = ui.page.inner_text("[data-testid=preview]")
    assert "更换柱上开关" in preview and "95598" in preview
    ui.screenshot("notices-outage-draft")
    ui.page.click("[data-testid=publish-form] button[type=submit]")
    ui.page.wait_for_selector("[data-testid=notices] a")
    assert Outage.objects.get().status == OutageStatus.PUBLISHED
    assert ui.page.inner_text("[data-testid=affected]") == "1"
    ui.screenshot("notices-outage-published")
    ui.goto("/notices/public/")
    assert "城北线路年度检修" in ui.page.inner_text("[data-testid=public-outages]")
    ui.screenshot("notices-public")
    assert ui.console_errors == []


def test_a_late_publication_shows_the_reason_error_next_to_the_field(city: City, ui: Page) -> None:
    start = timezone.now() + dt.timedelta(days=3)
    outage = services.outage_create(
        kind="planned",
        title="临近检修",
        unit=city.north,
        starts_at=start,
        ends_at=start + dt.timedelta(hours=2),
        feeders=[city.north_net.feeder],
        actor=None,
    )
    ui.login("disp_n", PASSWORD)
    ui.goto(f"/notices/outages/{outage.pk}/")
    assert "7 天" in ui.page.inner_text("[data-testid=late-warning]")
    ui.page.click("[data-testid=publish-form] button[type=submit]")
    ui.page.wait_for_selector("[data-testid=publish-form] .errorlist")
    assert "延迟发布原因" in ui.page.inner_text("[data-testid=publish-form] .errorlist")
    assert Outage.objects.get().status == OutageStatus.DRAFT
    assert ui.console_errors == []
