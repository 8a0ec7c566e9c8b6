"""An agent finds a customer from the keyboard and reads the 360 page, in a real browser."""

from __future__ import annotations

import pytest

from tests.browser import Page
from tests.conftest import City
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_agent_finds_a_customer_by_keyboard_and_sees_the_path(city: City, ui: Page) -> None:
    ui.login("agent", PASSWORD)
    ui.page.wait_for_selector("#global-search")
    assert ui.page.evaluate("document.activeElement.id") == "global-search"
    ui.screenshot("home")
    ui.page.keyboard.type(city.north_customer.account_no)
    ui.page.keyboard.press("Enter")
    ui.page.wait_for_selector("[data-testid=topology-path]")
    path_text = ui.page.inner_text("[data-testid=topology-path]")
    assert city.north_net.substation.name in path_text
    assert city.north_net.areas[0].name in path_text
    assert "13812345678" in ui.page.inner_text("[data-testid=contacts]")
    ui.screenshot("customer-360")
    assert ui.console_errors == []


def test_analyst_sees_masked_phones(city: City, ui: Page) -> None:
    ui.login("analyst", PASSWORD)
    ui.goto(f"/customers/{city.north_customer.account_no}/")
    contacts = ui.page.inner_text("[data-testid=contacts]")
    assert "138****5678" in contacts and "13812345678" not in contacts
    assert ui.console_errors == []


def test_wrong_password_shows_a_chinese_error_and_keeps_the_username(city: City, ui: Page) -> None:
    ui.login("agent", "wrong-password")
    assert "用户名或密码不正确" in ui.page.inner_text("main")
    assert ui.page.input_value("#id_username") == "agent"
    ui.screenshot("login-error")
