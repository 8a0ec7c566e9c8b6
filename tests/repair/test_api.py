"""A scripted repair through the HTTP API, as a telephony system, the repair centre and a crew app would."""

from __future__ import annotations

import datetime as dt
from typing import Any

import time_machine
from django.test import Client

from gridcare.org.services import token_create
from gridcare.repair.models import Vehicle
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


def test_scripted_repair_over_http_names_who_lost_the_minutes(city: City, client: Client) -> None:
    Vehicle.objects.create(
        plate="浙A·D0007", crew=city.crew_north, gps_device_id="dev-7", home_lat=30.2, home_lon=120.1
    )
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
        when=at(1),
    )
    number = order["number"]
    call(
        client,
        city.shift_lead,
        "POST",
        f"/api/v1/workorders/{number}/actions/dispatch",
        {"unit": city.north.code},
        when=at(4),
    )  # B: AB = 4 > 2
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
