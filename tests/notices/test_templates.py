"""The staff page for message templates: list, edit, preview with a real customer and outage, refuse mistakes."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.test import Client

from gridcare.core.models import Event
from gridcare.notices import delivery, rendering, services
from gridcare.notices.models import Message, NoticeTemplate
from tests.conftest import City, login

SH = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2026, 10, 8, 10, 0, tzinfo=SH)
EDIT = "/notices/templates/outage_published/sms/"


@pytest.fixture(autouse=True)
def office_hours() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


def publish(city: City) -> Any:
    start = NOW + dt.timedelta(days=10)
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
    return services.outage_publish(outage=outage, actor=None)


def test_the_list_shows_every_kind_and_channel_with_filters_in_the_url(city: City, client: Client) -> None:
    login(client, city.shift_lead)
    services.template_save(kind="payment_due", channel="sms", subject="缴费提醒", body="请缴费{amount}元", actor=None)
    page = client.get("/notices/templates/")
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('data-kind="') == 12 * 4 and "共 48 个模板" in html
    assert 'href="/notices/templates/"' in html  # the nav entry for a shift lead
    filtered = client.get("/notices/templates/?kind=payment_due&channel=sms").content.decode()
    assert filtered.count('data-kind="') == 1 and "已修改" in filtered and "请缴费{amount}元" in filtered


def test_only_shift_leads_and_administrators_may_open_the_template_pages(city: City, client: Client) -> None:
    login(client, city.agent)
    assert client.get("/notices/templates/").status_code == 404
    assert client.post(EDIT, {"subject": "x", "body": "y", "save": "1"}).status_code == 404
    assert 'href="/notices/templates/"' not in client.get("/notices/").content.decode()
    assert not NoticeTemplate.objects.exists()
    login(client, city.admin)
    assert client.get(EDIT).status_code == 200
    assert client.get("/notices/templates/outage_published/fax/").status_code == 404


def test_preview_fills_the_placeholders_from_a_real_customer_and_the_latest_outage(city: City, client: Client) -> None:
    publish(city)
    login(client, city.shift_lead)
    typed = "{customer_name}（{account_no}）：{window}因{reason}停电，预计{etr}恢复。热线{hotline}。"
    r = client.post(
        EDIT,
        {"subject": "停电：{title}", "body": typed, "sample_account": city.north_customer.account_no, "preview": "1"},
    )
    assert r.status_code == 200
    html = r.content.decode()
    body = html.split('data-testid="preview-body">')[1].split("</div>")[0]
    expected = (
        f"王小明（{city.north_customer.account_no}）：2026-10-18 10:00 至 16:00因更换柱上开关停电，"
        "预计2026-10-18 16:00恢复。热线95598。"
    )
    assert body == expected
    assert "城北线路年度检修" in html and typed in html  # the sample outage is named; what was typed is kept
    assert not NoticeTemplate.objects.exists()  # previewing saves nothing

    unknown = client.post(EDIT, {"subject": "x", "body": "y", "sample_account": "0000000000", "preview": "1"})
    assert "0000000000" in unknown.content.decode() and 'data-testid="preview-body"' not in unknown.content.decode()


@pytest.mark.parametrize(
    ("field", "text", "named"),
    [
        ("body", "尊敬的{custmer_name}，请致电{hotline}", "{custmer_name}"),
        ("subject", "停电通知：{titel}", "{titel}"),
        ("body", "尊敬的{customer_name，请致电{hotline}", "缺少右花括号"),
        ("body", "费用 100} 元", "多了一个"),
        ("body", "户号{}", "空的占位符"),
        ("body", "金额{amount:.2f}元", "{amount:.2f}"),
    ],
)
def test_an_unknown_placeholder_or_a_syntax_error_is_refused_on_save_naming_it(
    city: City, client: Client, field: str, text: str, named: str
) -> None:
    login(client, city.shift_lead)
    data = {"subject": "停电通知：{title}", "body": "尊敬的{customer_name}", "save": "1", field: text}
    r = client.post(EDIT, data)
    assert r.status_code == 200
    html = r.content.decode()
    errors = html.split(f'name="{field}"')[1].split("</p>")[0]  # the error sits next to the field
    assert 'class="errorlist' in errors and named in errors
    assert text in html  # what was typed is kept
    assert not NoticeTemplate.objects.exists()
    assert not Event.objects.filter(action="notice.template").exists()


def test_a_saved_template_is_what_the_next_messages_say_and_reset_goes_back_to_the_default(
    city: City, client: Client
) -> None:
    login(client, city.shift_lead)
    r = client.post(
        "/notices/templates/outage_published/inapp/",
        {"subject": "【停电】{title}", "body": "{customer_name}：{window}停电，热线{hotline}。", "save": "1"},
    )
    assert r.status_code == 302
    saved = NoticeTemplate.objects.get(kind="outage_published", channel="inapp")
    assert saved.body == "{customer_name}：{window}停电，热线{hotline}。"
    assert Event.objects.filter(action="notice.template", actor=city.shift_lead).exists()

    notice = publish(city)
    delivery.deliver_all(NOW)
    msg = Message.objects.get(notice=notice, customer=city.north_customer)
    assert msg.body == "王小明：2026-10-18 10:00 至 16:00停电，热线95598。"
    assert msg.inapp.title == "【停电】城北线路年度检修"

    r = client.post("/notices/templates/outage_published/inapp/", {"reset": "1"})
    assert r.status_code == 302 and not NoticeTemplate.objects.exists()
    page = client.get("/notices/templates/outage_published/inapp/").content.decode()
    assert "系统默认" in page and rendering.DEFAULTS["outage_published"].body.split("：")[0] in page


def test_the_service_refuses_what_the_page_refuses(city: City) -> None:
    from gridcare.core.errors import ServiceError

    with pytest.raises(ServiceError) as exc:
        services.template_save(kind="announcement", channel="sms", subject="{title}", body="{txet}", actor=None)
    assert exc.value.field == "body" and "{txet}" in exc.value.message
    with pytest.raises(ServiceError) as exc:
        services.template_save(kind="nonsense", channel="sms", subject="x", body="y", actor=None)
    assert exc.value.field == "kind"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("{{ customer.owner.password }}", "{{ … }}"),
        ("尊敬的{{customer_name}}", "{{ … }}"),
        ("{{ settings.SECRET_KEY|safe }}", "{{ … }}"),
        ("{% load static %}{customer_name}", "{% … %}"),
        ("{% include 'notices/x.html' %}", "{% … %}"),
        ("{% extends 'base.html' %}", "{% … %}"),
        ("{% debug %}", "{% … %}"),
        ("{% ssi '/etc/passwd' %}", "{% … %}"),
        ("{# 注释 #}{customer_name}", "{# … #}"),
        ("{customer_name.__class__.__init__.__globals__}", "{customer_name.__class__.__init__.__globals__}"),
        ("{account_no[0]}", "{account_no[0]}"),
        ("{customer_name!r}", "{customer_name!r}"),
        ("{amount:099999}", "{amount:099999}"),
        ("户号" * 1001, "太长"),
    ],
)
def test_a_template_reaching_outside_the_placeholders_is_refused_naming_the_construct(
    city: City, client: Client, text: str, named: str
) -> None:
    login(client, city.shift_lead)
    r = client.post(EDIT, {"subject": "停电通知：{title}", "body": text, "save": "1"})
    assert r.status_code == 200
    errors = r.content.decode().split('name="body"')[1].split("</p>")[0]
    assert 'class="errorlist' in errors and named in errors
    assert not NoticeTemplate.objects.exists()


def test_a_stored_template_that_bypassed_the_checks_renders_only_plain_values(city: City) -> None:
    """A row written straight into the table (or before the checks existed) never walks attributes or
    formats values: unknown fields render empty, the rest are plain text, the size is bounded."""
    NoticeTemplate.objects.create(
        kind="outage_published",
        channel="inapp",
        subject="{title.__class__}{title}",
        body="{customer_name.__class__.__mro__}|{account_no[0]}|{customer_name!r}|{hotline:>5000}|{customer_name}"
        + "{title}" * 3000,
        updated_at=NOW,
    )
    notice = publish(city)
    delivery.deliver_all(NOW)
    msg = Message.objects.get(notice=notice, customer=city.north_customer)
    assert msg.body.startswith("||王小明|95598|王小明")
    assert "class" not in msg.body and "'" not in msg.body
    assert len(msg.body) <= rendering.MAX_RENDERED_LENGTH
    assert msg.inapp.title == "城北线路年度检修"
