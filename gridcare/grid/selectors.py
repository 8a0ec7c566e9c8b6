"""Topology reads: substations, feeders and 台区 within the reader's scope.

The customers below a feeder or 台区 are the customer ledger's data and are read in `customers.selectors`;
customers sit above grid, so grid never imports them. The one figure a grid page shows about them (how many
customers a feeder serves) comes through `feeder_customer_count`, which the customers app registers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet

from gridcare.core.errors import NotFound
from gridcare.grid.models import Feeder, Substation, TransformerArea
from gridcare.org.scope import unit_filter

# (user, feeder) -> how many customers below the feeder the user may see.
FeederCustomerCounter = Callable[[Any, Feeder], int]
_feeder_customer_counter: FeederCustomerCounter | None = None


def register_feeder_customer_counter(func: FeederCustomerCounter | None) -> None:
    """Called by the customers app when it is ready (None unregisters)."""
    global _feeder_customer_counter
    _feeder_customer_counter = func


def feeder_customer_count(*, user: Any, feeder: Feeder) -> int | None:
    """Customers below the feeder within the user's scope; None when no app keeps customers."""
    return None if _feeder_customer_counter is None else _feeder_customer_counter(user, feeder)


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
