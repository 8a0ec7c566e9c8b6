"""The work-order API as a partner system or the agent's browser would use it."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from gridcare.org.roles import Role
from gridcare.org.services import token_create
from gridcare.workorders.models import IdempotencyKey, WorkOrder
from tests import factories as f
from tests.conftest import City
from tests.workorders.helpers import bj


def api(client: Client, user: Any) -> tuple[Client, dict[str, str]]:
    _, raw = token_create(user=user, actor=None)
    return client, {"Authorization": f"Bearer {raw}"}


def post(client: Client, headers: dict[str, str], path: str, body: dict[str, Any]):  # type: ignore[no-untyped-def]
    return client.post(path, body, content_type="application/json", headers=headers)


def test_complaint_through_the_api_has_its_national_day_deadline(city: City, client: Client) -> None:
    c, h = api(client, city.agent)
    with time_machine.travel(bj(2026, 9, 30, 16), tick=False):
        r = post(
            c,
            h,
            "/api/v1/workorders",
            {
                "category": "complaint_service",
                "account_no": city.north_customer.account_no,
                "description": "抄表员态度差",
            },
        )
    assert r.status_code == 201, r.content
    body = r.json()
    contact = next(d for d in body["deadlines"] if d["milestone"] == "contact")
    assert dt.datetime.fromisoformat(contact["due_at"]) == bj(2026, 10, 8, 16)
    assert body["unit"] == city.marketing.code


def test_retried_post_with_the_same_idempotency_key_creates_one_order(city: City, client: Client) -> None:
    c, h = api(client, city.agent)
    body = {"category": "consult", "caller_name": "刘女士", "caller_phone": "13911112222", "description": "新装流程"}
    first = post(c, {**h, "Idempotency-Key": "call-123"}, "/api/v1/workorders", body)
    second = post(c, {**h, "Idempotency-Key": "call-123"}, "/api/v1/workorders", body)
    assert first.status_code == 201 and second.status_code == 200
    assert first.json()["number"] == second.json()["number"]
    assert WorkOrder.objects.count() == 1
    other = post(c, {**h, "Idempotency-Key": "call-123"}, "/api/v1/workorders", {**body, "description": "别的"})
    assert other.status_code == 409


def test_a_retry_is_answered_with_exactly_the_first_answer_in_beijing_time(city: City, client: Client) -> None:
    c, h = api(client, city.agent)
    body = {"category": "complaint_service", "account_no": city.north_customer.account_no, "description": "电压低"}
    with time_machine.travel(bj(2026, 11, 2, 9, 15) + dt.timedelta(seconds=30), tick=False):
        first = post(c, {**h, "Idempotency-Key": "same"}, "/api/v1/workorders", body)
        again = post(c, {**h, "Idempotency-Key": "same"}, "/api/v1/workorders", body)
    assert (first.status_code, again.status_code) == (201, 200)
    # The first answer is built from what intake wrote, the retry from what it reads back: the same order.
    assert first.json() == again.json()
    assert first.json()["accepted_at"] == "2026-11-02T09:15:30+08:00"
    assert {d["due_at"][-6:] for d in first.json()["deadlines"]} == {"+08:00"}


def test_invalid_transition_is_409_with_allowed_actions(city: City, client: Client) -> None:
    c, h = api(client, city.agent)
    number = post(
        c,
        h,
        "/api/v1/workorders",
        {"category": "complaint_service", "account_no": city.north_customer.account_no, "description": "x"},
    ).json()["number"]
    c2, h2 = api(client, city.handler)
    r = post(c2, h2, f"/api/v1/workorders/{number}/actions/reply", {"text": "已处理"})
    assert r.status_code == 409
    assert "take" in r.json()["errors"]["allowed_actions"]
    assert post(c2, h2, f"/api/v1/workorders/{number}/actions/take", {}).status_code == 200
    assert post(c2, h2, f"/api/v1/workorders/{number}/actions/teleport", {}).status_code == 400


def test_roles_and_scope_are_enforced(city: City, client: Client) -> None:
    c, h = api(client, city.agent)
    number = post(
        c,
        h,
        "/api/v1/workorders",
        {"category": "complaint_service", "account_no": city.north_customer.account_no, "description": "x"},
    ).json()["number"]
    assert post(c, h, f"/api/v1/workorders/{number}/actions/take", {}).status_code == 403  # agents don't take
    c3, h3 = api(client, city.dispatcher_south)
    assert c3.get(f"/api/v1/workorders/{number}", headers=h3).status_code == 404


def test_bad_input_gets_a_clear_4xx(city: City, client: Client) -> None:
    c, h = api(client, city.agent)
    r = post(c, h, "/api/v1/workorders", {"category": "nonsense", "description": "x"})
    assert r.status_code == 400 and "分类编码" in r.json()["detail"]
    r = post(c, h, "/api/v1/workorders", {"category": "consult", "description": "x", "account_no": "0000"})
    assert r.status_code == 400 and "0000" in r.json()["detail"]
    r = post(c, h, "/api/v1/workorders", {"description": "missing category"})
    assert r.status_code == 422 and "category" in r.json()["detail"]
    r = client.post("/api/v1/workorders", "{not json", content_type="application/json", headers=h)
    assert 400 <= r.status_code < 500


def test_unsatisfied_visit_through_the_api_reopens(city: City, client: Client) -> None:
    c, h = api(client, city.agent)
    number = post(
        c,
        h,
        "/api/v1/workorders",
        {"category": "complaint_service", "account_no": city.north_customer.account_no, "description": "x"},
    ).json()["number"]
    ch, hh = api(client, city.handler)
    post(ch, hh, f"/api/v1/workorders/{number}/actions/take", {})
    assert (
        post(ch, hh, f"/api/v1/workorders/{number}/actions/reply", {"text": "已处理"}).json()["status"]
        == "return_visit"
    )
    cq, hq = api(client, city.quality)
    r = post(cq, hq, f"/api/v1/workorders/{number}/visits", {"result": "unsatisfied", "note": "没解决"})
    assert r.status_code == 200 and r.json()["status"] == "dispatched"
    events = [e["action"] for e in cq.get(f"/api/v1/workorders/{number}/events", headers=hq).json()]
    assert "workorder.reopen" in events and "visit.close" in events


def test_list_filters(city: City, client: Client) -> None:
    c, h = api(client, city.agent)
    for _ in range(2):
        post(
            c,
            h,
            "/api/v1/workorders",
            {"category": "complaint_service", "account_no": city.north_customer.account_no, "description": "x"},
        )
    post(
        c,
        h,
        "/api/v1/workorders",
        {"category": "consult", "caller_name": "a", "caller_phone": "139", "description": "y"},
    )
    listing = c.get("/api/v1/workorders?category=complaint&status=dispatched", headers=h).json()
    assert listing["count"] == 2
    assert c.get("/api/v1/workorders?overdue=true", headers=h).json()["count"] == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_transitions_leave_one_winner(city: City) -> None:
    c, h = api(Client(), city.agent)
    number = post(
        c,
        h,
        "/api/v1/workorders",
        {"category": "complaint_service", "account_no": city.north_customer.account_no, "description": "x"},
    ).json()["number"]
    _, raw = token_create(user=city.handler, actor=None)
    barrier = threading.Barrier(2)
    codes: list[int] = []

    def take() -> None:
        client = Client()
        barrier.wait()
        codes.append(
            post(
                client, {"Authorization": f"Bearer {raw}"}, f"/api/v1/workorders/{number}/actions/take", {}
            ).status_code
        )
        connection.close()

    threads = [threading.Thread(target=take) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [200, 409]
    events = Client().get(f"/api/v1/workorders/{number}/events", headers=h).json()
    assert [e["action"] for e in events].count("workorder.take") == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_with_one_key_make_one_order(city: City) -> None:
    _, raw = token_create(user=city.agent, actor=None)
    barrier = threading.Barrier(4)
    numbers: list[str] = []

    def send() -> None:
        barrier.wait()
        r = post(
            Client(),
            {"Authorization": f"Bearer {raw}", "Idempotency-Key": "k-1"},
            "/api/v1/workorders",
            {"category": "consult", "caller_name": "a", "caller_phone": "1390", "description": "y"},
        )
        numbers.append(r.json()["number"])
        connection.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(numbers)) == 1 and WorkOrder.objects.count() == 1 and IdempotencyKey.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_intake_reads_twice_and_writes_every_row_in_a_pinned_number_of_queries(city: City) -> None:
    c, h = api(Client(), city.agent)
    body = {"category": "complaint_service", "account_no": city.north_customer.account_no, "description": "电压低"}
    post(c, {**h, "Idempotency-Key": "q-1"}, "/api/v1/workorders", body)  # the token is cached from here
    with CaptureQueriesContext(connection) as queries:
        repeat = post(c, {**h, "Idempotency-Key": "q-2"}, "/api/v1/workorders", body)
    assert repeat.status_code == 201, repeat.content
    sql = [q["sql"] for q in queries]
    # PostgreSQL: the customer, the new id with the repeat lookup, one query with every write.
    # SQLite: the same two reads inside BEGIN … COMMIT, then one INSERT per table and the repeat's counter.
    expected = {"postgresql": 3, "sqlite": 9}[connection.vendor]
    assert len(sql) == expected, [s[:80] for s in sql]
    writes = " ".join(sql)
    for table in ("workorders_workorder", "core_event", "workorders_deadline", "workorders_idempotencykey"):
        assert f'INSERT INTO "{table}"' in writes


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_intake_on_postgresql_reads_twice_and_writes_everything_in_one_query(city: City) -> None:
    c, h = api(Client(), city.agent)
    body = {"category": "complaint_service", "account_no": city.north_customer.account_no, "description": "电压低"}
    first = post(c, {**h, "Idempotency-Key": "q-1"}, "/api/v1/workorders", body)  # the token is cached from here
    with CaptureQueriesContext(connection) as queries:
        repeat = post(c, {**h, "Idempotency-Key": "q-2"}, "/api/v1/workorders", body)
    assert first.status_code == 201 and repeat.status_code == 201, repeat.content
    # The customer, the new id with the repeat lookup, then one query that is its own transaction.
    assert len(queries) == 3, [q["sql"][:80] for q in queries]
    write = queries[-1]["sql"]
    for table in ("workorders_workorder", "core_event", "workorders_deadline", "workorders_idempotencykey"):
        assert f'INSERT INTO "{table}"' in write
    assert "call_count = call_count + 1" in write  # the second call is a repeat of the first
    main = WorkOrder.objects.get(number=first.json()["number"])
    assert main.call_count == 2 and repeat.json()["repeat_of"] == main.number
    assert IdempotencyKey.objects.get(key="q-2").order.number == repeat.json()["number"]


def test_an_order_for_a_customer_outside_the_callers_scope_is_refused(city: City, client: Client) -> None:
    # An agent at the county service hall of the north centre: their data scope is the north centre's area.
    c, h = api(client, f.make_user(Role.AGENT, city.north))
    body = {"category": "consult", "description": "咨询电价"}
    outside = post(c, h, "/api/v1/workorders", {**body, "account_no": city.south_customer.account_no})
    assert outside.status_code == 400 and "不在您的数据范围内" in outside.json()["detail"]
    unknown = post(c, h, "/api/v1/workorders", {**body, "account_no": "no-such-account"})
    # The same answer as for an unknown account: a caller cannot probe which accounts exist elsewhere.
    assert unknown.status_code == 400
    assert unknown.json()["detail"].replace("no-such-account", "X") == outside.json()["detail"].replace(
        city.south_customer.account_no, "X"
    )
    inside = post(c, h, "/api/v1/workorders", {**body, "account_no": city.north_customer.account_no})
    assert inside.status_code == 201, inside.content
    assert inside.json()["account_no"] == city.north_customer.account_no
    assert WorkOrder.objects.count() == 1
