"""Notices pages: outages (list, new, detail with preview/publish/edit/cancel), announcements, follow-ups,
the customer 360 fragment, the customer portal, and the public outage page with its JSON and iCalendar feeds."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from gridcare.core.errors import Forbidden, NotFound, ServiceError
from gridcare.customers.models import Customer
from gridcare.customers.selectors import customer_get
from gridcare.notices import ical, rendering, rules, selectors, services
from gridcare.notices.audiences import Audience, parse_account_list
from gridcare.notices.channels import channel_choices, channel_classes, channel_names
from gridcare.notices.config import get_config
from gridcare.notices.forms import (
    AnnouncementForm,
    CancelForm,
    OutageForm,
    PublishForm,
    TemplateForm,
    WindowForm,
    codes,
)
from gridcare.notices.models import NoticeKind, Outage, OutageKind, OutageStatus
from gridcare.notices.permissions import ANNOUNCERS, OUTAGE_EDITORS, TEMPLATE_EDITORS, may

PORTAL_SALT = "gridcare.notices.portal"


def _form_error(form: Any, exc: ServiceError) -> None:
    """Show a service's message next to the field it names (or on top of the form)."""
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, exc.message)


T = TypeVar("T")


def _as_page_errors(get: Callable[[], T]) -> T:
    """A selector's NotFound is the page's 404 and its Forbidden the 403."""
    try:
        return get()
    except NotFound as exc:
        raise Http404(exc.message) from None
    except Forbidden as exc:
        raise PermissionDenied(exc.message) from None


def _outage(request: HttpRequest, pk: int, action: str | None = None) -> Outage:
    return _as_page_errors(lambda: selectors.outage_get(user=request.user, pk=pk, action=action))


@login_required
def outages(request: HttpRequest) -> HttpResponse:
    qs = selectors.outages_visible(user=request.user)
    status = request.GET.get("status", "")
    if status:
        qs = qs.filter(status=status)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "notices/outages.html",
        {
            "page": page,
            "status": status,
            "statuses": OutageStatus.choices,
            "can_edit": may(request.user, OUTAGE_EDITORS),
        },
    )


@login_required
def outage_new(request: HttpRequest) -> HttpResponse:
    if not may(request.user, OUTAGE_EDITORS):
        raise Http404("无权限")
    form = OutageForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            feeders, areas, sps = selectors.resolve_scope(
                user=request.user,
                feeder_codes=codes(d["feeders"]),
                area_codes=codes(d["areas"]),
                service_point_codes=codes(d["service_points"]),
            )
            first = (feeders or areas or [None])[0]
            unit = first.unit if first is not None else sps[0].transformer_area.unit
            outage = services.outage_create(
                kind=d["kind"],
                title=d["title"],
                cause=d["cause"],
                unit=unit,
                starts_at=d["starts_at"],
                ends_at=d["ends_at"],
                feeders=feeders,
                areas=areas,
                service_points=sps,
                actor=request.user,
            )
        except ServiceError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, "已保存为草稿，请预览后发布")
            return redirect("notices:outage", pk=outage.pk)
    return render(request, "notices/outage_form.html", {"form": form})


@login_required
def outage_detail(request: HttpRequest, pk: int) -> HttpResponse:
    outage = _outage(request, pk)
    return _render_detail(request, outage)


def _render_detail(request: HttpRequest, outage: Outage, **forms: Any) -> HttpResponse:
    config = get_config()
    context = {**services.outage_context(outage), "hotline": config.hotline, "company": config.company}
    kind = "outage_etr" if outage.kind == OutageKind.FAULT else "outage_published"
    sample = Customer.objects.filter(pk__in=outage.customers.filter(active=True).values("customer_id")[:1]).first()
    previews = [
        selectors.preview(notice_kind=kind, channel=ch, context=context, customer=sample)
        for ch, cls in channel_classes().items()
        if cls.reaches != "account"  # the texts a person reads on their phone or in their mail
    ]
    check = rules.lead_time_check(
        kind=outage.kind,
        starts_at=outage.starts_at,
        now=timezone.now(),
        planned_days=config.planned_days,
        temporary_hours=config.temporary_hours,
    )
    notices = [(n, selectors.notice_stats(n)) for n in outage.notices.order_by("created_at", "id")]
    publish = forms.get("publish") or PublishForm(initial={"channels": config.default_channels})
    window = forms.get("window") or WindowForm(
        initial={
            "starts_at": timezone.localtime(outage.starts_at).strftime("%Y-%m-%dT%H:%M"),
            "ends_at": timezone.localtime(outage.ends_at).strftime("%Y-%m-%dT%H:%M") if outage.ends_at else "",
        }
    )
    return render(
        request,
        "notices/outage_detail.html",
        {
            "o": outage,
            "previews": previews,
            "late": check.message if check and check.late else "",
            "notices": notices,
            "publish_form": publish,
            "window_form": window,
            "cancel_form": forms.get("cancel") or CancelForm(),
            "can_edit": may(request.user, OUTAGE_EDITORS),
            "sample": sample,
        },
    )


@login_required
@require_POST
def outage_publish(request: HttpRequest, pk: int) -> HttpResponse:
    outage = _outage(request, pk, "outage.edit")
    form = PublishForm(request.POST)
    if form.is_valid():
        try:
            notice = services.outage_publish(
                outage=outage,
                actor=request.user,
                channels=form.cleaned_data["channels"] or None,
                late_reason=form.cleaned_data["late_reason"],
            )
        except ServiceError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, f"已发布，{notice.recipients} 户客户的通知已排队发送")
            return redirect("notices:outage", pk=pk)
    return _render_detail(request, outage, publish=form)


@login_required
@require_POST
def outage_window(request: HttpRequest, pk: int) -> HttpResponse:
    outage = _outage(request, pk, "outage.edit")
    form = WindowForm(request.POST)
    if form.is_valid():
        try:
            notices = services.outage_update(
                outage=outage,
                actor=request.user,
                starts_at=form.cleaned_data["starts_at"],
                ends_at=form.cleaned_data["ends_at"],
                late_reason=form.cleaned_data["late_reason"],
            )
        except ServiceError as exc:
            _form_error(form, exc)
        else:
            told = sum(n.recipients for n in notices)
            messages.success(request, f"已修改，重新通知 {told} 户" if notices else "已修改，无需通知客户")
            return redirect("notices:outage", pk=pk)
    return _render_detail(request, outage, window=form)


@login_required
@require_POST
def outage_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    outage = _outage(request, pk, "outage.edit")
    form = CancelForm(request.POST)
    if form.is_valid():
        try:
            services.outage_cancel(outage=outage, reason=form.cleaned_data["reason"], actor=request.user)
        except ServiceError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, "已取消停电")
            return redirect("notices:outage", pk=pk)
    return _render_detail(request, outage, cancel=form)


@login_required
def notice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        notice = selectors.notice_get(user=request.user, pk=pk)
    except NotFound as exc:
        raise Http404(exc.message) from None
    status = request.GET.get("status", "")
    return render(
        request,
        "notices/notice_detail.html",
        {
            "n": notice,
            "stats": selectors.notice_stats(notice),
            "rows": selectors.notice_messages(notice, status=status, limit=500),
            "status": status,
        },
    )


@login_required
def announce(request: HttpRequest) -> HttpResponse:
    if not may(request.user, ANNOUNCERS):
        raise Http404("无权限")
    form = AnnouncementForm(request.POST or None, request.FILES or None)
    preview = None
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        accounts = parse_account_list(d["accounts"])
        if d["accounts_file"]:
            accounts += parse_account_list(d["accounts_file"].read().decode("utf-8-sig", "replace"))
        try:
            feeders, areas, _ = selectors.resolve_scope(
                user=request.user,
                feeder_codes=codes(d["feeders"]),
                area_codes=codes(d["areas"]),
                service_point_codes=[],
            )
            audience = Audience(
                feeders=feeders,
                areas=areas,
                account_nos=list(dict.fromkeys(accounts)),
                categories=d["categories"],
                important_only=d["important_only"],
            )
            if "do_preview" in request.POST:
                config = get_config()
                ctx = {"title": d["title"], "text": d["text"], "hotline": config.hotline, "company": config.company}
                preview = [
                    selectors.preview(notice_kind="announcement", channel=ch, context=ctx, customer=None)
                    for ch in (d["channels"] or config.default_channels)
                ]
            else:
                notice = services.announcement_send(
                    title=d["title"],
                    text=d["text"],
                    audience=audience,
                    channels=d["channels"] or None,
                    follow_up=d["follow_up"],
                    actor=request.user,
                )
                messages.success(request, f"公告已排队发送给 {notice.recipients} 户")
                return redirect("notices:notice", pk=notice.pk)
        except ServiceError as exc:
            _form_error(form, exc)
    return render(request, "notices/announce.html", {"form": form, "preview": preview})


@login_required
def follow_ups(request: HttpRequest) -> HttpResponse:
    qs = selectors.follow_ups_visible(user=request.user)
    status = request.GET.get("status", "open")
    if status in ("open", "done"):
        qs = qs.filter(status=status)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "notices/follow_ups.html", {"page": page, "status": status, "me": request.user.pk})


@login_required
@require_POST
def follow_up_done(request: HttpRequest, pk: int) -> HttpResponse:
    task = _as_page_errors(lambda: selectors.follow_up_get(user=request.user, pk=pk))
    try:
        services.follow_up_complete(task=task, note=request.POST.get("note", ""), actor=request.user)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect(reverse("notices:follow_ups"))
    messages.success(request, f"已完成跟进：{task.customer.name}")
    return redirect(reverse("notices:follow_ups"))


@login_required
def customer_fragment(request: HttpRequest, account_no: str) -> HttpResponse:
    """The notices card of the customer 360: current outages, recent notices, in-app messages (a fragment)."""
    try:
        customer = customer_get(user=request.user, account_no=account_no)
    except NotFound as exc:
        raise Http404(exc.message) from None
    return render(
        request,
        "notices/customer_fragment.html",
        {
            "c": customer,
            "outages": selectors.customer_current_outages(customer=customer),
            "rows": selectors.customer_messages(customer=customer, limit=20),
            "portal": portal_url(customer),
        },
    )


def portal_url(customer: Customer) -> str:
    token = signing.dumps(customer.account_no, salt=PORTAL_SALT)
    return reverse("notices:portal", args=[token])


@require_GET
def portal(request: HttpRequest, token: str) -> HttpResponse:
    """The customer's own page (reached by the signed link sent to them): in-app messages and known outages."""
    days = settings.GRIDCARE_PORTAL_LINK_DAYS
    try:
        # Links are signed with their creation time (signing.dumps); a forwarded or leaked one stops working.
        account_no = signing.loads(token, salt=PORTAL_SALT, max_age=dt.timedelta(days=days))
    except signing.SignatureExpired:
        return render(
            request,
            "notices/portal_expired.html",
            {"days": days, "hotline": get_config().hotline},
            status=410,
        )
    except signing.BadSignature:
        raise Http404("链接无效") from None
    customer = Customer.objects.filter(account_no=account_no).first()
    if customer is None:
        raise Http404("链接无效")
    return render(
        request,
        "notices/portal.html",
        {
            "c": customer,
            "inbox": selectors.customer_inbox(customer=customer),
            "outages": selectors.customer_current_outages(customer=customer),
            "hotline": get_config().hotline,
        },
    )


# --- message templates -----------------------------------------------------------------------------------------


@login_required
def templates(request: HttpRequest) -> HttpResponse:
    if not may(request.user, TEMPLATE_EDITORS):
        raise Http404("无权限")
    kind = request.GET.get("kind", "") if request.GET.get("kind", "") in NoticeKind.values else ""
    channel = request.GET.get("channel", "") if request.GET.get("channel", "") in channel_names() else ""
    return render(
        request,
        "notices/templates.html",
        {
            "rows": selectors.template_rows(kind=kind, channel=channel),
            "kind": kind,
            "channel": channel,
            "kinds": NoticeKind.choices,
            "channels": channel_choices(),
        },
    )


@login_required
def template_edit(request: HttpRequest, kind: str, channel: str) -> HttpResponse:
    """Edit one kind × channel; "预览" renders what was typed (unsaved) for a sample customer and notice."""
    if not may(request.user, TEMPLATE_EDITORS):
        raise Http404("无权限")
    if kind not in NoticeKind.values or channel not in channel_names():
        raise Http404("没有这种通知类型或渠道")
    [row] = selectors.template_rows(kind=kind, channel=channel)
    initial = {"subject": row.template.subject, "body": row.template.body}
    form = TemplateForm(request.POST or None, initial=initial)
    preview = None
    sample_note = ""
    if request.method == "POST" and "reset" in request.POST:
        with_change = services.template_reset(kind=kind, channel=channel, actor=request.user)
        messages.success(request, "已恢复为系统默认模板" if with_change else "当前已是系统默认模板")
        return redirect("notices:template", kind=kind, channel=channel)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            if "save" in request.POST:
                services.template_save(
                    kind=kind, channel=channel, subject=d["subject"], body=d["body"], actor=request.user
                )
                messages.success(request, "模板已保存，之后发送的消息将使用新模板")
                return redirect("notices:template", kind=kind, channel=channel)
            for name in ("subject", "body"):
                try:
                    rendering.validate(d[name])
                except rendering.TemplateError as exc:
                    raise ServiceError(str(exc), field=name) from None
            values, sample_note = selectors.template_sample(
                user=request.user, kind=kind, account_no=d["sample_account"]
            )
            subject, body = rendering.render(rendering.Template(d["subject"], d["body"]), values)
            preview = {"subject": subject, "body": body}
        except NotFound as exc:
            form.add_error("sample_account", exc.message)
        except ServiceError as exc:
            _form_error(form, exc)
    elif request.method == "GET":
        values, sample_note = selectors.template_sample(user=request.user, kind=kind)
        subject, body = rendering.render(row.template, values)
        preview = {"subject": subject, "body": body}
    return render(
        request,
        "notices/template_edit.html",
        {
            "row": row,
            "form": form,
            "preview": preview,
            "sample_note": sample_note,
            "placeholders": rendering.PLACEHOLDERS.items(),
        },
    )


# --- public outage information (no login) -----------------------------------------------------------------------


def _public_items(request: HttpRequest) -> tuple[list[dict[str, Any]], str, str]:
    now = timezone.now()
    district = request.GET.get("district", "").strip()
    kind = request.GET.get("kind", "").strip()
    if kind and kind not in OutageKind.values:
        kind = ""
    items = [
        selectors.public_record(o, now=now) for o in selectors.public_outages(now=now, district=district, kind=kind)
    ]
    return items, district, kind


@require_GET
def public_page(request: HttpRequest) -> HttpResponse:
    items, district, kind = _public_items(request)
    return render(
        request,
        "notices/public.html",
        {
            "items": items,
            "district": district,
            "kind": kind,
            "districts": selectors.public_districts(),
            "kinds": OutageKind.choices,
            "hotline": get_config().hotline,
        },
    )


@require_GET
def public_json(request: HttpRequest) -> JsonResponse:
    items, district, kind = _public_items(request)
    return JsonResponse(
        {"generated_at": timezone.now().isoformat(), "district": district, "kind": kind, "outages": items},
        json_dumps_params={"ensure_ascii": False},
    )


@require_GET
def public_ics(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    district = request.GET.get("district", "").strip()
    host = request.get_host().split(":")[0] or "gridcare"
    events = []
    for o in selectors.public_outages(now=now, district=district):
        state = "已恢复" if o.status == OutageStatus.RESTORED else ""
        lines = [
            f"类型：{o.get_kind_display()}",
            f"范围：{o.scope_label}",
            f"原因：{o.cause or '待查明'}",
            f"预计恢复：{rules.format_local(o.etr or o.ends_at)}",
            f"最后更新：{rules.format_local(o.updated_at)}",
        ]
        events.append(
            ical.CalendarEvent(
                uid=f"outage-{o.pk}@{host}",
                summary=f"[{o.get_kind_display()}{state}] {o.title}",
                description="\n".join(lines),
                location=o.scope_label,
                starts_at=o.starts_at,
                ends_at=o.restored_at or o.ends_at or o.etr,
                last_modified=o.updated_at,
                sequence=o.revision,
                cancelled=o.status == OutageStatus.CANCELLED,
                categories="计划停电" if o.kind != OutageKind.FAULT else "故障停电",
            )
        )
    name = "停电信息" + (f"（{district}）" if district else "")
    body = ical.calendar(events, name=name, stamp=now)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="outages.ics"'
    return response
