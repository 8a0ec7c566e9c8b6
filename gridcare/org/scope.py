"""Data scope: a user sees the subtree of their unit's scope root; administrators see everything."""

from __future__ import annotations

import threading
import time
from typing import Any

from django.db.models import Q, QuerySet

from gridcare.core import refdata
from gridcare.org.models import OrgUnit, User

PATHS_TTL_SECONDS = 60.0
_paths_lock = threading.Lock()
_paths: tuple[float, int, dict[int, str]] | None = None


def _unit_path(unit_id: int) -> str | None:
    """A unit's tree path from a per-process map (units number in hundreds and move a few times a year; the map
    reloads after a minute, after an edit in this process, and when it does not know the unit)."""
    global _paths
    with _paths_lock:
        now = time.monotonic()
        for attempt in range(2):
            if attempt or _paths is None or now - _paths[0] > PATHS_TTL_SECONDS or _paths[1] != refdata.generation:
                _paths = (now, refdata.generation, dict(OrgUnit.objects.values_list("pk", "path")))
            path = _paths[2].get(unit_id)
            if path is not None:
                return path
        return None


def scope_root(user: User) -> OrgUnit | None:
    unit = user.unit
    if unit is None:
        return None
    return unit.scope_unit or unit


def unit_filter(user: Any, field: str) -> Q:
    """A filter on `field` (a FK to OrgUnit) that keeps rows inside the user's scope.

    Written as `field_id IN (SELECT id FROM the units of the scope)`: one statement, and no join to the unit
    table, which matters on million-row tables (customers, orders). Units number in hundreds.
    Users without a unit (and anonymous users) see nothing unless they are administrators.
    """
    if not getattr(user, "is_authenticated", False):
        return Q(pk__in=[])
    if user.sees_everything:
        return Q()
    root = scope_root(user)
    if root is None:
        return Q(pk__in=[])
    return Q(**{f"{field}_id__in": OrgUnit.objects.filter(path__startswith=root.path).values("pk")})


def unit_in_scope(user: Any, unit: OrgUnit | None) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    if user.sees_everything:
        return True
    root = scope_root(user)
    return root is not None and unit is not None and unit.path.startswith(root.path)


def unit_id_in_scope(user: Any, unit_id: int | None) -> bool:
    """`unit_in_scope` for a unit known by id — a customer's or an order's — without reading the unit."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.sees_everything:
        return True
    root = scope_root(user)
    if root is None or unit_id is None:
        return False
    path = _unit_path(unit_id)
    return path is not None and path.startswith(root.path)


def units_visible(user: Any) -> QuerySet[OrgUnit]:
    if not getattr(user, "is_authenticated", False):
        return OrgUnit.objects.none()
    if user.sees_everything:
        return OrgUnit.objects.all()
    root = scope_root(user)
    if root is None:
        return OrgUnit.objects.none()
    return OrgUnit.objects.filter(path__startswith=root.path)
