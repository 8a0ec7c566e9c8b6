"""Pages of the tags app: catalogue and version comparison, review, segment builder, and the portrait fragment."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from gridcare.core.errors import ServiceError
from gridcare.core.excel import csv_response, table_response
from gridcare.customers.models import Customer
from gridcare.tags import selectors, services
from gridcare.tags.api import EDITORS, READERS
from gridcare.tags.models import CatalogueVersion


def _allowed(request: HttpRequest, roles: set[str]) -> bool:
    user = request.user
    return bool(getattr(user, "sees_everything", False) or getattr(user, "role", None) in roles)


def _guard(request: HttpRequest, roles: set[str] = READERS) -> None:
    if not _allowed(request, roles):
        raise Http404(_("您的角色无权使用标签管理功能"))


@login_required
def catalogue(request: HttpRequest) -> HttpResponse:
    _guard(request)
    version = selectors.latest_version()
    compare = None
    a, b = request.GET.get("a"), request.GET.get("b")
    if a and b:
        try:
            compare = selectors.version_compare(int(a), int(b))
        except (ValueError, ServiceError) as exc:
            messages.error(request, getattr(exc, "message", _("版本号必须是整数")))
    if request.method == "POST" and _allowed(request, EDITORS):
        try:
            v = services.catalogue_publish(actor=request.user, note=request.POST.get("note", ""))
            messages.success(request, _("已发布 v%(n)s") % {"n": v.number})
        except ServiceError as exc:
            messages.error(request, exc.message)
        return redirect("tags:catalogue")
    context = {
        "version": version,
        "tree": selectors.catalogue_tree(version.snapshot) if version else [],
        "versions": list(CatalogueVersion.objects.all()[:20]),
        "draft": selectors.draft_changes(),
        "compare": compare,
        "can_edit": _allowed(request, EDITORS),
    }
    return render(request, "tags/catalogue.html", context)


@login_required
def review(request: HttpRequest, run_id: int | None = None) -> HttpResponse:
    _guard(request)
    try:
        run = selectors.run_get(run_id) if run_id else selectors.latest_done_run()
    except ServiceError as exc:
        raise Http404(exc.message) from None
    rows = selectors.review(run) if run and run.report else []
    return render(
        request,
        "tags/review.html",
        {"run": run, "rows": rows, "runs": selectors.runs_recent(), "flagged": sum(1 for r in rows if r["flags"])},
    )


@login_required
def segments(request: HttpRequest) -> HttpResponse:
    _guard(request)
    expression = request.POST.get("expression", request.GET.get("q", ""))
    name = request.POST.get("name", "")
    if request.method == "POST":
        if not _allowed(request, EDITORS):
            raise Http404(_("您的角色无权保存客户群"))
        try:
            count = selectors.segment_evaluate(user=request.user, expression=expression, page_size=1)["count"]
            seg = services.segment_save(name=name, expression=expression, actor=request.user, count=count)
            messages.success(request, _("客户群「%(name)s」已保存：%(n)s 户") % {"name": seg.name, "n": count})
            return redirect("tags:segments")
        except ServiceError as exc:
            messages.error(request, exc.message)
    version = selectors.latest_version()
    tags = [(code, t["name"], t["values"]) for code, t in version.snapshot["tags"].items()] if version else []
    return render(
        request,
        "tags/segments.html",
        {
            "expression": expression,
            "name": name,
            "saved": selectors.segments_all(),
            "tags": tags,
            "can_edit": _allowed(request, EDITORS),
        },
    )


@login_required
def segment_export(request: HttpRequest, segment_id: int, fmt: str) -> HttpResponse:
    _guard(request)
    try:
        segment = selectors.segment_get(segment_id)
        ids = selectors.segment_customer_ids(user=request.user, segment=segment)
    except ServiceError as exc:
        raise Http404(exc.message) from None
    header = ["户号", "户名", "客户类型", "用电类别", "电压等级"]
    rows = []
    for lo in range(0, len(ids), 5000):
        for c in Customer.objects.filter(pk__in=ids[lo : lo + 5000]).order_by("account_no"):
            rows.append(
                [c.account_no, c.name, c.get_customer_type_display(), c.get_category_display(), c.voltage_level]
            )
    filename = f"segment-{segment.pk}"
    if fmt == "xlsx":
        return table_response(filename, segment.name, header, rows)
    return csv_response(filename, header, rows)


@login_required
def customer_portrait(request: HttpRequest, account_no: str) -> HttpResponse:
    """An HTML fragment (no page chrome) for the customer 360 page to include."""
    try:
        data = selectors.portrait(user=request.user, account_no=account_no)
    except ServiceError as exc:
        raise Http404(exc.message) from None
    return render(request, "tags/portrait_fragment.html", data)
