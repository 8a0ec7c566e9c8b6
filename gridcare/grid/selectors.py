"""Topology reads both ways: everything below a feeder or 台区, and a customer's path up (customers.selectors)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from gridcare.core.errors import NotFound
from gridcare.customers.models import Customer
from gridcare.customers.selectors import customers_visible
from gridcare.grid.models import Feeder, Substation, TransformerArea
from gridcare.org.scope import unit_filter


def substations_visible(*, user: Any) -> QuerySet[Substation]:
    return Substation.objects.filter(unit_filter(user, "unit"))


def feeders_visible(*, user: Any) -> QuerySet[Feeder]:
    return Feeder.objects.filter(unit_filter(user, "unit")).select_related("substation")


def areas_visible(*, user: Any) -> QuerySet[TransformerArea]:
    return TransformerArea.objects.filter(unit_filter(user, "unit")).select_related("feeder")


def feeder_get(*, user: Any, code: str) -> Feeder:
    feeder = feeders_visible(user=user).filter(code=code).first()
    if feeder is None:
        raise NotFound(f"线路 {code} 不存在或不在您的数据范围内")
    return feeder


def area_get(*, user: Any, code: str) -> TransformerArea:
    area = areas_visible(user=user).filter(code=code).first()
    if area is None:
        raise NotFound(f"台区 {code} 不存在或不在您的数据范围内")
    return area


def customers_under_feeder(*, user: Any, feeder: Feeder) -> QuerySet[Customer]:
    """One indexed query: customer → service point → 台区 → feeder (FK indexes on each hop)."""
    return customers_visible(user=user).filter(service_point__transformer_area__feeder_id=feeder.pk)


def customers_under_area(*, user: Any, area: TransformerArea) -> QuerySet[Customer]:
    return customers_visible(user=user).filter(service_point__transformer_area_id=area.pk)


def customer_ids_under(*, feeder_ids: list[int] | None = None, area_ids: list[int] | None = None) -> QuerySet[Customer]:
    """Unscoped: for system work (outage notices, grouping) that must reach every affected customer."""
    qs = Customer.objects.all()
    if feeder_ids is not None:
        qs = qs.filter(service_point__transformer_area__feeder_id__in=feeder_ids)
    if area_ids is not None:
        qs = qs.filter(service_point__transformer_area_id__in=area_ids)
    return qs
