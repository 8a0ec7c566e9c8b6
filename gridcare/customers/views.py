"""Customer search and the customer 360 page."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

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
    }
    return render(request, "customers/detail.html", context)
