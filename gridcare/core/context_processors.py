"""Template context shared by every page: the left navigation the user's role may use."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _

from gridcare.org.roles import Role

# (label, url name, roles that see it; None = everyone signed in)
NAV_ITEMS: list[tuple[str, str, set[str] | None]] = [
    ("工作台", "home", None),
    ("客户查询", "customers:search", None),
    ("电网拓扑", "grid:feeders", {Role.DISPATCHER, Role.ANALYST, Role.ADMIN, Role.SHIFT_LEAD, Role.AGENT}),
]


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    items = []
    for label, name, roles in NAV_ITEMS:
        if roles is None or user.sees_everything or user.role in roles:
            url = reverse(name)
            items.append(
                {
                    "label": _(label),
                    "url": url,
                    "active": (request.path.startswith(url) and url != "/") or request.path == url,
                }
            )
    if user.is_staff:
        items.append({"label": _("系统管理"), "url": reverse("admin:index"), "active": False})
    return {"nav_items": items}
