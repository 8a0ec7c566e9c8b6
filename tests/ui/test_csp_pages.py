"""Pages with third-party script still work under the Content-Security-Policy (no inline script allowed):
the API docs (Swagger UI), the Django admin, and the filters that used inline onchange handlers."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser import Page
from tests.conftest import City
from tests.factories import PASSWORD
from tests.ui.test_xss import INIT

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def signed_in(browser: Any, base_url: str) -> Page:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    context.add_init_script(INIT)
    page = Page(context.new_page(), base_url)
    page.login("admin", PASSWORD)
    page.page.wait_for_selector("#global-search")
    return page


def violations(ui: Page) -> list[str]:
    return ui.page.evaluate("() => window.__csp")  # type: ignore[no-any-return]


def test_api_docs_and_admin_work_under_the_policy(city: City, browser: Any, live_server: Any) -> None:
    ui = signed_in(browser, live_server.url)
    response = ui.goto("/api/v1/docs")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    ui.page.wait_for_selector("#swagger-ui .opblock", timeout=20_000)  # Swagger UI ran and drew the operations
    assert violations(ui) == []
    for path in ("/admin/", "/admin/org/user/", "/admin/org/user/add/", f"/admin/org/user/{city.agent.pk}/change/"):
        ui.goto(path)
        ui.page.wait_for_load_state("networkidle")
        assert violations(ui) == [], path
    assert ui.console_errors == []


def test_filters_apply_on_change_without_inline_handlers(city: City, browser: Any, live_server: Any) -> None:
    ui = signed_in(browser, live_server.url)
    ui.goto("/notices/")
    with ui.page.expect_navigation():
        ui.page.select_option("select[name=status][data-autosubmit]", index=1)
    assert "status=" in ui.page.url
    with ui.page.expect_navigation():
        ui.page.select_option("select[name=language]", "en")
    assert ui.page.evaluate("() => document.documentElement.lang") == "en"
    assert violations(ui) == [] and ui.console_errors == []
