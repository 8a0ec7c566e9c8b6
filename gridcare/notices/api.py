"""JSON API of the notices app (mounted at /api/v1/notices): outages, announcements, logs, the public feed."""

from __future__ import annotations

import datetime as dt
import hmac
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Query, Router, Schema, Status
from ninja.security import HttpBearer, SessionAuth
from ninja.security.base import AuthBase

from gridcare.core.apitypes import Instant, Limit, ObjectId
from gridcare.customers.selectors import customer_get
from gridcare.notices import selectors, services
from gridcare.notices.audiences import Audience
from gridcare.notices.models import Message, Notice, Outage
from gridcare.notices.permissions import (
    ANNOUNCERS,
    LEGAL_ANNOUNCERS,
    PREFERENCE_EDITORS,
    RECEIPT_SENDERS,
    require,
)
from gridcare.org import policy
from gridcare.org.services import token_authenticate

router = Router(tags=["notices"])
RECEIPT_GATEWAY = "短信网关回执"  # the actor recorded for receipts authenticated by the shared secret


class OutageIn(Schema):
    kind: str
    title: str
    cause: str = ""
    starts_at: Instant
    ends_at: Instant | None = None
    feeders: list[str] = []
    areas: list[str] = []
    service_points: list[str] = []


class OutagePatch(Schema):
    title: str | None = None
    cause: str | None = None
    starts_at: Instant | None = None
    ends_at: Instant | None = None
    feeders: list[str] | None = None
    areas: list[str] | None = None
    service_points: list[str] | None = None
    late_reason: str = ""
    channels: list[str] | None = None


class PublishIn(Schema):
    channels: list[str] | None = None
    late_reason: str = ""
    follow_up: bool = True


class ReasonIn(Schema):
    reason: str


class EtrIn(Schema):
    etr: Instant
    reason: str


class RestoreIn(Schema):
    restored_at: Instant
    note: str = ""


class OutageOut(Schema):
    id: int
    kind: str
    status: str
    title: str
    cause: str
    scope: str
    starts_at: dt.datetime
    ends_at: dt.datetime | None
    etr: dt.datetime | None
    restored_at: dt.datetime | None
    published_at: dt.datetime | None
    is_late: bool
    late_reason: str
    affected_count: int
    revision: int
    updated_at: dt.datetime


class NoticeOut(Schema):
    id: int
    kind: str
    title: str
    outage_id: int | None
    channels: list[str]
    recipients: int
    urgent: bool
    legally_required: bool
    audience: str
    created_at: dt.datetime
    stats: dict[str, dict[str, int]] = {}


class MessageOut(Schema):
    id: int
    notice_id: int
    account_no: str
    channel: str
    status: str
    attempts: int
    queued_at: dt.datetime
    sent_at: dt.datetime | None
    delivered_at: dt.datetime | None
    provider_ref: str
    response: str
    last_error: str
    body: str


class AnnouncementIn(Schema):
    title: str
    text: str
    channels: list[str] | None = None
    feeders: list[str] = []
    areas: list[str] = []
    account_nos: list[str] = []
    customer_types: list[str] = []
    categories: list[str] = []
    important_only: bool = False
    segment: str = ""
    urgent: bool = False
    legally_required: bool = False
    follow_up: bool = False


class PreviewIn(Schema):
    channel: str = "sms"
    account_no: str = ""


class PreviewOut(Schema):
    channel: str
    subject: str
    body: str


class PreferenceIn(Schema):
    address: str | None = None
    opted_out: bool | None = None


class ReceiptIn(Schema):
    ref: str | int  # the gateway's message id (or our own key, when the gateway echoes it)
    delivered: bool
    detail: str = ""


class ReceiptOut(Schema):
    ref: str
    status: str
    updated: int


class PublicFilters(Schema):
    district: str = ""
    kind: str = ""


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


def outage_out(o: Outage) -> dict[str, Any]:
    return {
        "id": o.pk,
        "kind": o.kind,
        "status": o.status,
        "title": o.title,
        "cause": o.cause,
        "scope": o.scope_label,
        "starts_at": o.starts_at,
        "ends_at": o.ends_at,
        "etr": o.etr,
        "restored_at": o.restored_at,
        "published_at": o.published_at,
        "is_late": o.is_late,
        "late_reason": o.late_reason,
        "affected_count": o.affected_count,
        "revision": o.revision,
        "updated_at": o.updated_at,
    }


def notice_out(n: Notice, *, stats: bool = False) -> dict[str, Any]:
    return {
        "id": n.pk,
        "kind": n.kind,
        "title": n.title,
        "outage_id": n.outage_id,
        "channels": n.channels,
        "recipients": n.recipients,
        "urgent": n.urgent,
        "legally_required": n.legally_required,
        "audience": n.audience_label,
        "created_at": n.created_at,
        "stats": selectors.notice_stats(n) if stats else {},
    }


def message_out(m: Message) -> dict[str, Any]:
    return {
        "id": m.pk,
        "notice_id": m.notice_id,
        "account_no": m.customer.account_no,
        "channel": m.channel,
        "status": m.status,
        "attempts": m.attempts,
        "queued_at": m.queued_at,
        "sent_at": m.sent_at,
        "delivered_at": m.delivered_at,
        "provider_ref": m.provider_ref,
        "response": m.response,
        "last_error": m.last_error,
        "body": m.body,
    }


@router.get("/outages", response=list[OutageOut], summary="停电信息列表（数据范围内）")
def outage_list(request: HttpRequest, status: str = "", limit: Limit = 100) -> list[dict[str, Any]]:
    qs = selectors.outages_visible(user=_user(request))
    if status:
        qs = qs.filter(status=status)
    return [outage_out(o) for o in qs[:limit]]


@router.post("/outages", response={201: OutageOut}, summary="新建停电信息（草稿）")
def outage_create(request: HttpRequest, data: OutageIn) -> Status[dict[str, Any]]:
    user = _user(request)
    policy.require_role(user, "outage.create")
    feeders, areas, sps = selectors.resolve_scope(
        user=user, feeder_codes=data.feeders, area_codes=data.areas, service_point_codes=data.service_points
    )
    unit = (feeders or areas or [None])[0]
    owner = unit.unit if unit is not None else (sps[0].transformer_area.unit if sps else user.unit)
    # The unit that will answer for the outage must be the creator's own (or, for a shift lead, any in scope).
    policy.authorize(user, "outage.edit", holder=owner, missing="所选线路、台区或计量点不存在或不在您的数据范围内")
    outage = services.outage_create(
        kind=data.kind,
        title=data.title,
        cause=data.cause,
        unit=owner,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        feeders=feeders,
        areas=areas,
        service_points=sps,
        actor=user,
    )
    return Status(201, outage_out(outage))


@router.get("/outages/{outage_id}", response=OutageOut, summary="停电信息")
def outage_detail(request: HttpRequest, outage_id: ObjectId) -> dict[str, Any]:
    return outage_out(selectors.outage_get(user=_user(request), pk=outage_id))


@router.post("/outages/{outage_id}/publish", response=NoticeOut, summary="发布并通知受影响客户")
def outage_publish(request: HttpRequest, outage_id: ObjectId, data: PublishIn) -> dict[str, Any]:
    user = _user(request)
    outage = selectors.outage_get(user=user, pk=outage_id, action="outage.edit")
    notice = services.outage_publish(
        outage=outage, actor=user, channels=data.channels, late_reason=data.late_reason, follow_up=data.follow_up
    )
    return notice_out(notice, stats=True)


@router.patch("/outages/{outage_id}", response=list[NoticeOut], summary="修改停电信息（时间或范围变化时重新通知）")
def outage_update(request: HttpRequest, outage_id: ObjectId, data: OutagePatch) -> list[dict[str, Any]]:
    user = _user(request)
    outage = selectors.outage_get(user=user, pk=outage_id, action="outage.edit")
    scope: dict[str, Any] = {}
    if data.feeders is not None or data.areas is not None or data.service_points is not None:
        f, a, s = selectors.resolve_scope(
            user=user,
            feeder_codes=data.feeders or [],
            area_codes=data.areas or [],
            service_point_codes=data.service_points or [],
        )
        scope = {"feeders": f, "areas": a, "service_points": s}
    notices = services.outage_update(
        outage=outage,
        actor=user,
        title=data.title,
        cause=data.cause,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        late_reason=data.late_reason,
        channels=data.channels,
        **scope,
    )
    return [notice_out(n) for n in notices]


@router.post("/outages/{outage_id}/cancel", response={200: NoticeOut, 204: None}, summary="取消停电")
def outage_cancel(request: HttpRequest, outage_id: ObjectId, data: ReasonIn) -> Any:
    user = _user(request)
    notice = services.outage_cancel(
        outage=selectors.outage_get(user=user, pk=outage_id, action="outage.edit"), reason=data.reason, actor=user
    )
    return notice_out(notice) if notice else Status(204, None)


@router.post("/outages/{outage_id}/etr", response={200: NoticeOut, 204: None}, summary="更新预计恢复送电时间")
def outage_etr(request: HttpRequest, outage_id: ObjectId, data: EtrIn) -> Any:
    user = _user(request)
    outage = selectors.outage_get(user=user, pk=outage_id, action="outage.edit")
    notice = services.outage_update_etr(outage=outage, etr=data.etr, reason=data.reason, actor=user)
    return notice_out(notice) if notice else Status(204, None)


@router.post("/outages/{outage_id}/restore", response=NoticeOut, summary="恢复送电并通知")
def outage_restore(request: HttpRequest, outage_id: ObjectId, data: RestoreIn) -> dict[str, Any]:
    user = _user(request)
    outage = selectors.outage_get(user=user, pk=outage_id, action="outage.edit")
    return notice_out(services.outage_restore(outage=outage, restored_at=data.restored_at, note=data.note, actor=user))


@router.post("/outages/{outage_id}/preview", response=PreviewOut, summary="预览通知内容")
def outage_preview(request: HttpRequest, outage_id: ObjectId, data: PreviewIn) -> dict[str, str]:
    user = _user(request)
    outage = selectors.outage_get(user=user, pk=outage_id)
    customer = customer_get(user=user, account_no=data.account_no) if data.account_no else None
    kind = "outage_etr" if outage.kind == "fault" else "outage_published"
    context = {**services.outage_context(outage), "hotline": services.get_config().hotline}
    return selectors.preview(notice_kind=kind, channel=data.channel, context=context, customer=customer)


@router.get("/notices/{notice_id}", response=NoticeOut, summary="通知与发送统计")
def notice_detail(request: HttpRequest, notice_id: ObjectId) -> dict[str, Any]:
    return notice_out(selectors.notice_get(user=_user(request), pk=notice_id), stats=True)


@router.get("/notices/{notice_id}/messages", response=list[MessageOut], summary="通知的逐条发送记录")
def notice_messages(
    request: HttpRequest, notice_id: ObjectId, status: str = "", limit: Limit = 200
) -> list[dict[str, Any]]:
    notice = selectors.notice_get(user=_user(request), pk=notice_id)
    return [message_out(m) for m in selectors.notice_messages(notice, status=status, limit=limit)]


@router.post("/announcements", response={201: NoticeOut}, summary="发布政策/电价公告")
def announcement(request: HttpRequest, data: AnnouncementIn) -> Status[dict[str, Any]]:
    user = _user(request)
    require(user, ANNOUNCERS, "发布公告")
    if data.legally_required:
        require(user, LEGAL_ANNOUNCERS, "发布不受退订限制的法定通知")
    feeders, areas, _ = selectors.resolve_scope(
        user=user, feeder_codes=data.feeders, area_codes=data.areas, service_point_codes=[]
    )
    audience = Audience(
        feeders=feeders,
        areas=areas,
        account_nos=data.account_nos,
        customer_types=data.customer_types,
        categories=data.categories,
        important_only=data.important_only,
        segment=data.segment,
    )
    notice = services.announcement_send(
        title=data.title,
        text=data.text,
        audience=audience,
        channels=data.channels,
        urgent=data.urgent,
        legally_required=data.legally_required,
        follow_up=data.follow_up,
        actor=user,
    )
    return Status(201, notice_out(notice, stats=True))


@router.get("/customers/{account_no}/messages", response=list[MessageOut], summary="客户的通知记录")
def customer_messages(request: HttpRequest, account_no: str) -> list[dict[str, Any]]:
    customer = customer_get(user=_user(request), account_no=account_no)
    return [message_out(m) for m in selectors.customer_messages(customer=customer)]


@router.put("/customers/{account_no}/preferences/{channel}", summary="设置客户渠道地址与退订")
def preference(request: HttpRequest, account_no: str, channel: str, data: PreferenceIn) -> dict[str, Any]:
    user = _user(request)
    require(user, PREFERENCE_EDITORS, "修改客户通知偏好")
    customer = customer_get(user=user, account_no=account_no)
    pref = services.preference_set(
        customer=customer, channel=channel, address=data.address, opted_out=data.opted_out, actor=user
    )
    return {"channel": pref.channel, "address": pref.address, "opted_out": pref.opted_out}


class GatewayTokenAuth(AuthBase):
    """The shared secret of GRIDCARE_NOTICE_RECEIPT_TOKEN, for a gateway that has no GridCare account: in the
    `X-GridCare-Token` header or as `?token=` (what a callback URL configured at the gateway can hold)."""

    openapi_type = "apiKey"
    openapi_in = "header"
    openapi_name = "X-GridCare-Token"

    def __call__(self, request: HttpRequest) -> str | None:
        expected = services.get_config().receipt_token
        supplied = request.headers.get("X-GridCare-Token") or request.GET.get("token") or ""
        if expected and supplied and hmac.compare_digest(supplied.encode(), expected.encode()):
            return RECEIPT_GATEWAY
        return None


class UserTokenAuth(HttpBearer):
    """A GridCare API token (`gridcare token create`), as everywhere else in the API."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = token_authenticate(token)
        if user is not None:
            request.user = user
        return user


@router.post(
    "/receipts/{channel}",
    response=ReceiptOut,
    auth=[GatewayTokenAuth(), UserTokenAuth(), SessionAuth()],
    summary="网关送达回执（共享密钥 X-GridCare-Token 或管理员令牌）",
)
def receipt(request: HttpRequest, channel: str, data: ReceiptIn) -> dict[str, Any]:
    caller = _user(request)
    if caller != RECEIPT_GATEWAY:
        require(caller, RECEIPT_SENDERS, "登记网关回执")
    msg, changed = services.message_mark_delivered(
        channel=channel, provider_ref=str(data.ref), delivered=data.delivered, detail=data.detail, actor=caller
    )
    return {"ref": str(data.ref), "status": msg.status, "updated": int(changed)}


@router.get("/public/outages", auth=None, summary="公开停电信息（无需登录）")
def public_outages(request: HttpRequest, filters: Query[PublicFilters]) -> HttpResponse:
    from django.http import JsonResponse

    now = timezone.now()
    items = selectors.public_outages(now=now, district=filters.district, kind=filters.kind)
    return JsonResponse(
        {"generated_at": now.isoformat(), "outages": [selectors.public_record(o, now=now) for o in items]},
        json_dumps_params={"ensure_ascii": False},
    )
