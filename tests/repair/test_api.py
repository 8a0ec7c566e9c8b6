"""A scripted repair through the HTTP API, as a telephony system, the repair centre and a crew app would."""

from __future__ import annotations

import datetime as dt
from typing import Any

import time_machine
from django.test import Client

from gridcare.org.services import token_create
from gridcare.repair.models import Vehicle
from tests import factories as f
from tests.conftest import City
from tests.workorders.helpers import bj

T0 = bj(2026, 11, 3, 21, 0)


def at(m: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=m)


def call(
    client: Client,
    user: Any,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    when: dt.datetime | None = None,
) -> Any:
    _, raw = token_create(user=user, actor=None)
    with time_machine.travel(when or T0, tick=False):
        if method == "GET":
            r = client.get(path, headers={"Authorization": f"Bearer {raw}"})
        else:
            r = client.post(
                path, body or {}, content_type="application/json", headers={"Authorization": f"Bearer {raw}"}
            )
    assert r.status_code < 300, (path, r.status_code, r.content)
    return r.json()


def repair_order(client: Client, city: City, *, posted: float, dispatched: float) -> str:
    """A repair call that ended at minute 0, taken at `posted` and sent by the shift lead at `dispatched`."""
    order = call(
        client,
        city.agent,
        "POST",
        "/api/v1/workorders",
        {
            "category": "repair",
            "account_no": city.north_customer.account_no,
            "description": "停电",
            "call_ended_at": at(0).isoformat(),
        },
        when=at(posted),
    )
    number: str = order["number"]
    call(
        client,
        city.shift_lead,
        "POST",
        f"/api/v1/workorders/{number}/actions/dispatch",
        {"unit": city.north.code},
        when=at(dispatched),
    )
    return number


def test_scripted_repair_over_http_names_who_lost_the_minutes(city: City, client: Client) -> None:
    Vehicle.objects.create(
        plate="浙A·D0007", crew=city.crew_north, device=f.make_device("dev-7"), home_lat=30.2, home_lon=120.1
    )
    number = repair_order(client, city, posted=1, dispatched=4)  # B: AB = 4 > 2
    call(client, city.dispatcher_north, "POST", f"/api/v1/repair/tickets/{number}/ack", when=at(5))  # C
    call(
        client,
        city.dispatcher_north,
        "POST",
        f"/api/v1/repair/tickets/{number}/assign",
        {"vehicle": "浙A·D0007"},
        when=at(6),
    )  # D
    mine = call(client, city.crew_member, "GET", "/api/v1/repair/crew/assignments", when=at(7))  # E (fetch)
    aid = mine[0]["id"]
    for action, m in (("accept", 8), ("depart", 9), ("arrive", 30)):
        call(
            client,
            city.crew_member,
            "POST",
            f"/api/v1/repair/crew/assignments/{aid}/{action}",
            {"lat": 30.2, "lon": 120.1},
            when=at(m),
        )
    ticket = call(client, city.dispatcher_north, "GET", f"/api/v1/repair/tickets/{number}", when=at(31))
    segs = {s["code"]: s for s in ticket["segments"]}
    assert [segs[c]["minutes"] for c in ["AB", "BC", "CD", "DE", "EF", "FG", "GH"]] == [4, 1, 1, 1, 1, 1, 21]
    assert segs["AB"]["overdue"] and segs["AB"]["lost_minutes"] == 2 and segs["AB"]["who"] == "lead"
    assert not any(s["overdue"] for c, s in segs.items() if c != "AB")
    assert ticket["arrival_minutes"] == 30 and ticket["arrival_target"] == 45
    report = call(client, city.dispatcher_north, "GET", "/api/v1/repair/reports/segments", when=at(40))
    ab = next(r for r in report["by_person"] if r["segment"] == "AB")
    assert ab["person"] == "lead" and ab["lost_minutes"] == 2.0
    from gridcare.core.models import Event

    stamped = {e.action: e.new["at"] for e in Event.objects.filter(action__in=["repair.A", "repair.B", "repair.H"])}
    assert len(stamped) == 3 and all(at.endswith("+08:00") for at in stamped.values()), stamped  # one time zone


def test_only_the_crew_holding_the_job_can_stamp_its_times_and_it_is_restored_once(city: City, client: Client) -> None:
    from gridcare.org.roles import Role

    Vehicle.objects.create(
        plate="浙A·D0008", crew=city.crew_north, device=f.make_device("dev-8"), home_lat=30.2, home_lon=120.1
    )
    other_crew = f.make_unit("crew", parent=city.north, scope_unit=city.north, name="城区抢修二班")
    outsider = f.make_user(Role.CREW, other_crew, "crew_other")
    number = repair_order(client, city, posted=1, dispatched=2)
    call(
        client,
        city.dispatcher_north,
        "POST",
        f"/api/v1/repair/tickets/{number}/assign",
        {"vehicle": "浙A·D0008"},
        when=at(3),
    )
    aid = call(client, city.crew_member, "GET", "/api/v1/repair/crew/assignments", when=at(4))[0]["id"]
    _, raw = token_create(user=outsider, actor=None)
    with time_machine.travel(at(5), tick=False):
        r = client.post(
            f"/api/v1/repair/crew/assignments/{aid}/accept",
            {},
            content_type="application/json",
            headers={"Authorization": f"Bearer {raw}"},
        )
    assert r.status_code == 404  # another crew of the same centre: not theirs
    path = f"/api/v1/repair/crew/assignments/{aid}"
    for action, m in (("accept", 6), ("depart", 7), ("arrive", 20)):
        call(client, city.crew_member, "POST", f"{path}/{action}", {}, when=at(m))
    call(client, city.crew_member, "POST", f"{path}/fault", {"fault_class": "低压", "cause_class": "老化"}, when=at(30))
    call(client, city.crew_member, "POST", f"{path}/done", {}, when=at(40))
    call(client, city.crew_member, "POST", f"{path}/restore", {}, when=at(41))
    _, crew_raw = token_create(user=city.crew_member, actor=None)
    with time_machine.travel(at(42), tick=False):
        again = client.post(
            f"{path}/restore", {}, content_type="application/json", headers={"Authorization": f"Bearer {crew_raw}"}
        )
    assert again.status_code == 409 and "复电" in again.json()["detail"]


def test_a_call_that_ended_days_before_the_order_is_refused(city: City, client: Client) -> None:
    _, raw = token_create(user=city.agent, actor=None)
    body = {
        "category": "repair",
        "account_no": city.north_customer.account_no,
        "description": "停电",
        "call_ended_at": (at(0) - dt.timedelta(days=7)).isoformat(),
    }
    with time_machine.travel(at(1), tick=False):
        r = client.post(
            "/api/v1/workorders", body, content_type="application/json", headers={"Authorization": f"Bearer {raw}"}
        )
    assert r.status_code == 400 and "call_ended_at" in r.json()["detail"]
    from gridcare.workorders.models import WorkOrder

    assert not WorkOrder.objects.exists()  # nothing half-written
