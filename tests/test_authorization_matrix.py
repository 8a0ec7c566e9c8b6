"""The authorization matrix: every role × every state-changing endpoint × an object held by the user's own unit
and one held by another unit, each expecting the documented answer (docs/security.md, "Who may do what").

The expectations are written out here by hand, row by row, not read from gridcare.org.policy: a wrong entry in
the code's table then fails this test instead of being copied into it. Answers:
- ok: the request passed authorization (2xx, or a business answer such as 400/409 on an object in the wrong
  state — never 401, 403 or 404);
- 403: the role may not take the action (said before anything about the object);
- 404: the object is not the user's to act on — exactly what a missing object gets.
A new state-changing endpoint fails `test_every_state_changing_endpoint_has_a_row` until it gets its row.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from gridcare.dsm.models import DemandResponseEvent, OrderlyUsePlan, Participation
from gridcare.notices import services as notice_services
from gridcare.org.models import OrgUnit, User
from gridcare.org.roles import Role
from gridcare.org.services import token_create
from gridcare.repair.models import RepairTicket, Vehicle
from gridcare.workorders.models import WorkOrder
from tests import factories as f
from tests.conftest import City
from tests.workorders.helpers import complaint

ROLES = ("agent", "shift_lead", "dispatcher", "crew", "department", "quality", "analyst", "ivr", "admin")
A, SL, DI, CR, DE, QA, AN = "agent", "shift_lead", "dispatcher", "crew", "department", "quality", "analyst"
IV = "ivr"  # the IVR system's own account (a program, not a person)
# Data scope: the 95598 centre and the departments see the whole company; a repair centre's dispatchers and its
# crews see that centre's area. "Other" objects below belong to the south centre or another department.
NARROW_SCOPE = {DI, CR}


@dataclass(frozen=True)
class Row:
    method: str
    path: str  # the OpenAPI path (or a page's URL pattern), with {placeholders}
    obj: str  # what the placeholders name: order, ticket, assignment, vehicle, outage, fault, customer, plan, event,
    #           feeder (create on a feeder), storm_caller (a customer in a known outage, storm mode on), or ""
    #           for no object (creating something new)
    roles: frozenset[str]  # who may, on an object their own unit holds (administrators always may)
    anywhere: frozenset[str] = frozenset()  # who may also on an object another unit holds (within their scope)
    body: Any = None
    label: str = ""

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}" + (f" [{self.label}]" if self.label else "")


def row(method: str, path: str, obj: str, roles: set[str], anywhere: set[str] | None = None, **kw: Any) -> Row:
    return Row(method, path, obj, frozenset(roles), frozenset(anywhere or ()), **kw)


WO_FRONT = {A, SL}
WO_HANDLERS = {DE, DI, SL}
SCOPE_ALL = "scope"  # marker: on another unit's object, everyone with the role (who can see it) may


def wo(action: str, roles: set[str], anywhere: set[str] | str = frozenset(), **body: Any) -> Row:
    everywhere = roles if anywhere == SCOPE_ALL else set(anywhere)
    payload = {"reason": "测试原因", "note": "备注", "text": "已答复客户", **body}
    return row("POST", "/api/v1/workorders/{number}/actions/" + action, "order", roles, everywhere, body=payload)


TAG_CATEGORY = ["矩阵测试", "客户", "用电"]  # tags hang under a level-3 analysis theme


def _at(hours: int) -> str:
    return (timezone.now() + dt.timedelta(hours=hours)).isoformat()


ROWS: list[Row] = [
    # 95598 work orders
    row("POST", "/api/v1/workorders", "", {A, SL}, body={"category": "consult", "description": "咨询电价"}),
    wo("dispatch", WO_FRONT, {SL}),
    wo("recall", WO_FRONT | {DI}, {SL}),
    wo("cancel", WO_FRONT, {SL}),
    wo("merge", WO_FRONT | {QA}, SCOPE_ALL),
    wo("unmerge", WO_FRONT | {QA}, SCOPE_ALL),
    wo("supervise", {QA, SL}, SCOPE_ALL),
    wo("archive", WO_FRONT | {QA}, SCOPE_ALL),
    wo("transfer", WO_HANDLERS),
    wo("return", WO_HANDLERS),
    wo("take", WO_HANDLERS),
    wo("start", WO_HANDLERS),
    wo("complete_step", WO_HANDLERS),
    wo("suspend", WO_HANDLERS),
    wo("resume", WO_HANDLERS),
    wo("contact", WO_HANDLERS | WO_FRONT),
    wo("reply", WO_HANDLERS | WO_FRONT),
    row("POST", "/api/v1/workorders/{number}/visits", "order", {A, SL, QA}, {A, SL, QA}, body={"result": "satisfied"}),
    # Customers: a new contact number, on a customer in the user's data scope
    row(
        "POST",
        "/api/v1/customers/{account_no}/contacts",
        "customer",
        {A, SL},
        {A, SL},
        body={"name": "张先生", "phone": "13900001111", "kind": "self"},
    ),
    # Fault repair
    row("POST", "/api/v1/repair/tickets/{number}/ack", "ticket", {DI, SL}, {SL}, body={}),
    row("POST", "/api/v1/repair/tickets/{number}/assign", "ticket", {DI, SL}, {SL}, body={"vehicle": "{plate}"}),
    row("POST", "/api/v1/repair/tickets/{number}/recall", "ticket", {DI, SL}, {SL}, body={"reason": "派错"}),
    row("POST", "/api/v1/repair/vehicles/{plate}/queue", "vehicle", {DI, SL}, {SL}, body={"tickets": []}),
    row("POST", "/api/v1/repair/vehicles/{plate}/duty", "vehicle", {DI, SL}, {SL}, body={"on_duty": False}),
    row("POST", "/api/v1/repair/crew/assignments/{pk}/{action}", "assignment", {CR, DI}, body={}, label="accept"),
    row(
        "POST",
        "/api/v1/repair/crew/assignments/{pk}/fault",
        "assignment",
        {CR, DI},
        body={"fault_class": "line", "cause_class": "weather"},
    ),
    row("POST", "/api/v1/repair/outages/{pk}/etr", "fault", {DI, SL}, {SL}, body={"etr": None, "reason": "x"}),
    row("POST", "/api/v1/repair/outages/{pk}/confirm", "fault", {DI, SL}, {SL}, body={}),
    row("POST", "/api/v1/repair/outages/{pk}/split", "fault", {DI, SL}, {SL}, body={"tickets": ["nope"]}),
    # Storm mode: the shift lead switches it; a known-outage caller is recorded in one line by the IVR or an agent
    row("POST", "/api/v1/repair/storm", "", {SL}, body={"on": True, "reason": "矩阵测试"}),
    row(
        "POST",
        "/api/v1/repair/ivr/calls",
        "storm_caller",
        {IV, A, SL},
        {IV, A, SL},
        body={"account_no": "{account_no}", "phone": "13900001111"},
    ),
    # Meter events: the head-end posts with its own secret (tests/ami/test_api.py); of people, administrators only.
    row(
        "POST",
        "/api/v1/ami/events",
        "",
        set(),
        body={"event_id": "{code}", "meter_no": "matrix-meter", "kind": "last_gasp", "at": 1700000000},
    ),
    # Switching (倒闸操作) on a feeder held by the user's own unit; no role reaches another unit's feeder
    row("POST", "/api/v1/grid/devices/{code}/switch", "device", {DI, SL}, body={"open": True, "note": "矩阵"}),
    # Outage notices
    row(
        "POST",
        "/api/v1/notices/outages",
        "feeder",
        {DI, SL},
        {SL},
        body={"kind": "planned", "title": "检修", "starts_at": "{start}", "feeders": ["{feeder}"]},
    ),
    row("POST", "/api/v1/notices/outages/{outage_id}/publish", "outage", {DI, SL}, {SL}, body={"channels": ["inapp"]}),
    row("PATCH", "/api/v1/notices/outages/{outage_id}", "outage", {DI, SL}, {SL}, body={"title": "改期"}),
    row("POST", "/api/v1/notices/outages/{outage_id}/cancel", "outage", {DI, SL}, {SL}, body={"reason": "取消"}),
    row(
        "POST",
        "/api/v1/notices/outages/{outage_id}/etr",
        "outage",
        {DI, SL},
        {SL},
        body={"etr": "{start}", "reason": "推后"},
    ),
    row("POST", "/api/v1/notices/outages/{outage_id}/restore", "outage", {DI, SL}, {SL}, body={"restored_at": "{now}"}),
    row("POST", "/api/v1/notices/announcements", "", {SL, AN}, body={"title": "电价调整", "text": "自下月起……"}),
    row(
        "POST",
        "/api/v1/notices/announcements",
        "",
        {SL},
        body={"title": "欠费停电", "text": "……", "legally_required": True},
        label="legally_required",
    ),
    row(
        "PUT",
        "/api/v1/notices/customers/{account_no}/preferences/{channel}",
        "customer",
        {A, SL},
        {A, SL},
        body={"opted_out": True},
    ),
    # Orderly use of power and demand response
    row(
        "POST",
        "/api/v1/dsm/plans",
        "",
        {AN, DI, SL},
        body={
            "name": "迎峰度夏",
            "target_mw": "0.5",
            "window_start": "{start}",
            "window_end": "{end}",
            "feeders": ["{feeder}"],
        },
    ),
    row("POST", "/api/v1/dsm/plans/{pk}/event", "plan", {AN, DI, SL}, {AN, SL}, body={}),
    row("POST", "/api/v1/dsm/events/{event_id}/status", "event", {AN, DI, SL}, {AN, SL}, body={"status": "near"}),
    row(
        "POST",
        "/api/v1/dsm/events/{event_id}/participants/{account_no}",
        "event",
        {AN, DI, SL, A},
        {AN, SL, A},
        body={"opt": "opt_in"},
    ),
    row("POST", "/api/v1/dsm/events/{event_id}/measure", "event", {AN, DI, SL}, {AN, SL}, body={}),
    # Tags and segments: analysts write the rules
    row("POST", "/api/v1/tags/draft/categories", "", {AN}, body={"path": ["矩阵测试"]}),
    row(
        "PUT",
        "/api/v1/tags/draft/tags/{code}",
        "",
        {AN},
        body={
            "name": "矩阵",
            "category_path": TAG_CATEGORY,
            "definition": "d",
            "owner": "o",
            "data_sources": "s",
            "business_rule": "b",
            "math_model": "m",
            "rule": {"kind": "quantile", "metric": "valley_share", "labels": ["低", "高"]},
            "values": ["低", "高"],
        },
    ),
    row("DELETE", "/api/v1/tags/draft/tags/{code}", "", {AN}),
    row("POST", "/api/v1/tags/draft/publish", "", {AN}, body={"note": "n"}),
    row("POST", "/api/v1/tags/runs", "", {AN}, body={"as_of": "2026-11-30"}),
    row("POST", "/api/v1/tags/segments", "", {AN}, body={"name": "群", "expression": "x = 'y'"}),
    # Pages that change state (the same services behind the browser's forms)
    row("POST", "/workorders/{number}/actions/take/", "order", WO_HANDLERS, label="page"),
    row("POST", "/workorders/{number}/actions/reply/", "order", WO_HANDLERS | WO_FRONT, body={"text": "答复"}),
    row("POST", "/workorders/{number}/visit/", "order", {A, SL, QA}, {A, SL, QA}, body={"result": "satisfied"}),
    row("POST", "/notices/outages/{pk}/cancel/", "outage", {DI, SL}, {SL}, body={"reason": "取消"}),
    row("POST", "/notices/outages/{pk}/publish/", "outage", {DI, SL}, {SL}, body={"channels": ["inapp"]}),
    row("POST", "/workorders/new/", "", {A, SL}, body={"category": "", "description": ""}),
    row("POST", "/notices/follow-ups/{pk}/done/", "follow_up", {SL}, {SL}, body={"note": "已电话联系"}),
    row("POST", "/grid/devices/{code}/switch/", "device", {DI, SL}, body={"note": "矩阵"}),
    row(
        "POST",
        "/repair/storm/call/",
        "storm_caller",
        {IV, A, SL},
        {IV, A, SL},
        body={"account_no": "{account_no}", "phone": "13900001111"},
    ),
]

# POSTs that change nothing (a computation or a preview) or are not called by people (a gateway's receipt, with its
# own secret): answered to every role within scope, listed so the completeness check knows them.
READ_ONLY_POSTS = {
    "POST /api/v1/tariffs/bill",
    "POST /api/v1/notices/outages/{outage_id}/preview",
    "POST /api/v1/tags/segments/evaluate",
    "POST /api/v1/segments/evaluate",
    "POST /api/v1/notices/receipts/{channel}",
}


def expected(r: Row, role: str, kind: str) -> str:
    """The documented answer for `role` acting on `kind` ("own", "other" or "none")."""
    if role == "admin":
        return "ok"
    if role not in r.roles:
        return "403"
    if kind in ("own", "none"):
        return "ok"
    if role in NARROW_SCOPE:  # another centre's object is outside a dispatcher's or crew's scope
        return "404"
    return "ok" if role in r.anywhere else "404"


def answer(status: int, detail: str = "") -> str:
    if status in (401, 403):
        return "403"
    # A code typed in the body (a feeder) that is not the user's is refused like an unknown one: a 400 on the
    # field with the same words. That is the "missing" answer for a body field.
    if status == 404 or (status == 400 and "不存在或不在您的数据范围内" in detail):
        return "404"
    assert status < 500, status
    return "ok"


class World:
    """A two-centre city with one user per role and, on demand, fresh objects held by a given unit."""

    def __init__(self, city: City):
        self.city = city
        self.ops = f.make_unit(OrgUnit.Kind.DEPARTMENT, parent=city.company, scope_unit=city.company, name="运检部")
        self.ops_user = f.make_user(Role.DEPARTMENT, self.ops)
        self.crew_south = f.make_unit(OrgUnit.Kind.CREW, parent=city.south, scope_unit=city.south, name="城南一班")
        self.users: dict[str, User] = {
            A: city.agent,
            SL: city.shift_lead,
            DI: city.dispatcher_north,
            CR: city.crew_member,
            DE: city.handler,
            QA: city.quality,
            AN: city.analyst,
            IV: f.make_user(Role.IVR, city.center, "ivr"),
            "admin": city.admin,
        }
        self.tokens = {role: token_create(user=u, actor=None)[1] for role, u in self.users.items()}
        self.seq = itertools.count(1)

    # Objects. "own" is held by the acting user's unit (for administrators: the marketing department, or the
    # north centre for repair objects); "other" by another department or the south centre.
    def order(self, role: str, kind: str) -> dict[str, str]:
        city = self.city
        if kind == "own":
            unit = self.users[role].unit or city.marketing
            customer = city.north_customer
        else:
            unit, customer = self.ops, city.south_customer
        main = complaint(city, timezone.now(), customer=customer)
        child = complaint(city, timezone.now(), customer=customer, category="complaint_business")
        creator = self.users[A] if kind == "own" else self.ops_user
        WorkOrder.objects.filter(pk__in=[main.pk, child.pk]).update(unit=unit, sender_unit=unit, created_by=creator)
        return {"number": child.number, "main": main.number}

    def _north(self, kind: str) -> bool:
        return kind == "own"

    def vehicle(self, kind: str) -> dict[str, Any]:
        return {"plate": self._vehicle(kind).plate}

    def _vehicle(self, kind: str) -> Vehicle:
        crew = self.city.crew_north if self._north(kind) else self.crew_south
        n = next(self.seq)
        return Vehicle.objects.create(
            plate=f"浙A·M{n:04d}", crew=crew, device=f.make_device(f"m-{n}"), home_lat=30.2, home_lon=120.1
        )

    def ticket(self, kind: str) -> dict[str, Any]:
        from gridcare.repair.services import repair_send
        from gridcare.workorders.services import workorder_create
        from tests.workorders.helpers import cat

        city = self.city
        north = self._north(kind)
        # Each call from its own transformer area: calls under one area would join one outage as its children.
        center = city.north if north else city.south
        net = f.make_network(center, areas=1, district=city.north_customer.district)
        order = workorder_create(
            actor=city.agent,
            channel="phone",
            category=cat("repair"),
            customer=f.make_customer(center, net.areas[0]),
            description="家里停电",
            dispatch=False,
        )
        repair_send(order=order, unit=city.north if north else city.south, actor=city.shift_lead)
        ticket = RepairTicket.objects.get(workorder=order)
        return {"number": order.number, "ticket": ticket, "plate": self._vehicle(kind).plate}

    def assignment(self, kind: str) -> dict[str, Any]:
        from gridcare.repair.services import repair_assign

        t = self.ticket(kind)
        v = Vehicle.objects.get(plate=t["plate"])
        repair_assign(ticket=t["ticket"], vehicle=v, actor=self.city.admin)
        a = v.assignments.get()
        return {"pk": a.pk, "action": "accept"}

    def fault(self, kind: str) -> dict[str, Any]:
        t = self.ticket(kind)["ticket"]
        t.refresh_from_db()
        assert t.outage_id, "a repair call opens or joins a probable outage"
        return {"pk": t.outage_id}

    def feeder(self, kind: str) -> dict[str, Any]:
        net = self.city.north_net if self._north(kind) else self.city.south_net
        return {"feeder": net.feeder.code}

    def outage(self, kind: str) -> dict[str, Any]:
        net = self.city.north_net if self._north(kind) else self.city.south_net
        start = timezone.now() + dt.timedelta(days=3)
        outage = notice_services.outage_create(
            kind="planned",
            title="计划检修",
            unit=net.feeder.unit,
            starts_at=start,
            ends_at=start + dt.timedelta(hours=4),
            feeders=[net.feeder],
            actor=self.city.admin,
        )
        return {"outage_id": outage.pk, "pk": outage.pk}

    def device(self, role: str, kind: str) -> dict[str, Any]:
        """A closed sectionaliser below the outlet of a feeder held by the acting user's own unit ("own"; the north
        centre for administrators) or by the south centre ("other")."""
        from gridcare.grid.models import GridDevice

        unit = (self.users[role].unit or self.city.north) if kind == "own" else self.city.south
        feeder = f.make_network(unit, areas=1).feeder
        n = next(self.seq)
        outlet = GridDevice.objects.create(code=f"M-CB{n}", name="出口", kind="breaker", feeder=feeder)
        GridDevice.objects.create(code=f"M-S{n}", name="分段", kind="sectionaliser", feeder=feeder, upstream=outlet)
        return {"code": f"M-S{n}"}

    def customer(self, kind: str) -> dict[str, Any]:
        c = self.city.north_customer if self._north(kind) else self.city.south_customer
        return {"account_no": c.account_no, "channel": "sms"}

    def plan(self, kind: str) -> dict[str, Any]:
        net = self.city.north_net if self._north(kind) else self.city.south_net
        now = timezone.now()
        plan = OrderlyUsePlan.objects.create(
            name="方案",
            target_kw=500,
            window_start=now + dt.timedelta(days=1),
            window_end=now + dt.timedelta(days=1, hours=2),
            created_by="admin",
            created_at=now,
        )
        plan.feeders.set([net.feeder])
        return {"pk": plan.pk, "plan": plan}

    def event(self, kind: str) -> dict[str, Any]:
        plan = self.plan(kind)["plan"]
        n = next(self.seq)
        event = DemandResponseEvent.objects.create(
            event_id=f"DR-M-{n}",
            plan=plan,
            start=plan.window_start,
            end=plan.window_end,
            created_at=timezone.now(),
        )
        c = self.city.north_customer if self._north(kind) else self.city.south_customer
        Participation.objects.create(event=event, customer=c, planned_kw=10)
        return {"event_id": event.event_id, "account_no": c.account_no}

    def storm_caller(self, kind: str) -> dict[str, Any]:
        """In storm mode, a customer whose 台区 already has a live outage (two neighbours called: a 台区 outage)."""
        from gridcare.repair.services import storm_mode_set
        from gridcare.repair.storm_selectors import storm_on
        from gridcare.workorders.services import workorder_create
        from tests.workorders.helpers import cat

        city = self.city
        center = city.north if self._north(kind) else city.south
        net = f.make_network(center, areas=1, district=city.north_customer.district)
        for _ in range(2):
            workorder_create(
                actor=city.agent,
                channel="phone",
                category=cat("repair"),
                customer=f.make_customer(center, net.areas[0]),
                description="停电",
            )
        if not storm_on():
            storm_mode_set(on=True, reason="矩阵测试", actor=city.shift_lead)
        return {"account_no": f.make_customer(center, net.areas[0]).account_no}

    def follow_up(self, kind: str) -> dict[str, Any]:
        """A task named to someone none of the tested users is (a manager of its own), held by the supply unit."""
        from gridcare.notices.audiences import Audience
        from gridcare.notices.models import FollowUpTask

        c = self.city.north_customer if self._north(kind) else self.city.south_customer
        manager = f.make_user("department", self.city.marketing)
        notice = notice_services.announcement_send(
            title="停电通知", text="正文", audience=Audience(account_nos=[c.account_no]), actor=None
        )
        task = FollowUpTask.objects.create(
            notice=notice, customer=c, unit=c.service_unit, assignee=manager, reason="重要客户", due_at=timezone.now()
        )
        return {"pk": task.pk}

    def params(self, r: Row, role: str, kind: str) -> dict[str, Any]:
        made: dict[str, Any] = {"code": f"matrix_{next(self.seq)}", "start": _at(72), "end": _at(74), "now": _at(0)}
        if r.obj:
            by_role = r.obj in ("order", "device")
            made.update(getattr(self, r.obj)(role, kind) if by_role else getattr(self, r.obj)(kind))
        if r.obj == "" and "{feeder}" in str(r.body):
            made.update(self.feeder("own"))
        if "/tags/draft/tags/" in r.path:  # a draft tag needs its category; deleting one needs the tag
            from gridcare.tags.services import category_ensure

            category_ensure(path=TAG_CATEGORY, actor=self.city.admin)
            if r.method == "DELETE":
                put = next(x for x in ROWS if x.method == "PUT" and x.path == r.path)
                resp = Client().put(
                    r.path.format(code=made["code"]),
                    json_dump(put.body),
                    content_type="application/json",
                    headers={"Authorization": f"Bearer {self.tokens['admin']}"},
                )
                assert resp.status_code == 200, resp.content
        return made

    def call(self, r: Row, role: str, kind: str) -> str:
        params = self.params(r, role, kind)
        path = r.path.format(**{k: v for k, v in params.items() if isinstance(v, str | int)})
        body = fill(r.body, params)
        if r.obj == "order" and isinstance(body, dict):
            body = {**body, "main": params["main"], "unit": self.ops.code}
        client = Client()
        if path.startswith("/api/"):
            headers = {"Authorization": f"Bearer {self.tokens[role]}"}
            resp = client.generic(
                r.method, path, data=json_dump(body or {}), content_type="application/json", headers=headers
            )
        else:
            client.force_login(self.users[role])
            resp = client.post(path, body or {})
        assert resp.status_code < 500, (r.key, role, kind, resp.status_code, resp.content[:300])
        try:
            data = resp.json()
        except ValueError:  # a page, or 204 with no body
            data = None
        detail = data.get("detail", "") if isinstance(data, dict) else ""
        return answer(resp.status_code, str(detail))


def fill(value: Any, params: dict[str, Any]) -> Any:
    if isinstance(value, str) and value.startswith("{") and value.endswith("}") and value[1:-1] in params:
        return params[value[1:-1]]
    if isinstance(value, list):
        return [fill(v, params) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, params) for k, v in value.items()}
    return value


def json_dump(body: Any) -> str:
    import json

    return json.dumps(body, ensure_ascii=False)


KINDS: Callable[[Row], tuple[str, ...]] = lambda r: ("own", "other") if r.obj and r.obj != "feeder" else ("own",)  # noqa: E731


@pytest.mark.parametrize("r", ROWS, ids=lambda r: r.key)
def test_each_role_gets_the_documented_answer(city: City, r: Row) -> None:
    world = World(city)
    got: dict[tuple[str, str], str] = {}
    want: dict[tuple[str, str], str] = {}
    for role in ROLES:
        for kind in ("own", "other") if r.obj else ("none",):
            want[role, kind] = expected(r, role, kind)
            got[role, kind] = world.call(r, role, kind)
    wrong = {cell: (want[cell], got[cell]) for cell in want if want[cell] != got[cell]}
    assert not wrong, f"{r.key}: (role, object) → (documented, answered): {wrong}"


def test_every_state_changing_endpoint_has_a_row(client: Client) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    changing = {
        f"{method.upper()} {path}"
        for path, ops in spec["paths"].items()
        for method in ops
        if method in ("post", "put", "patch", "delete")
    }
    covered = {f"{r.method} {re.sub(r'/actions/[a-z_]+$', '/actions/{action}', r.path)}" for r in ROWS}
    covered |= READ_ONLY_POSTS
    assert changing - covered == set(), "add a row to ROWS (or READ_ONLY_POSTS) for each new endpoint"


def test_another_units_object_reads_exactly_like_a_missing_one(city: City) -> None:
    """A department handler acting on another department's complaint, and on a number that does not exist: the
    same status and the same words (up to the number itself)."""
    world = World(city)
    other = world.order(DE, "other")["number"]
    client = Client()
    headers = {"Authorization": f"Bearer {world.tokens[DE]}"}
    answers = []
    for number in (other, "20990101000000"):
        resp = client.post(
            f"/api/v1/workorders/{number}/actions/take", "{}", content_type="application/json", headers=headers
        )
        answers.append((resp.status_code, resp.json()["detail"].replace(number, "N")))
    assert answers[0] == answers[1] and answers[0][0] == 404
    # …and the order stays where it was: nothing was written.
    assert WorkOrder.objects.get(number=other).unit == world.ops
