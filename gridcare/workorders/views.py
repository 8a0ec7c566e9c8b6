"""Work-order pages: the agent's intake screen, lists with Excel export, order detail with actions, visits."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from gridcare.core.errors import Forbidden, NotFound, ServiceError
from gridcare.core.excel import table_response
from gridcare.customers import selectors as customer_selectors
from gridcare.org import policy
from gridcare.workorders import actions, selectors, services
from gridcare.workorders.models import Category, Channel, Priority, ReturnVisit, Status, VisitOutcome
from gridcare.workorders.states import ACTION_LABELS, allowed_actions


class IntakeForm(forms.Form):
    account_no = forms.CharField(label="户号", required=False, max_length=20)
    caller_name = forms.CharField(label="来电人", required=False, max_length=50)
    caller_phone = forms.CharField(label="联系电话", required=False, max_length=32)
    channel = forms.ChoiceField(label="受理渠道", choices=Channel.choices, initial=Channel.PHONE)
    # Options carry the category's code, as the API does: the screen asks the API for the deadlines to promise.
    category = forms.ModelChoiceField(
        label="分类", queryset=Category.objects.none(), empty_label="请选择分类", to_field_name="code"
    )
    priority = forms.ChoiceField(label="优先级", choices=[("", "按分类默认"), *Priority.choices], required=False)
    description = forms.CharField(label="诉求内容", widget=forms.Textarea(attrs={"rows": 5}))
    reply_text = forms.CharField(label="当场答复", required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = selectors.categories_active()  # type: ignore[attr-defined]


@login_required
def intake(request: HttpRequest) -> HttpResponse:
    if not policy.may(request.user, "workorder.create"):
        raise PermissionDenied("只有 95598 客服代表和值长受理工单")
    form = IntakeForm(request.POST or None, initial={"account_no": request.GET.get("account", "")})
    customer = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if data["account_no"]:
                customer = customer_selectors.customer_get(user=request.user, account_no=data["account_no"])
            order = services.workorder_create(
                actor=request.user,  # type: ignore[arg-type]
                channel=data["channel"],
                category=data["category"],
                description=data["description"],
                customer=customer,
                caller_name=data["caller_name"],
                caller_phone=data["caller_phone"],
                priority=data["priority"] or None,
                reply_text=data["reply_text"],
            )
        except NotFound as exc:
            form.add_error("account_no", exc.message)
        except ServiceError as exc:
            field = exc.field if exc.field in form.fields else None
            form.add_error(field, exc.message)
        else:
            messages.success(request, f"工单 {order.number} 已受理（{order.get_status_display()}）")
            return redirect("workorders:detail", number=order.number)
    return render(request, "workorders/intake.html", {"form": form})


@login_required
def customer_panel(request: HttpRequest, account_no: str) -> HttpResponse:
    """The customer panel that stays beside the intake form (fetched as an HTML fragment)."""
    try:
        customer = customer_selectors.customer_get(user=request.user, account_no=account_no)
    except NotFound as exc:
        raise Http404(exc.message) from None
    orders = selectors.customer_orders(user=request.user, customer=customer, limit=10)
    open_orders = [o for o in orders if o.status in {s.value for s in Status} - {"archived", "merged", "cancelled"}]
    outages = selectors.known_outages(customer)
    # An outage source may offer a one-line call for its outage (repair, in storm mode): shown first, since the
    # caller is most likely calling about it; only those who take calls get the button.
    quick = (
        next((o for o in outages if o.get("quick_call")), None)
        if policy.may(request.user, "workorder.create")
        else None
    )
    return render(
        request,
        "workorders/_customer_panel.html",
        {
            "c": customer,
            "contacts": customer_selectors.contacts_for(user=request.user, customer=customer),
            "open_orders": open_orders,
            "recent": orders,
            "outages": [o for o in outages if o is not quick],
            "quick": quick,
        },
    )


def _filters(request: HttpRequest) -> selectors.OrderFilters:
    def date(name: str) -> dt.date | None:
        try:
            return dt.date.fromisoformat(request.GET.get(name, ""))
        except ValueError:
            return None

    return selectors.OrderFilters(
        status=request.GET.getlist("status"),
        overdue=request.GET.get("overdue") == "1",
        due_soon=request.GET.get("due_soon") == "1",
        category=request.GET.get("category", ""),
        unit=request.GET.get("unit", ""),
        channel=request.GET.get("channel", ""),
        date_from=date("date_from"),
        date_to=date("date_to"),
        q=request.GET.get("q", "").strip(),
        sort=request.GET.get("sort", "-accepted_at"),
    )


EXPORT_COLUMNS = [
    "工单编号",
    "受理时间",
    "分类",
    "渠道",
    "状态",
    "户号",
    "来电人",
    "处理单位",
    "致电次数",
    "是否督办",
    "是否超时",
    "敏感客户",
    "诉求内容",
]


@login_required
def order_list(request: HttpRequest) -> HttpResponse:
    f = _filters(request)
    qs = selectors.order_list(user=request.user, f=f)
    if request.GET.get("export") == "xlsx":
        return _export(qs)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    params.pop("sort", None)
    return render(
        request,
        "workorders/list.html",
        {
            "page": page,
            "f": f,
            "statuses": Status.choices,
            "channels": Channel.choices,
            "categories": Category.objects.filter(parent__isnull=True, is_active=True),
            "base_query": params.urlencode(),
            "export_query": urlencode([*params.lists(), ("export", "xlsx")], doseq=True),
        },
    )


def _export(qs: Any) -> HttpResponse:
    # Caller names and descriptions are typed by callers: table_response writes them as text, never formulas.
    rows = (
        [
            o.number,
            timezone.localtime(o.accepted_at).strftime("%Y-%m-%d %H:%M"),
            str(o.category),
            o.get_channel_display(),
            o.get_status_display(),
            o.customer.account_no if o.customer else "",
            o.caller_name,
            o.unit.name if o.unit else "",
            o.call_count,
            "是" if o.is_supervised else "否",
            "是" if o.is_overdue else "否",
            "是" if o.is_sensitive else "否",
            o.description,
        ]
        for o in qs.iterator(chunk_size=2000)
    )
    return table_response(f"workorders-{timezone.localtime():%Y%m%d-%H%M}", "工单", EXPORT_COLUMNS, rows)


@login_required
def order_detail(request: HttpRequest, number: str) -> HttpResponse:
    try:
        order = selectors.order_get(user=request.user, number=number)
    except NotFound as exc:
        raise Http404(exc.message) from None
    possible = [
        {"code": a, "label": ACTION_LABELS[a]}
        for a in allowed_actions(order.status)
        if actions.may_act(request.user, order, a)  # type: ignore[arg-type]
    ]
    return render(
        request,
        "workorders/detail.html",
        {
            "o": order,
            "deadlines": selectors.order_deadlines(order),
            "steps": order.steps.all(),
            "timeline": selectors.order_timeline(order),
            "actions": possible,
            "visit": order.visits.filter(closed_at__isnull=True).first(),
            "visit_results": [(v, label) for v, label in VisitOutcome.choices if v != VisitOutcome.UNREACHABLE],
            "children": order.children.all(),
        },
    )


@login_required
@require_POST
def order_action(request: HttpRequest, number: str, action: str) -> HttpResponse:
    data = {k: request.POST.get(k, "") for k in ("reason", "note", "text", "unit", "main")}
    try:
        order = actions.perform(user=request.user, number=number, action=action, data=data)  # type: ignore[arg-type]
    except NotFound as exc:
        raise Http404(exc.message) from None
    except Forbidden as exc:
        raise PermissionDenied(exc.message) from None
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("workorders:detail", number=number)
    messages.success(
        request, f"{ACTION_LABELS.get(action, action)}：工单 {order.number} 现为「{order.get_status_display()}」"
    )
    return redirect("workorders:detail", number=order.number)


@login_required
@require_POST
def visit_record(request: HttpRequest, number: str) -> HttpResponse:
    try:
        actions.check_visit_allowed(request.user)  # type: ignore[arg-type]
        order = selectors.order_get(user=request.user, number=number)
        visit = ReturnVisit.objects.filter(order=order, closed_at__isnull=True).first()
        if visit is None:
            raise ServiceError("该工单没有待回访任务")
        services.visit_record(
            visit=visit,
            actor=request.user,  # type: ignore[arg-type]
            result=request.POST.get("result", ""),
            note=request.POST.get("note", ""),
        )
    except NotFound as exc:
        raise Http404(exc.message) from None
    except Forbidden as exc:
        raise PermissionDenied(exc.message) from None
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "回访已登记")
    return redirect("workorders:detail", number=number)


@login_required
def visits(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.visits_pending(user=request.user), 50).get_page(request.GET.get("page"))
    return render(request, "workorders/visits.html", {"page": page})


@login_required
def customer_orders_fragment(request: HttpRequest, account_no: str) -> HttpResponse:
    """Orders and repeat calls for the customer 360 page."""
    try:
        customer = customer_selectors.customer_get(user=request.user, account_no=account_no)
    except NotFound as exc:
        raise Http404(exc.message) from None
    orders = selectors.customer_orders(user=request.user, customer=customer, limit=30)
    return render(request, "workorders/_customer_orders.html", {"orders": orders, "c": customer})
