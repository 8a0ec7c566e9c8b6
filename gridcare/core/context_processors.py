"""Template context shared by every page: the left navigation the user's role may use.

Each app may add entries in `gridcare/<app>/nav.py` as `NAV_ITEMS = [(label, url name, roles or None, order)]`.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _

from gridcare.core.contributions import from_apps

# (label, url name, roles that see it (None = everyone signed in), order)
NavItem = tuple[str, str, set[str] | None, int]
# Core's own entry only: the apps above add theirs (customers, grid, work orders …), so core names no app.
NAV_ITEMS: list[NavItem] = [("工作台", "home", None, 0)]
_collected: list[NavItem] | None = None


def all_nav_items() -> list[NavItem]:
    global _collected
    if _collected is None:
        items = list(NAV_ITEMS)
        for contributed in from_apps("nav.NAV_ITEMS"):
            items += contributed
        _collected = sorted(items, key=lambda item: item[3])
    return _collected


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    items: list[dict[str, Any]] = []
    for label, name, roles, _order in all_nav_items():
        if roles is None or user.sees_everything or user.role in roles:
            items.append({"label": _(label), "url": reverse(name), "active": False})
    # The entry whose address is the longest prefix of this page is the active one: /dsm/plans/7/ lights
    # 有序用电 (/dsm/plans/), not also 负荷分析 (/dsm/).
    matching = [i for i in items if request.path == i["url"] or (i["url"] != "/" and request.path.startswith(i["url"]))]
    if matching:
        max(matching, key=lambda i: len(i["url"]))["active"] = True
    if user.is_staff:
        items.append({"label": _("系统管理"), "url": reverse("admin:index"), "active": False})
    return {"nav_items": items}
