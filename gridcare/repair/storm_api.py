"""Storm-mode API (/api/v1/repair/storm, /api/v1/repair/ivr): the shift lead's switch and board, and the IVR's
lookup of a caller's known outage (with the sentence to speak) and its one-line repair call."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema

from gridcare.core.apitypes import ObjectId
from gridcare.core.errors import Forbidden, NotFound, ServiceError
from gridcare.customers.models import Customer
from gridcare.customers.selectors import customer_get
from gridcare.org import policy
from gridcare.org.roles import Role
from gridcare.repair import services as rs
from gridcare.repair.board import may_see_board, storm_board
from gridcare.repair.models import OutageState, ProbableOutage
from gridcare.repair.services.storm import quick_call_summary
from gridcare.repair.storm_selectors import customers_by_phone, etr_view, storm_mode
from gridcare.workorders.models import Channel
from gridcare.workorders.selectors import known_outages

router = Router(tags=["storm"])


class StormIn(Schema):
    on: bool = Field(..., description="true 开启暴雨模式，false 关闭")
    reason: str = Field(..., max_length=200, description="切换原因（必填）")


class StormOut(Schema):
    on: bool
    since: dt.datetime | None
    automatic: bool = Field(..., description="最近一次切换是否由来电量自动触发")
    switched_by: str
    reason: str
    calls_per_10min: int = Field(..., description="最近一次评估时近 10 分钟的报修来电数")
    threshold: int
    threshold_off: int


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


def storm_out() -> dict[str, Any]:
    from gridcare.repair.storm_selectors import storm_rule

    mode, rule = storm_mode(), storm_rule()
    by = mode.switched_by
    return {
        "on": mode.on,
        "since": mode.since,
        "automatic": mode.automatic,
        "switched_by": (by.get_full_name() or by.username) if by else ("自动" if mode.automatic else ""),
        "reason": mode.reason,
        "calls_per_10min": mode.calls_per_10min,
        "threshold": rule.on_calls,
        "threshold_off": rule.off_calls,
    }


@router.get("/storm", response=StormOut, summary="暴雨模式状态")
def storm_get(request: HttpRequest) -> dict[str, Any]:
    return storm_out()


@router.post("/storm", response=StormOut, summary="值长手动开启/关闭暴雨模式（须说明原因）")
def storm_set(request: HttpRequest, payload: StormIn) -> dict[str, Any]:
    user = _user(request)
    policy.authorize(user, "repair.storm")
    rs.storm_mode_set(on=payload.on, reason=payload.reason, actor=user)
    return storm_out()


@router.get("/storm/board", summary="暴雨看板：本单位范围内的故障、停电客户、车辆、待派来电与来电量")
def board(request: HttpRequest) -> dict[str, Any]:
    user = _user(request)
    if not may_see_board(user):
        raise Forbidden("暴雨看板供值长和抢修调度使用")
    return storm_board(user=user)


class LookupIn(Schema):
    account_no: str | None = Field(None, max_length=20, description="户号")
    phone: str | None = Field(None, max_length=32, description="来电号码（主叫号码）")


class KnownOut(Schema):
    kind: str
    title: str
    cause: str
    etr: dt.datetime | None
    etr_text: str = Field("", description="预计恢复时间及其 80% 区间、依据")
    updated: dt.datetime | None
    outage_id: int | None = Field(None, description="故障研判编号（一键报修时回传）；已发布的计划停电为空")


class LookupOut(Schema):
    found: bool = Field(..., description="是否找到唯一的客户")
    matches: int = Field(..., description="按号码找到的客户数（多于 1 个时请让来电人输入户号）")
    account_no: str | None
    known: bool = Field(..., description="客户所在区域是否有已知停电")
    storm_mode: bool
    one_line_call: bool = Field(..., description="可以一键报修（暴雨模式，且有覆盖该客户的抢修中故障）")
    outage: int | None = Field(None, description="一键报修时回传的故障研判编号")
    outages: list[KnownOut]
    say: str = Field(..., description="向来电人播报的中文文本")


def _phone(value: str | None) -> str:
    return "".join(ch for ch in (value or "") if ch.isdigit() or ch == "+")


def _customers(user: Any, account_no: str | None, phone: str | None) -> list[Customer]:
    if account_no:
        return [customer_get(user=user, account_no=account_no.strip())]
    number = _phone(phone)
    if not number:
        raise ServiceError("请提供户号 account_no 或来电号码 phone", field="account_no")
    return customers_by_phone(user=user, phone=number)


STATE_WORDS: dict[str, str] = {
    OutageState.OPEN: "我们正在安排抢修",
    OutageState.ASSIGNED: "抢修人员已经派出",
}


def _say(found: Customer | None, matches: int, outages: list[dict[str, Any]], one_line: bool) -> str:
    if found is None:
        if matches > 1:
            return "您的号码登记了多个用电户号，请输入您的户号。"
        return "没有查到与您号码对应的用电户号，请输入户号，或转人工服务。"
    if not outages:
        return "您所在的区域目前没有已知的停电信息。如需报修，请转人工服务。"
    first = outages[0]
    if first.get("outage_id"):
        outage = ProbableOutage.objects.filter(pk=first["outage_id"]).first()
        arrived = outage is not None and outage.tickets.filter(is_main=True, h_at__isnull=False).exists()
        doing = "抢修人员已经在现场抢修" if arrived else STATE_WORDS.get(outage.state if outage else "", "")
        text = f"您好，您所在区域的停电我们已经知道，{doing}。{first.get('etr_text') or '预计恢复时间正在评估中'}。"
        if one_line:
            text += "如需登记您的报修，请按 1；其他问题请转人工服务。"
        return text
    etr = first.get("etr")
    when = f"预计 {timezone.localtime(etr):%m月%d日 %H:%M} 恢复供电" if etr else "恢复时间请留意停电通知"
    return f"您好，您所在区域有{first['title']}，{when}。"


def _lookup(user: Any, account_no: str | None, phone: str | None) -> dict[str, Any]:
    customers = _customers(user, account_no, phone)
    found = customers[0] if len(customers) == 1 else None
    outages = known_outages(found) if found is not None else []
    repair = next((o for o in outages if o.get("outage_id")), None)
    on = storm_mode().on
    one_line = bool(on and repair is not None)
    return {
        "found": found is not None,
        "matches": len(customers),
        "account_no": found.account_no if found else None,
        "known": bool(outages),
        "storm_mode": on,
        "one_line_call": one_line,
        "outage": repair["outage_id"] if one_line and repair else None,
        "outages": outages,
        "say": _say(found, len(customers), outages, one_line),
    }


@router.get(
    "/ivr/lookup",
    response=LookupOut,
    summary="IVR 查询来电客户的已知停电及预计恢复时间（播报文本），暴雨模式下可一键报修",
)
def ivr_lookup(request: HttpRequest, query: Query[LookupIn]) -> dict[str, Any]:
    user = _user(request)
    policy.require_role(user, "repair.quick_call")
    return _lookup(user, query.account_no, query.phone)


class CallIn(Schema):
    phone: str = Field(..., max_length=32, description="来电号码（记为工单联系电话）")
    account_no: str | None = Field(None, max_length=20, description="户号；为空时按来电号码查找客户")
    outage: ObjectId | None = Field(None, description="查询时告知来电人的故障研判编号")
    note: str = Field("", max_length=200, description="备注（可空）")


class CallOut(Schema):
    number: str = Field(..., description="工单编号")
    outage: int | None = Field(None, description="来电并入的故障研判")
    told_outage: int
    joined: bool = Field(..., description="是否并入了告知来电人的故障")
    call_count: int
    etr_text: str
    say: str


@router.post(
    "/ivr/calls", response=CallOut, summary="一键报修：暴雨模式下把已知故障范围内的来电登记为报修工单并并入该故障"
)
def ivr_call(request: HttpRequest, payload: CallIn) -> dict[str, Any]:
    user = _user(request)
    policy.require_role(user, "repair.quick_call")
    customers = _customers(user, payload.account_no, payload.phone)
    if len(customers) != 1:
        if customers:
            raise ServiceError("该号码登记了多个户号，请提供户号 account_no", field="account_no")
        raise NotFound(f"号码 {_phone(payload.phone)} 未登记或不在您的数据范围内")
    customer = customers[0]
    policy.authorize(user, "repair.quick_call", missing=f"户号 {customer.account_no} 不存在或不在您的数据范围内")
    told = ProbableOutage.objects.filter(pk=payload.outage).first() if payload.outage else None
    if payload.outage and told is None:
        raise NotFound(f"故障研判 {payload.outage} 不存在")
    channel = Channel.IVR if user.role == Role.IVR else Channel.PHONE
    order, ticket, known = rs.storm_call_record(
        customer=customer, phone=payload.phone, note=payload.note, outage=told, actor=user, channel=channel
    )
    summary = quick_call_summary(order, ticket, known)
    shown = etr_view(known)
    say = f"已为您登记报修，工单号 {order.number}。{shown['text']}。恢复供电后我们会回访您。"
    return {**summary, "etr_text": shown["text"], "say": say}
