"""The agent's intake screen and the order pages, driven in a real browser from the keyboard."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from gridcare.workorders import services as svc
from gridcare.workorders.models import WorkOrder
from tests.browser import Page
from tests.conftest import City
from tests.factories import PASSWORD
from tests.workorders.helpers import BJ, bj, cat

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_agent_takes_a_complaint_from_the_keyboard(city: City, ui: Page) -> None:
    ui.login("agent", PASSWORD)
    ui.goto("/workorders/new/")
    assert ui.page.evaluate("document.activeElement.id") == "customer-q"
    ui.page.keyboard.type("13812345678")  # the caller's phone number
    ui.page.keyboard.press("Enter")
    ui.page.wait_for_selector("#customer-panel .panel")
    panel = ui.page.inner_text("#customer-panel")
    assert "王小明" in panel and "暂无已知停电" in panel
    assert ui.page.input_value("#id_account_no") == city.north_customer.account_no
    ui.page.select_option("#id_category", label="投诉/服务")
    # The deadlines to promise the caller appear under the category, as intake will set them.
    ui.page.wait_for_function("() => document.getElementById('deadline-hint').textContent.includes('答复客户')")
    hint = ui.page.inner_text("#deadline-hint")
    promised = {
        svc.deadlines_preview(category=cat("complaint_service"), accepted_at=now, customer=city.north_customer)[0][0]
        .due_at.astimezone(BJ)
        .strftime("%Y-%m-%d %H:%M")
        for now in (timezone.now() - dt.timedelta(minutes=1), timezone.now())
    }
    assert hint.startswith("承诺时限：联系客户 ") and any(f"联系客户 {at}" in hint for at in promised), (hint, promised)
    ui.page.fill("#id_description", "客户反映营业厅排队时间过长，工作人员态度冷淡")
    ui.screenshot("intake")
    ui.page.keyboard.press("Control+Enter")
    ui.page.wait_for_selector("[data-testid=status]")
    order = WorkOrder.objects.get()
    assert order.number in ui.page.inner_text("h1")
    assert ui.page.inner_text("[data-testid=status]") == "已派发"
    assert "联系客户" in ui.page.inner_text("[data-testid=deadlines]")
    ui.screenshot("order-detail")
    assert ui.console_errors == []


def test_form_errors_are_shown_next_to_the_field_and_input_is_kept(city: City, ui: Page) -> None:
    ui.login("agent", PASSWORD)
    ui.goto("/workorders/new/")
    ui.page.fill("#id_description", "想咨询新装")
    ui.page.click("button[type=submit]")
    ui.page.wait_for_selector("#field-category .error")
    assert ui.page.input_value("#id_description") == "想咨询新装"
    ui.page.select_option("#id_category", label="咨询")
    ui.page.click("button[type=submit]")
    ui.page.wait_for_selector(".error")
    assert "来电人" in ui.page.inner_text("#field-caller_phone")
    assert WorkOrder.objects.count() == 0
    assert ui.console_errors == []


def test_handler_replies_and_quality_records_an_unsatisfied_visit(city: City, ui: Page) -> None:
    from gridcare.workorders import services
    from tests.workorders.helpers import complaint

    with time_machine.travel(bj(2026, 11, 2, 9), tick=True):
        order = complaint(city, bj(2026, 11, 2, 9))
    ui.login("handler", PASSWORD)
    ui.goto(f"/workorders/{order.number}/")
    ui.page.click("button[data-action=take]")
    ui.page.wait_for_selector("button[data-action=reply]")
    ui.page.fill("textarea[name=text]", "已核实并整改")
    ui.page.click("button[data-action=reply]")
    ui.page.wait_for_selector("[data-testid=status]")
    assert ui.page.inner_text("[data-testid=status]") == "待回访"
    ui.page.context.clear_cookies()
    ui.login("quality", PASSWORD)
    ui.goto(f"/workorders/{order.number}/")
    ui.page.select_option("select[name=result]", "unsatisfied")
    ui.page.fill("form[action$='/visit/'] input[name=note]", "问题仍未解决")
    ui.page.click("button[data-action=visit]")
    ui.page.wait_for_selector("[data-testid=status]")
    assert ui.page.inner_text("[data-testid=status]") == "已派发"
    assert "重新处理" in ui.page.inner_text("[data-testid=timeline]")
    services  # noqa: B018 - imported for the reader: the same services run behind these buttons
    assert ui.console_errors == []


def test_list_filters_stay_in_the_url_and_export_downloads_excel(city: City, ui: Page) -> None:
    from tests.workorders.helpers import complaint

    complaint(city, bj(2026, 11, 2, 9))
    ui.login("agent", PASSWORD)
    ui.goto("/workorders/?category=complaint")
    assert "共 1 张工单" in ui.page.inner_text("main")
    with ui.page.expect_download() as download:
        ui.page.click("text=导出 Excel")
    assert download.value.suggested_filename.endswith(".xlsx")
    from openpyxl import load_workbook

    with open(download.value.path(), "rb") as fh:
        rows = list(load_workbook(fh).active.iter_rows(values_only=True))
    assert rows[0][0] == "工单编号" and len(rows) == 2
    ui.screenshot("order-list")
    assert ui.console_errors == []


def test_customer_360_shows_orders_and_repeat_calls(city: City, ui: Page) -> None:
    from tests.workorders.helpers import complaint

    complaint(city, bj(2026, 11, 2, 9))
    complaint(city, bj(2026, 11, 2, 10))
    ui.login("agent", PASSWORD)
    ui.goto(f"/customers/{city.north_customer.account_no}/")
    ui.page.wait_for_selector("[data-testid=customer-orders]")
    table = ui.page.inner_text("[data-testid=customer-orders]")
    assert "重复来电" in table
    ui.screenshot("customer-360-orders")
    assert ui.console_errors == []
