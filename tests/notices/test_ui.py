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


def test_a_shift_lead_edits_a_template_sees_the_mistake_named_then_previews_and_saves(city: City, ui: Page) -> None:
    from gridcare.notices.models import NoticeTemplate

    ui.login("lead", PASSWORD)
    ui.goto("/notices/templates/?channel=sms")
    ui.page.click("[data-testid=templates] tr[data-kind=outage_published] a")
    ui.page.wait_for_selector("[data-testid=template-form]")
    assert "系统默认" in ui.page.inner_text("[data-testid=template-source]")
    ui.page.fill("#id_body", "尊敬的{customer_name}：{window}停电，详询{hotlin}。")
    ui.page.click("[data-testid=save-button]")
    ui.page.wait_for_selector("[data-testid=template-form] .errorlist")
    assert "{hotlin}" in ui.page.inner_text("[data-testid=template-form] .errorlist")
    assert "{hotlin}" in ui.page.input_value("#id_body")  # what was typed is kept
    ui.page.fill("#id_body", "尊敬的{customer_name}：{window}停电，详询{hotline}。")
    ui.page.fill("#id_sample_account", city.north_customer.account_no)
    ui.page.click("[data-testid=preview-button]")
    ui.page.wait_for_selector("[data-testid=preview-body]")
    assert ui.page.inner_text("[data-testid=preview-body]").startswith("尊敬的王小明：")
    assert "95598" in ui.page.inner_text("[data-testid=preview-body]")
    ui.screenshot("notices-template-preview")
    ui.page.click("[data-testid=save-button]")
    ui.page.wait_for_selector("[data-testid=template-source]:has-text('已修改')")
    assert NoticeTemplate.objects.get(kind="outage_published", channel="sms").body.endswith("{hotline}。")
    assert ui.console_errors == []
