"""The customer ledger's panel on the home page: customers in the user's scope (collected by core.panels)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from gridcare.core.panels import HomePanel
from gridcare.customers import selectors


def ledger_tiles(request: HttpRequest) -> dict[str, Any]:
    return {"stats": selectors.ledger_summary(user=request.user)}


HOME_PANELS = [HomePanel(template="customers/home_panel.html", context=ledger_tiles, order=10)]
