"""Stored XSS, in a real browser: script typed into every free-text field a person can fill never runs.

Each payload shape goes into the work order (address, description, caller name, reply), the customer (name,
address), the crew unit and a user's name, a vehicle, an outage (title, cause) and its notices, a notice
template, tag categories and definitions, a segment and an orderly-use plan. Then every page that shows them
is opened — the dispatcher map with every tooltip open, the crew phone page, the customer 360 with its
fragments, notices, tags, plans, reports, the admin — and each must show the payload as text, with no script
run (`window.__xss`), no dialog, no `javascript:` link, no CSP violation and no console error.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from gridcare.dsm.models import OrderlyUsePlan
from gridcare.notices import config as notice_config
from gridcare.notices import services as notices
from gridcare.notices.models import NoticeTemplate
from gridcare.repair import services as repair
from gridcare.repair.models import RepairTicket, Vehicle
from gridcare.tags.models import Segment, TagCategory, TagDefinition
from gridcare.workorders import services as wo
from tests.browser import Page
from tests.conftest import City
from tests.factories import PASSWORD, make_device
from tests.workorders.helpers import cat

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAYLOADS = [
    "<img src=x onerror=window.__xss=1>",
    '"><svg onload=window.__xss=1>',
    "</script><script>window.__xss=1</script>",
    "javascript:window.__xss=1//",
    "'><a href=javascript:window.__xss=1>{{7*7}}</a>",
]

# Before any page script: record CSP violations, and catch Leaflet's map so the test can open every tooltip
# (the markers are drawn on a canvas; hovering each one by coordinates would be brittle).
INIT = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + e.blockedURI + " " + (e.sourceFile || "") + ":" + e.lineNumber);
});
window.__maps = [];
(function () {
  var real;
  Object.defineProperty(window, "L", { configurable: true, get: function () { return real; }, set: function (v) {
    real = v;
    if (v && v.Map && v.Map.addInitHook) { v.Map.addInitHook(function () { window.__maps.push(this); }); }
  }});
})();
"""

CHECK = """() => {
  const bad = [];
  for (const e of document.querySelectorAll("[href], [src], [action], [formaction]")) {
    for (const a of ["href", "src", "action", "formaction"]) {
      const v = (e.getAttribute(a) || "").replace(/[\\s\\u0000-\\u001f]/g, "").toLowerCase();
      if (v.startsWith("javascript:") || v.startsWith("data:text/html")) { bad.push(a + "=" + v); }
    }
  }
  return { xss: window.__xss, csp: window.__csp || [], links: bad, text: document.body.innerText };
}"""


@pytest.fixture(autouse=True)
def _inapp_notices(tmp_path: Path) -> Iterator[None]:
    env = {"GRIDCARE_NOTICE_CHANNELS": "inapp", "GRIDCARE_OUTBOX_DIR": str(tmp_path / "outbox")}
    notice_config.override(notice_config.load_config(env))
    yield
    notice_config.override(None)


def seed(city: City, p: str) -> dict[str, Any]:
    """The payload in every free-text field, written the way the application writes it (services)."""
    now = timezone.now()
    for user in (city.admin, city.dispatcher_north, city.crew_member, city.analyst, city.agent):
        user.first_name = p
        user.save(update_fields=["first_name"])
    city.crew_north.name = p
    city.crew_north.save(update_fields=["name"])
    customer = city.north_customer
    customer.name, customer.address = p, p
    customer.save(update_fields=["name", "address"])
    city.north_net.areas[0].name = p
    city.north_net.areas[0].save(update_fields=["name"])
    vehicle = Vehicle.objects.create(
        plate=p[:16], crew=city.crew_north, device=make_device("dev-x"), crew_type="both", home_lat=30.2, home_lon=120.1
    )
    orders = []
    for _ in range(2):
        order = wo.workorder_create(
            actor=city.agent,
            channel="phone",
            category=cat("repair"),
            customer=customer,
            description=p,
            caller_name=p[:50],
            address=p,
        )
        wo.workorder_dispatch(order=order, actor=city.shift_lead, unit=city.north)
        orders.append(order)
    repair.repair_assign(ticket=RepairTicket.objects.get(workorder=orders[0]), vehicle=vehicle, actor=city.admin)
    consult = wo.workorder_create(
        actor=city.agent, channel="web", category=cat("consult"), customer=customer, description=p, caller_name=p[:50]
    )
    consult = wo.workorder_take(order=consult, actor=city.admin)
    wo.workorder_reply(order=consult, actor=city.admin, text=p)
    outage = notices.outage_create(
        kind="planned",
        title=p,
        cause=p,
        unit=city.north,
        starts_at=now + dt.timedelta(days=3),
        ends_at=now + dt.timedelta(days=3, hours=4),
        feeders=[city.north_net.feeder],
        actor=city.admin,
    )
    notices.outage_publish(outage=outage, actor=city.admin, channels=["inapp"], late_reason=p)
    NoticeTemplate.objects.create(kind="outage_published", channel="sms", subject=p, body=p, updated_at=now)
    category = TagCategory.objects.create(name=p[:60], level=1)
    TagDefinition.objects.create(
        code="xss-probe",
        name=p[:60],
        category=category,
        definition=p,
        owner=p,
        data_sources=p,
        business_rule=p,
        math_model=p,
        rule={"kind": "sql", "sql": p},
        values=[p],
    )
    Segment.objects.create(
        name=p, expression="elec_category=居民", description=p, created_by=city.analyst, created_at=now
    )
    plan = OrderlyUsePlan.objects.create(
        name=p,
        target_kw=Decimal(100),
        window_start=now + dt.timedelta(days=1),
        window_end=now + dt.timedelta(days=1, hours=2),
        created_by=p,
        created_at=now,
    )
    plan.feeders.add(city.north_net.feeder)
    return {"order": orders[0], "consult": consult, "outage": outage, "plan": plan, "customer": customer}


def visit(ui: Page, path: str, payload: str, wait: str | None = None) -> dict[str, Any]:
    ui.goto(path)
    if wait:
        ui.page.wait_for_selector(wait)
    ui.page.wait_for_load_state("networkidle")
    found = ui.page.evaluate(CHECK)
    assert found["xss"] is None, f"script ran on {path}"
    assert found["csp"] == [], f"CSP violations on {path}: {found['csp']}"
    assert found["links"] == [], f"javascript: link on {path}: {found['links']}"
    # lower(): the admin's CSS upper-cases the greeting, and innerText reports what is displayed
    assert payload.lower() in found["text"].lower(), f"{path} does not show the payload as text"
    return found


def session(browser: Any, base_url: str, username: str, dialogs: list[str]) -> Page:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    context.add_init_script(INIT)
    page = Page(context.new_page(), base_url)
    page.page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.login(username, PASSWORD)
    page.page.wait_for_selector("#global-search")
    return page


@pytest.mark.parametrize("payload", PAYLOADS, ids=["img-onerror", "svg-onload", "script-close", "js-url", "a-href"])
def test_script_in_every_free_text_field_never_runs(city: City, browser: Any, live_server: Any, payload: str) -> None:
    data = seed(city, payload)
    order, consult, outage, plan = data["order"], data["consult"], data["outage"], data["plan"]
    account = data["customer"].account_no
    dialogs: list[str] = []

    admin = session(browser, live_server.url, "admin", dialogs)
    for path, wait in [
        ("/", None),
        ("/workorders/", None),
        (f"/workorders/{order.number}/", None),
        (f"/workorders/{consult.number}/", None),
        (f"/customers/?q={account}", None),
        (f"/customers/{account}/", "[data-testid=topology-path]"),
        (f"/workorders/new/?account={account}", None),
        ("/notices/", None),
        (f"/notices/outages/{outage.pk}/", None),
        ("/notices/public/", None),
        ("/notices/templates/", None),
        ("/notices/templates/outage_published/sms/", None),
        ("/tags/", None),
        ("/tags/segments/", None),
        ("/dsm/plans/", None),
        (f"/dsm/plans/{plan.pk}/", None),
        ("/repair/reports/", None),
        ("/admin/workorders/workorder/", None),
        (f"/admin/workorders/workorder/{order.pk}/change/", None),
    ]:
        visit(admin, path, payload, wait)
    # the customer 360 fills its sections from fragments: wait for them, then check again
    admin.goto(f"/customers/{account}/")
    admin.page.wait_for_load_state("networkidle")
    admin.page.wait_for_timeout(300)
    found = admin.page.evaluate(CHECK)
    assert found["xss"] is None and found["csp"] == [] and found["links"] == []
    assert admin.console_errors == [], admin.console_errors

    dispatcher = session(browser, live_server.url, "disp_n", dialogs)
    visit(dispatcher, "/repair/dispatch/", payload, f"#tickets button[data-number='{order.number}']")
    dispatcher.page.click(f"#tickets button[data-number='{order.number}']")
    dispatcher.page.wait_for_selector("#candidates button[data-assign], #candidates td.muted")
    tooltips = dispatcher.page.evaluate(
        """() => {
          const texts = [];
          for (const map of window.__maps) {
            map.eachLayer((layer) => {
              if (layer.getTooltip && layer.getTooltip()) {
                layer.openTooltip(layer.getLatLng ? layer.getLatLng() : layer.getCenter());
                texts.push(layer.getTooltip().getElement().textContent);
              }
            });
          }
          return texts;
        }"""
    )
    assert any(payload in t for t in tooltips), tooltips  # the order's address, shown as text
    assert any(payload[:16] in t for t in tooltips), tooltips  # the vehicle's plate
    dispatcher.page.wait_for_timeout(200)
    found = dispatcher.page.evaluate(CHECK)
    assert found["xss"] is None and found["csp"] == [], found["csp"]
    assert dispatcher.console_errors == [], dispatcher.console_errors

    crew = session(browser, live_server.url, "crew1", dialogs)
    visit(crew, "/crew/", payload, "#crew-orders li")
    assert crew.console_errors == [], crew.console_errors

    analyst = session(browser, live_server.url, "analyst", dialogs)
    for path in ("/tags/", "/tags/segments/", "/dsm/plans/", f"/dsm/plans/{plan.pk}/"):
        visit(analyst, path, payload)
    assert analyst.console_errors == [], analyst.console_errors
    assert dialogs == []
