"""Customer search and the customer 360 page."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse

from gridcare.core.errors import NotFound
from gridcare.customers import selectors


@login_required
def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    results = selectors.customer_search(user=request.user, query=query, limit=50) if query else []
    # One match: go straight to it, so Enter in the search box opens the customer.
    if len(results) == 1 and request.GET.get("list") != "1":
        return redirect("customers:detail", account_no=results[0].account_no)
    return render(request, "customers/search.html", {"query": query, "results": results})


@login_required
def detail(request: HttpRequest, account_no: str) -> HttpResponse:
    try:
        customer = selectors.customer_get(user=request.user, account_no=account_no)
    except NotFound as exc:
        raise Http404(exc.message) from None
    context = {
        "c": customer,
        "contacts": selectors.contacts_for(user=request.user, customer=customer),
        "path": selectors.customer_path(customer),
        "sections": _sections(customer.account_no),
    }
    return render(request, "customers/detail.html", context)


def _sections(account_no: str) -> list[dict[str, str]]:
    """Sections other apps add to the 360 page, each an HTML fragment the page fetches.

    An app lists them in `gridcare/<app>/customer360.py` as `SECTIONS = [(title, url name, order)]`;
    the URL takes the account number as its only argument.
    """
    from django.apps import apps
    from django.utils.module_loading import import_string

    found: list[tuple[int, str, str]] = []
    for config in apps.get_app_configs():
        if not config.name.startswith("gridcare."):
            continue
        try:
            sections = import_string(f"{config.name}.customer360.SECTIONS")
        except ImportError:
            continue
        for title, url_name, order in sections:
            try:
                found.append((order, title, reverse(url_name, args=[account_no])))
            except NoReverseMatch:
                continue
    return [{"title": t, "url": u, "id": f"section-{i}"} for i, (_, t, u) in enumerate(sorted(found))]
