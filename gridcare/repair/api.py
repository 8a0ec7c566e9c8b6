"""Repair API (/api/v1/repair): the dispatcher's tickets and candidates, the crew's queue and actions,
outage ETRs, and the A–H reports. Every action stamps its point from this real event."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema

from gridcare.core.apitypes import Day, Instant, Limit, ObjectId
from gridcare.core.errors import Conflict, NotFound, ServiceError
from gridcare.org import policy
from gridcare.org.roles import Role
from gridcare.repair import reports, selectors
from gridcare.repair import services as rs
from gridcare.repair.models import (
    AssignmentState,
    ProbableOutage,
    RepairTicket,
    TicketState,
    Vehicle,
    VehicleAssignment,
)
from gridcare.repair.storm_selectors import etr_view

router = Router(tags=["repair"])


class SegmentOut(Schema):
    code: str
    minutes: float | None
    target: float
    overdue: bool
    lost_minutes: float
    party: str
    who: str


class RepairOutageOut(Schema):
    id: int
    level: str
    state: str
    call_count: int
    cause: str
    etr: dt.datetime | None
    etr_updated_at: dt.datetime | None
    etr_status: str
    etr_low: dt.datetime | None = Field(None, description="80% 区间下限（按历史估计时）")
    etr_high: dt.datetime | None = Field(None, description="80% 区间上限（按历史估计时）")
    etr_samples: int = Field(0, description="估计所依据的同类历史故障数；0 表示依据承诺时限")
    etr_basis: str = Field("", description="估计所用的历史分组，如「台区故障 · 城市 · 夜间」")
    etr_source: str = Field("", description="estimate 按历史估计 | manual 调度员给出 | 空：尚未评估")
    etr_text: str = Field("", description="告知客户的预计恢复时间说明")
    level_label: str = ""
    feeder: str | None = None
    area: str | None = None
    device: str | None = None
    confirmed: bool = False


class TicketOut(Schema):
    number: str
    state: str
    state_label: str
    customer: str | None
    address: str
    area_class: str
    lat: float | None
    lon: float | None
    need: str
    repair_center: str | None
    crew: str | None
    vehicle: str | None
    points: dict[str, dt.datetime | None]
    segments: list[SegmentOut]
    arrival_minutes: float | None
    arrival_target: float
    outage: RepairOutageOut | None


class CandidateOut(Schema):
    vehicle: str
    crew: str
    crew_type: str
    status: str
    distance_km: float
    drive_minutes: float
    queue_minutes: float
    eta_minutes: float


class AssignIn(Schema):
    vehicle: str = Field(..., description="车牌")


class RepairReasonIn(Schema):
    reason: str = ""


class PositionIn(Schema):
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    reason: str = ""


class FaultIn(Schema):
    fault_class: str
    cause_class: str
    equipment: str = ""
    ownership: str = ""
    notes: str = ""


class QueueIn(Schema):
    tickets: list[str] = Field(..., description="工单编号，按新的先后顺序")


class DutyIn(Schema):
    on_duty: bool = Field(..., description="true 上班（可派车），false 下班（不再派车；队列中的任务不受影响）")


class VehicleDutyOut(Schema):
    plate: str
    on_duty: bool
    status: str


class RepairEtrIn(Schema):
    etr: Instant | None = None
    reason: str = ""


class OutageConfirmIn(Schema):
    device: str | None = None  # move the prediction to this device (code) …
    area: str | None = None  # … or to this 台区 (code); neither: confirm it where it is


class OutageSplitIn(Schema):
    tickets: list[str]  # order numbers of the calls that are another fault


class AssignmentOut(Schema):
    id: int
    position: int
    state: str
    vehicle: str
    ticket: TicketOut


def outage_out(o: ProbableOutage | None) -> dict[str, Any] | None:
    if o is None:
        return None
    shown = etr_view(o)
    return {
        "id": o.pk,
        "level": o.level,
        "state": o.state,
        "call_count": o.call_count,
        "cause": o.cause,
        "etr": o.etr,
        "etr_updated_at": o.etr_updated_at,
        "etr_status": "已评估" if o.etr else "尚未评估",
        "etr_low": shown["low"],
        "etr_high": shown["high"],
        "etr_samples": shown["samples"],
        "etr_basis": shown["basis"],
        "etr_source": shown["source"],
        "etr_text": shown["text"],
        "level_label": o.get_level_display(),
        "feeder": o.feeder.code if o.feeder_id and o.feeder else None,
        "area": o.transformer_area.code if o.transformer_area_id and o.transformer_area else None,
        "device": o.device.code if o.device_id and o.device else None,
        "confirmed": o.confirmed,
    }


def ticket_out(t: RepairTicket, now: dt.datetime | None = None) -> dict[str, Any]:
    timing = selectors.ticket_timing(t, now=now)
    c = t.workorder.customer
    return {
        "number": t.workorder.number,
        "state": t.state,
        "state_label": t.get_state_display(),
        "customer": c.account_no if c else None,
        "address": t.workorder.address,
        "area_class": t.area_class,
        "lat": t.lat,
        "lon": t.lon,
        "need": t.need,
        "repair_center": t.repair_center.name if t.repair_center else None,
        "crew": t.crew.name if t.crew else None,
        "vehicle": t.vehicle.plate if t.vehicle else None,
        "points": t.points(),
        "segments": [vars(s) for s in timing.segments],
        "arrival_minutes": timing.arrival_minutes,
        "arrival_target": timing.arrival_target,
        "outage": outage_out(t.outage),
    }


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


def _missing(number: str) -> str:
    return f"抢修单 {number} 不存在或不在您的数据范围内"


def _ticket(user: Any, number: str, action: str | None = None) -> RepairTicket:
    """The ticket, within the user's scope and, for an action, held by the user's repair centre (policy table);
    another centre's ticket answers exactly like a missing one."""
    if action is not None:
        policy.require_role(user, action)  # the role's 403, before anything about the ticket is said
    t = selectors.tickets_visible(user=user).filter(workorder__number=number).first()
    if t is None:
        raise NotFound(_missing(number))
    if action is not None:
        policy.authorize(user, action, holder=t.repair_center, missing=_missing(number))
    return t


def acknowledges(request: HttpRequest) -> bool:
    """Whether a fetch may stamp a delivery point (C, E) by reading: a partner system with its bearer token, or
    our own page's script, which sends the CSRF header. A cross-site link or image can send the session cookie
    on a GET but not a custom header, so it can no longer stamp the time that decides who lost the minutes."""
    return request.headers.get("Authorization", "").startswith("Bearer ") or bool(request.headers.get("X-CSRFToken"))


def _assignment(user: Any, pk: int) -> VehicleAssignment:
    a = (
        VehicleAssignment.objects.select_related("ticket", "vehicle__crew")
        .filter(pk=pk, vehicle__in=selectors.vehicles_visible(user=user))
        .first()
    )
    # A crew member acts for their own crew only: another crew of the same centre must not stamp its times
    # (they decide who lost the minutes).
    if a is None or not policy.reaches(user, "repair.crew", holder=a.vehicle.crew):
        raise NotFound(f"车辆任务 {pk} 不存在或不在您的数据范围内")
    return a


def _current(a: VehicleAssignment, action: str, *, done_ok: bool = False) -> None:
    """Times on the ticket are stamped only through the vehicle that holds it now; a finished job takes none
    (`done_ok`: the fault record may still be corrected)."""
    if a.state in (AssignmentState.DECLINED, AssignmentState.RECALLED) or a.ticket.vehicle_id != a.vehicle_id:
        raise Conflict(f"该任务已「{a.get_state_display()}」或已改派其他车辆，不能再{CREW_ACTION_LABELS[action]}")
    if a.state == AssignmentState.DONE and not done_ok:
        raise Conflict(f"该任务已完成（已复电），不能再{CREW_ACTION_LABELS[action]}")


@router.get("/tickets", response=list[TicketOut], summary="报修中心待处理抢修单（读取即确认接收，记 C 点）")
def tickets(request: HttpRequest) -> list[dict[str, Any]]:
    user = _user(request)
    rows = list(selectors.open_tickets(user=user)[:500])
    if user.role == Role.DISPATCHER and acknowledges(request):
        # The repair centre's system has the order now: that is point C (delivery acknowledged).
        for t in rows:
            if t.state == TicketState.SENT and policy.holds(user, t.repair_center):
                rs.repair_receive(ticket=t, actor=user)
        rows = list(selectors.open_tickets(user=user)[:500])
    return [ticket_out(t) for t in rows]


@router.get("/tickets/{number}", response=TicketOut)
def ticket(request: HttpRequest, number: str) -> dict[str, Any]:
    return ticket_out(_ticket(_user(request), number))


@router.post("/tickets/{number}/ack", response=TicketOut, summary="报修中心系统确认收到（C 点）")
def ack(request: HttpRequest, number: str) -> dict[str, Any]:
    user = _user(request)
    rs.repair_receive(ticket=_ticket(user, number, "repair.ack"), actor=user)
    return ticket_out(_ticket(user, number))


@router.get("/tickets/{number}/candidates", response=list[CandidateOut], summary="按预计到达时间排序的候选车辆")
def candidates(
    request: HttpRequest, number: str, need: str | None = None, unit: str | None = None, limit: Limit = 10
) -> list[dict[str, Any]]:
    user = _user(request)
    t = _ticket(user, number)
    prefix = None
    if unit:
        from gridcare.org.models import OrgUnit

        u = OrgUnit.objects.filter(code=unit).first()
        if u is None:
            raise ServiceError(f"单位编码 {unit} 不存在", field="unit")
        prefix = u.path
    if need is not None and need not in ("lv", "mv", "both"):
        raise ServiceError("need 须为 lv、mv 或 both", field="need")
    found = selectors.candidates(user=user, ticket=t, limit=max(1, min(limit, 50)), need=need, unit_prefix=prefix)
    return [
        {
            "vehicle": v.plate,
            "crew": v.crew.name,
            "crew_type": v.crew_type,
            "status": v.status,
            "distance_km": c.distance_km,
            "drive_minutes": c.drive_minutes,
            "queue_minutes": c.queue_minutes,
            "eta_minutes": c.eta_minutes,
        }
        for v, c in found
    ]


@router.post("/tickets/{number}/assign", response=TicketOut, summary="派车（D 点）")
def assign(request: HttpRequest, number: str, payload: AssignIn) -> dict[str, Any]:
    user = _user(request)
    t = _ticket(user, number, "repair.assign")
    v = selectors.vehicles_visible(user=user).filter(plate=payload.vehicle).first()
    if v is None:
        raise ServiceError(f"车辆 {payload.vehicle} 不存在或不在您的数据范围内", field="vehicle")
    rs.repair_assign(ticket=t, vehicle=v, actor=user)
    return ticket_out(_ticket(user, number))


@router.post("/tickets/{number}/recall", response=TicketOut, summary="撤回车辆任务（含车载终端上的副本）")
def recall(request: HttpRequest, number: str, payload: RepairReasonIn) -> dict[str, Any]:
    user = _user(request)
    rs.repair_recall(ticket=_ticket(user, number, "repair.recall"), actor=user, reason=payload.reason or "调度撤回")
    return ticket_out(_ticket(user, number))


def _vehicle(user: Any, plate: str, action: str) -> Vehicle:
    """The vehicle, if the user's repair centre runs its crew: otherwise exactly the answer a missing one gets."""
    policy.require_role(user, action)
    v = selectors.vehicles_visible(user=user).filter(plate=plate).first()
    gone = f"车辆 {plate} 不存在或不在您的数据范围内"
    if v is None:
        raise NotFound(gone)
    policy.authorize(user, action, holder=v.crew, missing=gone)
    return v


@router.post("/vehicles/{plate}/duty", response=VehicleDutyOut, summary="车辆上班/下班（下班的车辆不再派车）")
def duty(request: HttpRequest, plate: str, payload: DutyIn) -> dict[str, Any]:
    user = _user(request)
    v = rs.vehicle_set_duty(vehicle=_vehicle(user, plate, "repair.duty"), on_duty=payload.on_duty, actor=user)
    return {"plate": v.plate, "on_duty": not v.off_duty, "status": v.status}


@router.post("/vehicles/{plate}/queue", response=list[str], summary="调整车辆任务顺序")
def reorder(request: HttpRequest, plate: str, payload: QueueIn) -> list[str]:
    user = _user(request)
    v = _vehicle(user, plate, "repair.queue")
    # Only the tickets on this vehicle's queue are looked up: a number from another centre reads exactly like
    # one that does not exist.
    ids = dict(
        VehicleAssignment.objects.filter(
            vehicle=v, state__in=rs.ACTIVE, ticket__workorder__number__in=payload.tickets
        ).values_list("ticket__workorder__number", "ticket_id")
    )
    missing = [n for n in payload.tickets if n not in ids]
    if missing:
        raise ServiceError(f"工单 {', '.join(missing)} 不在车辆 {plate} 的任务队列中", field="tickets")
    queue = rs.repair_queue_reorder(vehicle=v, ticket_ids=[ids[n] for n in payload.tickets], actor=user)
    return [a.ticket.workorder.number for a in queue]


@router.get("/crew/assignments", response=list[AssignmentOut], summary="班组的车辆任务（读取即确认终端接收，记 E 点）")
def crew_assignments(request: HttpRequest) -> list[dict[str, Any]]:
    user = _user(request)
    policy.require_role(user, "repair.crew")
    crew_ids = (
        [user.unit_id]
        if user.role == Role.CREW
        else list(selectors.vehicles_visible(user=user).values_list("crew_id", flat=True).distinct())
    )
    out = []
    for a in selectors.crew_queue(crew_ids=crew_ids):
        if a.state == "queued" and user.role == Role.CREW and acknowledges(request):
            a = rs.repair_device_receive(assignment=a, actor=user)
        t = RepairTicket.objects.select_related(
            "workorder", "workorder__customer", "repair_center", "crew", "vehicle", "outage"
        ).get(pk=a.ticket_id)
        out.append(
            {"id": a.pk, "position": a.position, "state": a.state, "vehicle": a.vehicle.plate, "ticket": ticket_out(t)}
        )
    return out


@router.post("/crew/assignments/{pk}/fault", response=TicketOut, summary="回填故障记录")
def fault(request: HttpRequest, pk: ObjectId, payload: FaultIn) -> dict[str, Any]:
    user = _user(request)
    policy.require_role(user, "repair.crew")
    a = _assignment(user, pk)
    _current(a, "fault", done_ok=True)
    t = rs.repair_fault_record(ticket=a.ticket, actor=user, **payload.dict())
    return ticket_out(RepairTicket.objects.get(pk=t.pk))


CREW_ACTIONS = {"receive", "accept", "decline", "depart", "arrive", "done", "restore"}
CREW_ACTION_LABELS = {
    "receive": "确认接收",
    "accept": "接单",
    "decline": "拒单",
    "depart": "出发",
    "arrive": "到达",
    "done": "记录修复",
    "restore": "复电",
    "fault": "回填故障记录",
}


@router.post("/crew/assignments/{pk}/{action}", response=TicketOut, summary="班组操作：接单/拒单/出发/到达/修复/复电")
def crew_action(request: HttpRequest, pk: ObjectId, action: str, payload: PositionIn) -> dict[str, Any]:
    user = _user(request)
    policy.require_role(user, "repair.crew")
    if action not in CREW_ACTIONS:
        raise ServiceError(f"未知的操作 {action!r}；可选：{', '.join(sorted(CREW_ACTIONS))}", field="action")
    a = _assignment(user, pk)
    if action in ("depart", "arrive", "done", "restore"):
        _current(a, action)
    lat, lon = payload.lat, payload.lon
    if action == "receive":  # the device confirms it has the order: E
        rs.repair_device_receive(assignment=a, actor=user)
    elif action == "accept":
        rs.repair_accept(assignment=a, actor=user, lat=lat, lon=lon)
    elif action == "decline":
        rs.repair_decline(assignment=a, actor=user, reason=payload.reason)
    elif action == "depart":
        rs.repair_depart(ticket=a.ticket, actor=user, lat=lat, lon=lon)
    elif action == "arrive":
        rs.repair_arrive(ticket=a.ticket, actor=user, lat=lat, lon=lon)
    elif action == "done":
        rs.repair_done(ticket=a.ticket, actor=user, lat=lat, lon=lon)
    else:
        rs.repair_restore(ticket=a.ticket, actor=user)
    t = RepairTicket.objects.select_related(
        "workorder", "workorder__customer", "repair_center", "crew", "vehicle", "outage"
    ).get(pk=a.ticket_id)
    return ticket_out(t)


def _outage(user: Any, pk: int, rule: str) -> ProbableOutage:
    """An outage one of whose calls the user may see, held (by its main order's repair centre) for `rule`."""
    policy.require_role(user, rule)
    gone = f"故障研判 {pk} 不存在或不在您的数据范围内"
    outage = ProbableOutage.objects.filter(pk=pk, tickets__in=selectors.tickets_visible(user=user)).distinct().first()
    if outage is None:
        raise NotFound(gone)
    main = outage.tickets.select_related("repair_center").order_by("-is_main", "pk").first()
    policy.authorize(user, rule, holder=main.repair_center if main else None, missing=gone)
    return outage


@router.post("/outages/{pk}/etr", response=RepairOutageOut, summary="更新预计恢复时间（只能推后，须说明原因）")
def etr(request: HttpRequest, pk: ObjectId, payload: RepairEtrIn) -> dict[str, Any] | None:
    user = _user(request)
    outage = _outage(user, pk, "repair.etr")
    return outage_out(rs.outage_set_etr(outage=outage, etr=payload.etr, reason=payload.reason, actor=user))


@router.post("/outages/{pk}/confirm", response=RepairOutageOut, summary="确认故障研判（可改判到某设备或台区）")
def outage_confirm(request: HttpRequest, pk: ObjectId, payload: OutageConfirmIn) -> dict[str, Any] | None:
    user = _user(request)
    outage = _outage(user, pk, "repair.predict")
    return outage_out(
        rs.outage_confirm(outage=outage, actor=user, device=payload.device or None, area=payload.area or None)
    )


@router.post("/outages/{pk}/split", response=RepairOutageOut, summary="拆分故障研判：选出的来电另成一个故障")
def outage_split(request: HttpRequest, pk: ObjectId, payload: OutageSplitIn) -> dict[str, Any] | None:
    user = _user(request)
    outage = _outage(user, pk, "repair.predict")
    return outage_out(rs.outage_split(outage=outage, tickets=payload.tickets, actor=user))


@router.get("/reports/segments", summary="各环节达标率：按单位、按人员，谁耽误了时间")
def segment_report(request: HttpRequest, date_from: Day | None = None, date_to: Day | None = None) -> dict[str, Any]:
    user = _user(request)
    return reports.segment_report(tickets=reports.tickets_in(user=user, date_from=date_from, date_to=date_to))


@router.get("/reports/busy", summary="车辆忙闲率：按单位、按小时")
def busy_report(request: HttpRequest, day: Day | None = None) -> dict[str, Any]:
    return reports.busy_rates(user=_user(request), day=day)


@router.get("/vehicles", summary="车辆及位置")
def vehicles(request: HttpRequest) -> list[dict[str, Any]]:
    user = _user(request)
    vs = list(selectors.vehicles_visible(user=user))
    pos = selectors._positions(vs)
    return [
        {
            "plate": v.plate,
            "crew": v.crew.name,
            "crew_type": v.crew_type,
            "status": v.status,
            "lat": pos[v.pk][0],
            "lon": pos[v.pk][1],
        }
        for v in vs
    ]
