"""The deadline preview: what an order accepted at any instant would be due by, through the API."""

from __future__ import annotations

import datetime as dt
from typing import Any

import time_machine
from django.test import Client

from gridcare.core.calendar import invalidate_calendar
from gridcare.core.models import CalendarDay, CalendarYear
from gridcare.org.services import token_create
from tests.conftest import City
from tests.workorders.helpers import bj

PREVIEW = "/api/v1/workorders/deadline-preview"


def preview(client: Client, headers: dict[str, str], **query: str) -> Any:
    return client.get(PREVIEW, query, headers=headers)


def due(body: dict[str, Any], milestone: str) -> dt.datetime:
    return dt.datetime.fromisoformat(next(d["due_at"] for d in body["deadlines"] if d["milestone"] == milestone))


def auth(city: City) -> dict[str, str]:
    _, raw = token_create(user=city.agent, actor=None)
    return {"Authorization": f"Bearer {raw}"}


def test_a_complaint_before_national_day_is_due_after_it_with_or_without_a_zone(city: City, client: Client) -> None:
    h = auth(city)
    for accepted in ("2026-09-30T16:00:00+08:00", "2026-09-30T08:00:00Z", "2026-09-30T16:00:00"):
        r = preview(client, h, category="complaint_service", accepted_at=accepted)
        assert r.status_code == 200, r.content
        body = r.json()
        assert due(body, "contact") == bj(2026, 10, 8, 16), accepted
        assert due(body, "reply") == bj(2026, 10, 14, 16)
        assert body["calendar_warning"] == ""
        assert [d["milestone"] for d in body["deadlines"]] == ["contact", "reply"]  # soonest first


def test_make_up_working_days_count_and_the_spring_festival_does_not(city: City, client: Client) -> None:
    h = auth(city)
    # Friday 13 February 2026: Saturday the 14th is a make-up working day, then the holiday runs to the 23rd.
    body = preview(client, h, category="complaint_service", accepted_at="2026-02-13T09:30:00+08:00").json()
    assert due(body, "contact") == bj(2026, 2, 14, 9, 30)
    body = preview(client, h, category="complaint_service", accepted_at="2026-02-14T09:30:00+08:00").json()
    assert due(body, "contact") == bj(2026, 2, 24, 9, 30)


def test_the_preview_is_what_intake_then_stores(city: City, client: Client) -> None:
    h = auth(city)
    account = city.north_customer.account_no
    for at in (bj(2026, 4, 30, 17, 45), bj(2026, 12, 31, 23, 59), bj(2026, 6, 18, 8)):
        query = {"category": "service_meter_check", "account_no": account, "accepted_at": at.isoformat()}
        shown = preview(client, h, **query).json()
        with time_machine.travel(at, tick=False):
            made = client.post(
                "/api/v1/workorders",
                {"category": "service_meter_check", "account_no": account, "description": "申请校验电能表"},
                content_type="application/json",
                headers=h,
            ).json()
        stored = {d["milestone"]: (d["due_at"], d["warn_at"]) for d in made["deadlines"]}
        assert {d["milestone"]: (d["due_at"], d["warn_at"]) for d in shown["deadlines"]} == stored, at


def test_a_year_without_calendar_data_warns_and_an_administrator_can_add_it(city: City, client: Client) -> None:
    h = auth(city)
    body = preview(client, h, category="complaint_service", accepted_at="2027-09-30T16:00:00+08:00").json()
    assert due(body, "contact") == bj(2027, 10, 1, 16)  # weekends only: 1 October 2027 is a Friday
    assert "2027" in body["calendar_warning"]
    CalendarYear.objects.create(year=2027, source="国务院办公厅通知（测试）")
    CalendarDay.objects.bulk_create(
        [CalendarDay(date=dt.date(2027, 10, day), kind="holiday", name="国庆节") for day in range(1, 8)]
    )
    invalidate_calendar()  # the admin's save does this; the workers reload within a minute
    body = preview(client, h, category="complaint_service", accepted_at="2027-09-30T16:00:00+08:00").json()
    assert due(body, "contact") == bj(2027, 10, 8, 16) and body["calendar_warning"] == ""


def test_a_bad_question_gets_a_message_a_person_can_act_on(city: City, client: Client) -> None:
    h = auth(city)
    at = "2026-09-30T16:00:00+08:00"
    unknown = preview(client, h, category="no_such", accepted_at=at)
    assert unknown.status_code == 400 and "GET /api/v1/workorders/categories" in unknown.json()["detail"]
    for field, value in (("priority", "asap"), ("area_class", "moon"), ("supply_class", "hv_triple")):
        r = preview(client, h, category="complaint_service", accepted_at=at, **{field: value})
        assert r.status_code == 400 and value in r.json()["detail"], (field, r.content)
    garbled = preview(client, h, category="complaint_service", accepted_at="30/09/2026")
    assert garbled.status_code == 422 and "accepted_at" in garbled.content.decode()
    missing = preview(client, h, category="complaint_service")
    assert missing.status_code == 422
    assert preview(client, {}, category="complaint_service", accepted_at=at).status_code == 401
