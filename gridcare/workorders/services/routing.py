"""Routing (派单): which unit a new order goes to."""

from __future__ import annotations

from gridcare.customers.models import Customer
from gridcare.org.models import OrgUnit
from gridcare.workorders.models import (
    Category,
    RoutingRule,
)
from gridcare.workorders.reference import reference


def route(*, category: Category, customer: Customer | None, area_class: str) -> OrgUnit | None:
    """The unit a new order goes to: the most specific routing rule that matches, else the category's
    default unit kind within the customer's supply unit, else the first such unit of the company."""
    ref = reference()
    district_id = customer.district_id if customer else None
    ancestry = {category.pk, category.parent_id}
    candidates = [
        r
        for r in ref.rules
        if (r.category_id is None or r.category_id in ancestry)
        and (r.area_class in ("", area_class))
        and (r.district_id is None or r.district_id == district_id)
    ]

    def specificity(rule: RoutingRule) -> tuple[int, int, int]:
        cat = 2 if rule.category_id == category.pk else (1 if rule.category_id else 0)
        return (-rule.rank, cat, int(bool(rule.district_id)) + int(bool(rule.area_class)))

    if candidates:
        return max(candidates, key=specificity).unit
    kind = category.default_unit_kind
    same_kind = ref.units_by_kind.get(kind, [])
    if customer is not None:
        home = ref.units.get(customer.service_unit_id)
        if home is not None:
            if home.kind == kind:
                return home
            inside = [u for u in same_kind if u.path.startswith(home.path)]
            if inside:
                return inside[0]
    return same_kind[0] if same_kind else None
