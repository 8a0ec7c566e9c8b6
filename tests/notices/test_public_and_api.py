"""Public outage page and feeds (valid JSON and iCalendar), the API, the operator pages and the 360 fragment."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import icalendar
import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from gridcare.notices import delivery, services
from gridcare.notices.models import InAppMessage, Message, Outage, OutageStatus
from tests.conftest import City, login

SH = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture(autouse=True)
def office_hours() -> Any:
    """Pages read the clock; fix it in the working day so quiet hours never decide a result."""
    with time_machine.travel(dt.datetime(2026, 10, 8, 10, 0, tzinfo=SH), tick=False):
        yield


def published(city: City, *, days: int = 10, net: Any = None, kind: str = "planned") -> Outage:
    net = net or city.north_net
    now = timezone.now()
    start = now + dt.timedelta(days=days)
    o = services.outage_create(
        kind=kind,
        title=f"{net.feeder.name} 检修",
        cause="更换开关柜",
        unit=net.feeder.unit,
        starts_at=start,
        ends_at=start + dt.timedelta(hours=6),
        feeders=[net.feeder],
        actor=None,
    )
    services.outage_publish(outage=o, actor=None, late_reason="测试" if days < 7 else "")
    o.refresh_from_db()
    return o


def test_public_feeds_are_valid_json_and_icalendar_and_filter_by_area(city: City, client: Client) -> None:
    north = published(city)
    south = published(city, net=city.south_net, days=8)
    fault = services.outage_publish_fault(
        unit=city.north,
        title="故障停电；抢修中",
        cause="",
        started_at=timezone.now() - dt.timedelta(minutes=30),
        etr=timezone.now() + dt.timedelta(hours=2),
        areas=[city.north_net.areas[0]],
        actor=None,
    )
    north_district = city.north_net.areas[0].district
    assert north_district is not None

    page = client.get("/notices/public/")
    assert page.status_code == 200 and north.title in page.content.decode()

    data = json.loads(client.get("/notices/public/outages.json").content)
    assert {o["id"] for o in data["outages"]} == {north.pk, south.pk, fault.pk}
    by_id = {o["id"]: o for o in data["outages"]}
    assert by_id[fault.pk]["planned"] is False and by_id[fault.pk]["state"] == "current"
    assert by_id[north.pk]["planned"] is True and by_id[north.pk]["state"] == "upcoming"
    assert by_id[north.pk]["cause"] == "更换开关柜" and by_id[fault.pk]["etr"] is not None
    assert by_id[north.pk]["last_update"]

    area = json.loads(client.get(f"/notices/public/outages.json?district={north_district.code}").content)
    assert {o["id"] for o in area["outages"]} == {north.pk, fault.pk}

    ics = client.get(f"/notices/public/outages.ics?district={north_district.code}")
    assert ics["Content-Type"].startswith("text/calendar")
    cal = icalendar.Calendar.from_ical(ics.content)
    events = [c for c in cal.walk("VEVENT")]
    assert {str(e["UID"]).split("@")[0] for e in events} == {f"outage-{north.pk}", f"outage-{fault.pk}"}
    planned_event = next(e for e in events if str(e["UID"]).startswith(f"outage-{north.pk}@"))
    assert planned_event.decoded("DTSTART") == north.starts_at
    assert "更换开关柜" in str(planned_event["DESCRIPTION"])
    fault_event = next(e for e in events if str(e["UID"]).startswith(f"outage-{fault.pk}@"))
    assert str(fault_event["SUMMARY"]).endswith("故障停电；抢修中")
    # Every physical line respects the 75-octet limit.
    assert max(len(line) for line in ics.content.split(b"\r\n")) <= 75

    api = client.get("/api/v1/notices/public/outages")
    assert api.status_code == 200 and len(api.json()["outages"]) == 3


def test_cancelled_outage_shows_as_cancelled_in_the_calendar(city: City, client: Client) -> None:
    o = published(city)
    services.outage_cancel(outage=o, reason="改期", actor=None)
    cal = icalendar.Calendar.from_ical(client.get("/notices/public/outages.ics").content)
    [event] = cal.walk("VEVENT")
    assert str(event["STATUS"]) == "CANCELLED"


def test_api_refuses_a_three_day_publication_without_a_reason_with_a_chinese_message(
    city: City, client: Client
) -> None:
    login(client, city.dispatcher_north)
    start = (timezone.now() + dt.timedelta(days=3)).astimezone(SH)
    created = client.post(
        "/api/v1/notices/outages",
        {
            "kind": "planned",
            "title": "检修",
            "starts_at": start.isoformat(),
            "ends_at": (start + dt.timedelta(hours=4)).isoformat(),
            "feeders": [city.north_net.feeder.code],
        },
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    oid = created.json()["id"]
    refused = client.post(f"/api/v1/notices/outages/{oid}/publish", {}, content_type="application/json")
    assert refused.status_code == 400
    assert "late_reason" in refused.json()["errors"] and "7 天" in refused.json()["detail"]
    ok = client.post(
        f"/api/v1/notices/outages/{oid}/publish", {"late_reason": "抢修后消缺"}, content_type="application/json"
    )
    assert ok.status_code == 200 and ok.json()["recipients"] == 1
    assert client.get(f"/api/v1/notices/outages/{oid}").json()["is_late"] is True


def test_api_rejects_unknown_network_codes_and_foreign_scope(city: City, client: Client) -> None:
    login(client, city.dispatcher_north)
    start = (timezone.now() + dt.timedelta(days=9)).isoformat()
    r = client.post(
        "/api/v1/notices/outages",
        {"kind": "planned", "title": "x", "starts_at": start, "feeders": [city.south_net.feeder.code, "NOPE"]},
        content_type="application/json",
    )
    assert r.status_code == 400 and "NOPE" in r.json()["detail"] and city.south_net.feeder.code in r.json()["detail"]
    assert not Outage.objects.exists()
    login(client, city.analyst)
    r = client.post(
        "/api/v1/notices/outages",
        {"kind": "planned", "title": "x", "starts_at": start, "feeders": [city.north_net.feeder.code]},
        content_type="application/json",
    )
    assert r.status_code == 403


def test_operator_pages_preview_publish_and_show_the_delivery_log(city: City, client: Client) -> None:
    login(client, city.dispatcher_north)
    start = timezone.localtime(timezone.now() + dt.timedelta(days=10)).strftime("%Y-%m-%dT%H:%M")
    end = timezone.localtime(timezone.now() + dt.timedelta(days=10, hours=5)).strftime("%Y-%m-%dT%H:%M")
    r = client.post(
        "/notices/outages/new/",
        {
            "kind": "planned",
            "title": "计划检修",
            "cause": "线路改造",
            "starts_at": start,
            "ends_at": end,
            "feeders": city.north_net.feeder.code,
        },
    )
    assert r.status_code == 302
    outage = Outage.objects.get()
    detail = client.get(f"/notices/outages/{outage.pk}/").content.decode()
    assert "线路改造" in detail and "95598" in detail  # the preview
    r = client.post(f"/notices/outages/{outage.pk}/publish/", {"channels": ["inapp"]})
    assert r.status_code == 302
    outage.refresh_from_db()
    assert outage.status == OutageStatus.PUBLISHED
    delivery.deliver_all(timezone.now())
    notice = outage.notices.get()
    log = client.get(f"/notices/sent/{notice.pk}/").content.decode()
    assert city.north_customer.account_no in log
    assert client.get("/notices/").status_code == 200
    fragment = client.get(f"/notices/customers/{city.north_customer.account_no}/").content.decode()
    assert "计划检修" in fragment and 'data-testid="customer-notices"' in fragment
    # The portal link in the fragment opens the customer's own page without a login.
    portal = fragment.split('href="/notices/portal/')[1].split('"')[0]
    anon = Client()
    page = anon.get(f"/notices/portal/{portal}").content.decode()
    assert "线路改造" in page and InAppMessage.objects.filter(customer=city.north_customer).exists()
    assert anon.get("/notices/portal/forged-token/").status_code == 404


def test_window_form_shows_the_late_reason_error_next_to_the_field(city: City, client: Client) -> None:
    o = published(city)
    login(client, city.dispatcher_north)
    soon = timezone.localtime(timezone.now() + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    r = client.post(f"/notices/outages/{o.pk}/window/", {"starts_at": soon, "ends_at": ""})
    assert r.status_code == 200 and "延迟发布原因" in r.content.decode()
    assert Message.objects.filter(notice__outage=o).count() == 1  # nobody re-notified


def test_announcement_with_an_uploaded_list_names_unknown_accounts(city: City, client: Client) -> None:
    login(client, city.analyst)
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("list.csv", f"户号\n{city.north_customer.account_no}\n9999999999\n".encode())
    r = client.post("/notices/announce/", {"title": "电价调整", "text": "说明", "accounts_file": upload, "send": "1"})
    assert r.status_code == 200 and "9999999999" in r.content.decode()
    upload = SimpleUploadedFile(
        "list.csv", f"户号\n{city.north_customer.account_no}\n{city.south_customer.account_no}\n".encode()
    )
    r = client.post("/notices/announce/", {"title": "电价调整", "text": "说明", "accounts_file": upload, "send": "1"})
    assert r.status_code == 302
    assert set(Message.objects.values_list("customer_id", flat=True)) == {
        city.north_customer.pk,
        city.south_customer.pk,
    }


def test_the_intake_api_tells_of_known_outages_before_an_order_is_taken(city: City, client: Client) -> None:
    from gridcare.org.services import token_create

    outage = published(city, days=2)
    _, raw = token_create(user=city.agent, actor=None)
    auth = {"Authorization": f"Bearer {raw}"}
    url = "/api/v1/workorders/known-outages"
    north = client.get(url, {"account_no": city.north_customer.account_no}, headers=auth)
    assert north.status_code == 200
    (known,) = north.json()
    assert known["kind"] == "planned" and outage.title in known["title"] and known["cause"] == "更换开关柜"
    assert dt.datetime.fromisoformat(known["etr"]) == outage.ends_at
    assert client.get(url, {"account_no": city.south_customer.account_no}, headers=auth).json() == []
    unknown = client.get(url, {"account_no": "no-such"}, headers=auth)
    assert unknown.status_code == 400 and "no-such" in unknown.json()["detail"]
