"""Work-order API (/api/v1/workorders): intake with Idempotency-Key, lists, detail, actions, return visits."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from gridcare.core.apitypes import Day, Instant, Limit, Offset
from gridcare.core.errors import NotFound, ServiceError
from gridcare.customers.models import Customer
from gridcare.customers.selectors import customer_for_intake
from gridcare.workorders import actions, selectors, services
from gridcare.workorders.models import Category, IdempotencyKey, Milestone, ReturnVisit, WorkOrder
from gridcare.workorders.models import Status as OrderStatus
from gridcare.workorders.reference import category_by_code
from gridcare.workorders.states import allowed_actions

router = Router(tags=["workorders"])


class WorkOrderIn(Schema):
    category: str = Field(..., description="分类编码，如 complaint_service、app_increase；见 GET /categories")
    channel: str = Field("phone", description="phone | web | app | wechat | counter | ivr")
    description: str
    account_no: str | None = Field(None, description="客户户号；非客户来电留空并填写来电人")
    caller_name: str = ""
    caller_phone: str = ""
    address: str = ""
    priority: str | None = None
    area_class: str | None = None
    application_params: dict[str, Any] = Field(default_factory=dict)
    reply_text: str = Field("", description="咨询、查询类可当场答复")
    call_ended_at: Instant | None = Field(
        None, description="客户挂机时间（话务系统/IVR 提供；故障报修的 A 点，缺省为受理时间）"
    )


class DeadlineOut(Schema):
    milestone: str
    step_code: str
    due_at: dt.datetime
    warn_at: dt.datetime
    met_at: dt.datetime | None
    state: str
    escalation_level: int


class StepOut(Schema):
    seq: int
    code: str
    name: str
    days: int
    started_at: dt.datetime | None
    done_at: dt.datetime | None


class WorkOrderOut(Schema):
    number: str
    status: str
    status_label: str
    category: str
    category_name: str
    channel: str
    priority: str
    account_no: str | None
    caller_name: str
    description: str
    reply_text: str
    unit: str | None
    unit_name: str | None
    accepted_at: dt.datetime
    replied_at: dt.datetime | None
    closed_at: dt.datetime | None
    call_count: int
    repeat_of: str | None
    main: str | None
    is_supervised: bool
    is_overdue: bool
    calendar_warning: str
    allowed_actions: list[str]


class WorkOrderDetail(WorkOrderOut):
    deadlines: list[DeadlineOut]
    steps: list[StepOut]
    open_visit: int | None


class OrderPage(Schema):
    count: int
    results: list[WorkOrderOut]


class ActionIn(Schema):
    reason: str = ""
    note: str = ""
    text: str = ""
    unit: str | None = None
    main: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)


class VisitIn(Schema):
    result: str = Field(..., description="satisfied | basic | unsatisfied | no_answer")
    note: str = ""


class WorkOrderEventOut(Schema):
    at: dt.datetime
    actor: str
    action: str
    old: dict[str, Any] | None
    new: dict[str, Any] | None
    note: str


class CategoryOut(Schema):
    code: str
    name: str
    kind: str
    parent: str | None
    return_visit_required: bool
    answerable_at_intake: bool


class KnownOutageOut(Schema):
    kind: str = Field(..., description="fault（故障，研判中或已发布）| planned（计划检修）| temporary（临时检修）")
    title: str
    cause: str
    etr: dt.datetime | None = Field(None, description="预计恢复时间")
    etr_text: str = Field("", description="预计恢复时间的说明（按历史估计时含 80% 区间和依据的故障数）")
    updated: dt.datetime | None


class DeadlinePreviewIn(Schema):
    category: str = Field(..., description="分类编码，如 complaint_service")
    accepted_at: Instant = Field(..., description="受理时刻，ISO 8601；不带时区按北京时间")
    account_no: str | None = Field(None, description="客户户号（按其城乡类别、用电类别取时限）")
    priority: str | None = None
    area_class: str | None = Field(None, description="urban | rural | remote；缺省取客户的，否则 urban")
    supply_class: str | None = Field(None, description="业扩报装的供电类别，如 lv_resident、hv_single")


class DeadlinePreviewItem(Schema):
    milestone: str
    milestone_label: str
    amount: int
    unit: str
    due_at: dt.datetime
    warn_at: dt.datetime


class DeadlinePreview(Schema):
    category: str
    accepted_at: dt.datetime
    deadlines: list[DeadlinePreviewItem]
    calendar_warning: str


class ListFilters(Schema):
    status: list[str] = Field(default_factory=list)
    overdue: bool = False
    due_soon: bool = False
    category: str = ""
    unit: str = ""
    channel: str = ""
    date_from: Day | None = None
    date_to: Day | None = None
    q: str = ""
    sort: str = "-accepted_at"
    limit: Limit = 50
    offset: Offset = 0


def out(order: WorkOrder) -> dict[str, Any]:
    return {
        "number": order.number,
        "status": order.status,
        # The enum's label, not get_status_display(), which rebuilds the choices dict (and translates every
        # label) on each call: a tenth of a millisecond per order answered.
        "status_label": str(OrderStatus(order.status).label),
        "category": order.category.code,
        "category_name": str(order.category),
        "channel": order.channel,
        "priority": order.priority,
        "account_no": order.customer.account_no if order.customer else None,
        "caller_name": order.caller_name,
        "description": order.description,
        "reply_text": order.reply_text,
        "unit": order.unit.code if order.unit else None,
        "unit_name": order.unit.name if order.unit else None,
        "accepted_at": order.accepted_at,
        "replied_at": order.replied_at,
        "closed_at": order.closed_at,
        "call_count": order.call_count,
        "repeat_of": order.repeat_of.number if order.repeat_of else None,
        "main": order.main.number if order.main else None,
        "is_supervised": order.is_supervised,
        "is_overdue": order.is_overdue,
        "calendar_warning": order.calendar_warning,
        "allowed_actions": allowed_actions(order.status),
    }


def detail(order: WorkOrder, deadlines: list[Any] | None = None) -> dict[str, Any]:
    fresh = deadlines is not None
    deadlines = deadlines or []
    visit = None if fresh and order.status != "return_visit" else order.visits.filter(closed_at__isnull=True).first()
    return {
        **out(order),
        "deadlines": sorted(deadlines, key=lambda d: d.due_at) if fresh else list(selectors.order_deadlines(order)),
        "steps": list(order.steps.all()) if not fresh or order.category.is_application else [],
        "open_visit": visit.pk if visit else None,
    }


def _category(code: str, *, active_only: bool = True) -> Category:
    category = category_by_code(code)
    if category is None or (active_only and not category.is_active):
        raise ServiceError(f"分类编码 {code!r} 不存在；见 GET /api/v1/workorders/categories", field="category")
    return category


def _customer(user: Any, account_no: str) -> Customer:
    """The customer the call is about, within the caller's scope; an unknown one is a 400 on the field."""
    try:
        return customer_for_intake(user=user, account_no=account_no)
    except NotFound as exc:
        raise ServiceError(exc.message, field="account_no") from None


@router.get("/categories", response=list[CategoryOut], summary="工单分类")
def categories(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        {
            "code": c.code,
            "name": c.name,
            "kind": c.kind,
            "parent": c.parent.code if c.parent else None,
            "return_visit_required": c.return_visit_required,
            "answerable_at_intake": c.answerable_at_intake,
        }
        for c in selectors.categories_active()
    ]


@router.get(
    "/known-outages",
    response=list[KnownOutageOut],
    summary="客户所在区域的已知停电（故障研判中或已发布的计划/故障停电），受理前告知来电客户",
)
def known_outages(request: HttpRequest, account_no: str) -> list[dict[str, Any]]:
    return selectors.known_outages(_customer(request.auth, account_no))  # type: ignore[attr-defined]


@router.get(
    "/deadline-preview",
    response=DeadlinePreview,
    summary="时限试算：某时刻受理的工单各环节的办理时限（按节假日历）",
)
def deadline_preview(request: HttpRequest, query: Query[DeadlinePreviewIn]) -> dict[str, Any]:
    category = _category(query.category, active_only=False)  # a retired category's rules can still be read
    customer = _customer(request.auth, query.account_no) if query.account_no else None  # type: ignore[attr-defined]
    deadlines, warning = services.deadlines_preview(
        category=category,
        accepted_at=query.accepted_at,
        customer=customer,
        priority=query.priority,
        area_class=query.area_class,
        supply_class=query.supply_class,
    )
    accepted_at = deadlines[0].started_at if deadlines else query.accepted_at
    return {
        "category": category.code,
        "accepted_at": accepted_at,
        "deadlines": [
            {
                "milestone": d.milestone,
                "milestone_label": str(Milestone(d.milestone).label),
                "amount": d.amount,
                "unit": d.unit,
                "due_at": d.due_at,
                "warn_at": d.warn_at,
            }
            for d in sorted(deadlines, key=lambda d: d.due_at)
        ],
        "calendar_warning": warning,
    }


@router.post("", response={201: WorkOrderDetail, 200: WorkOrderDetail}, summary="受理工单（支持 Idempotency-Key）")
def create(request: HttpRequest, payload: WorkOrderIn) -> Status[dict[str, Any]]:
    user = request.auth  # type: ignore[attr-defined]
    actions.check_intake_allowed(user)
    category = _category(payload.category)
    customer = _customer(user, payload.account_no) if payload.account_no else None

    def make(claim: IdempotencyKey | None = None) -> WorkOrder:
        return services.workorder_create(
            actor=user,
            channel=payload.channel,
            category=category,
            description=payload.description,
            customer=customer,
            caller_name=payload.caller_name,
            caller_phone=payload.caller_phone,
            address=payload.address,
            priority=payload.priority,
            area_class=payload.area_class,
            application_params=payload.application_params,
            reply_text=payload.reply_text,
            call_ended_at=payload.call_ended_at,
            claim=claim,
        )

    key = request.headers.get("Idempotency-Key")
    if key is None:
        order, created = make(), True
    else:
        order, created = services.workorder_create_idempotent(key=key, user=user, payload=payload.dict(), create=make)
    if created and hasattr(order, "created_deadlines"):
        # A new order: everything the answer needs is in hand, no need to read it back.
        return Status(201, detail(order, deadlines=order.created_deadlines))
    return Status(201 if created else 200, detail(selectors.order_get(user=user, number=order.number)))


@router.get("", response=OrderPage, summary="工单列表")
def list_orders(request: HttpRequest, filters: Query[ListFilters]) -> dict[str, Any]:
    user = request.auth  # type: ignore[attr-defined]
    f = selectors.OrderFilters(
        status=filters.status,
        overdue=filters.overdue,
        due_soon=filters.due_soon,
        category=filters.category,
        unit=filters.unit,
        channel=filters.channel,
        date_from=filters.date_from,
        date_to=filters.date_to,
        q=filters.q,
        sort=filters.sort,
    )
    qs = selectors.order_list(user=user, f=f).select_related("repeat_of", "main")
    page = slice(filters.offset, filters.offset + filters.limit)
    return {"count": qs.count(), "results": [out(o) for o in qs[page]]}


@router.get("/{number}", response=WorkOrderDetail, summary="工单详情")
def get_order(request: HttpRequest, number: str) -> dict[str, Any]:
    return detail(selectors.order_get(user=request.auth, number=number))  # type: ignore[attr-defined]


@router.get("/{number}/events", response=list[WorkOrderEventOut], summary="工单处理记录")
def events(request: HttpRequest, number: str) -> list[dict[str, Any]]:
    order = selectors.order_get(user=request.auth, number=number)  # type: ignore[attr-defined]
    return [
        {"at": e.at, "actor": e.actor_name, "action": e.action, "old": e.old, "new": e.new, "note": e.note}
        for e in selectors.order_timeline(order)
    ]


@router.post("/{number}/actions/{action}", response=WorkOrderDetail, summary="工单流转操作（非法流转返回 409）")
def act(request: HttpRequest, number: str, action: str, payload: ActionIn) -> dict[str, Any]:
    user = request.auth  # type: ignore[attr-defined]
    order = actions.perform(user=user, number=number, action=action, data=payload.dict())
    return detail(selectors.order_get(user=user, number=order.number))


@router.post("/{number}/visits", response=WorkOrderDetail, summary="登记一次回访")
def visit(request: HttpRequest, number: str, payload: VisitIn) -> dict[str, Any]:
    user = request.auth  # type: ignore[attr-defined]
    actions.check_visit_allowed(user)
    order = selectors.order_get(user=user, number=number)
    open_visit = ReturnVisit.objects.filter(order=order, closed_at__isnull=True).first()
    if open_visit is None:
        raise ServiceError(f"工单 {number} 没有待回访任务", field="result")
    services.visit_record(visit=open_visit, actor=user, result=payload.result, note=payload.note)
    return detail(selectors.order_get(user=user, number=number))
