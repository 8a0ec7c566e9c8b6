"""Reference data read on every intake — taxonomy, SLA targets, routing rules, units — cached per process.

They change a few times a year through the admin; intake runs hundreds of times a second. The cache
lives for a minute (like the holiday calendar), so an edit reaches every server process within that.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from gridcare.core import refdata
from gridcare.org.models import OrgUnit
from gridcare.workorders import sla
from gridcare.workorders.models import Category, RoutingRule, SlaPolicy, SlaTarget

TTL_SECONDS = 60.0


@dataclass(frozen=True)
class Reference:
    categories: dict[int, Category]
    by_code: dict[str, Category]
    policies: dict[int, SlaPolicy]
    targets: dict[int, list[sla.Target]]
    rules: list[RoutingRule]
    units: dict[int, OrgUnit]
    units_by_kind: dict[str, list[OrgUnit]]  # active units of each kind, in tree order


_lock = threading.Lock()
_cached: tuple[float, int, Reference] | None = None


def _load() -> Reference:
    policies = {p.pk: p for p in SlaPolicy.objects.all()}
    targets: dict[int, list[sla.Target]] = {pk: [] for pk in policies}
    rows = SlaTarget.objects.values_list(
        "policy_id", "milestone", "amount", "unit", "priority", "area_class", "supply_class"
    )
    for policy_id, milestone, amount, unit, priority, area, supply in rows:
        targets.setdefault(policy_id, []).append(sla.Target(milestone, amount, unit, priority, area, supply))
    categories = {c.pk: c for c in Category.objects.all()}
    for c in categories.values():
        # Attach the cached parent and policy so no query follows these relations later.
        if c.parent_id:
            c.parent = categories.get(c.parent_id)
        if c.sla_policy_id:
            c.sla_policy = policies.get(c.sla_policy_id)
    units = {u.pk: u for u in OrgUnit.objects.filter(is_active=True).order_by("path")}
    by_kind: dict[str, list[OrgUnit]] = {}
    for u in units.values():
        by_kind.setdefault(u.kind, []).append(u)
    rules = list(RoutingRule.objects.filter(unit__is_active=True).order_by("rank", "id"))
    for r in rules:
        r.unit = units[r.unit_id]
    return Reference(categories, {c.code: c for c in categories.values()}, policies, targets, rules, units, by_kind)


def reference(*, fresh: bool = False) -> Reference:
    global _cached
    with _lock:
        now = time.monotonic()
        if fresh or _cached is None or now - _cached[0] > TTL_SECONDS or _cached[1] != refdata.generation:
            _cached = (now, refdata.generation, _load())
        return _cached[2]


def invalidate() -> None:
    global _cached
    with _lock:
        _cached = None


def category_by_code(code: str) -> Category | None:
    cat = reference().by_code.get(code)
    if cat is None:  # created since the cache was filled
        cat = reference(fresh=True).by_code.get(code)
    return cat
