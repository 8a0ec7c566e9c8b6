"""Who a notice goes to: customers under network elements, an uploaded list, a customer class, or a saved segment.

The tags app registers how to read a saved segment with `register_segment_resolver(func)`; `func(segment_id)`
returns a Customer queryset (preferred: it stays one SQL query) or an iterable of customer ids.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet

from gridcare.core.errors import ServiceError
from gridcare.customers.models import Customer, CustomerStatus
from gridcare.grid.models import Feeder, ServicePoint, TransformerArea

SegmentResolver = Callable[[str], "QuerySet[Customer] | Iterable[int]"]
_segment_resolver: SegmentResolver | None = None


def register_segment_resolver(func: SegmentResolver | None) -> None:
    """Hook for the tags app: how to turn a saved segment id into customers."""
    global _segment_resolver
    _segment_resolver = func


@dataclass
class Audience:
    feeders: Sequence[Feeder] = ()
    areas: Sequence[TransformerArea] = ()
    service_points: Sequence[ServicePoint] = ()
    account_nos: Sequence[str] = ()
    customer_types: Sequence[str] = ()
    categories: Sequence[str] = ()
    important_only: bool = False
    segment: str = ""
    labels: list[str] = field(default_factory=list)

    def is_empty(self) -> bool:
        return not (
            self.feeders
            or self.areas
            or self.service_points
            or self.account_nos
            or self.customer_types
            or self.categories
            or self.important_only
            or self.segment
        )

    def label(self) -> str:
        parts = []
        if self.feeders:
            parts.append("线路 " + "、".join(f.name for f in self.feeders[:5]) + ("…" if len(self.feeders) > 5 else ""))
        if self.areas:
            parts.append("台区 " + "、".join(a.name for a in self.areas[:5]) + ("…" if len(self.areas) > 5 else ""))
        if self.service_points:
            parts.append(f"{len(self.service_points)} 个计量点")
        if self.account_nos:
            parts.append(f"名单 {len(self.account_nos)} 户")
        if self.customer_types:
            parts.append("客户类型 " + "、".join(self.customer_types))
        if self.categories:
            parts.append("用电类别 " + "、".join(self.categories))
        if self.important_only:
            parts.append("重要客户")
        if self.segment:
            parts.append(f"客户群 {self.segment}")
        return "；".join(parts + self.labels)[:300]


def network_q(
    feeders: Sequence[Feeder] | Sequence[int],
    areas: Sequence[TransformerArea] | Sequence[int],
    service_points: Sequence[ServicePoint] | Sequence[int],
) -> Q:
    """Customers supplied by any of the elements: one indexed query along the FK chain."""
    ids = [getattr(x, "pk", x) for x in feeders], [getattr(x, "pk", x) for x in areas]
    sp_ids = [getattr(x, "pk", x) for x in service_points]
    q = Q(pk__in=[])
    if ids[0]:
        q |= Q(service_point__transformer_area__feeder_id__in=ids[0])
    if ids[1]:
        q |= Q(service_point__transformer_area_id__in=ids[1])
    if sp_ids:
        q |= Q(service_point_id__in=sp_ids)
    return q


def audience_queryset(audience: Audience) -> QuerySet[Customer]:
    """Every criterion narrows (AND) except the network elements, which add up (OR) among themselves."""
    if audience.is_empty():
        raise ServiceError("请至少指定一种受众：线路、台区、计量点、户号名单、客户类别或客户群", field="audience")
    qs = Customer.objects.exclude(status=CustomerStatus.CLOSED)
    if audience.feeders or audience.areas or audience.service_points:
        qs = qs.filter(network_q(audience.feeders, audience.areas, audience.service_points))
    if audience.account_nos:
        qs = qs.filter(account_no__in=list(audience.account_nos))
    if audience.customer_types:
        qs = qs.filter(customer_type__in=list(audience.customer_types))
    if audience.categories:
        qs = qs.filter(category__in=list(audience.categories))
    if audience.important_only:
        qs = qs.exclude(important_level="")
    if audience.segment:
        if _segment_resolver is None:
            raise ServiceError("客户群功能尚未启用（标签模块未注册）", field="segment")
        found = _segment_resolver(audience.segment)
        if isinstance(found, QuerySet):
            qs = qs.filter(pk__in=found.values("pk"))
        else:
            qs = qs.filter(pk__in=list(found))
    return qs.order_by()


def parse_account_list(text: str) -> list[str]:
    """An uploaded list: one account number per line (or separated by commas/spaces); a CSV header is skipped."""
    seen: dict[str, None] = {}
    for raw in text.replace(",", "\n").replace("\t", "\n").replace(" ", "\n").splitlines():
        item = raw.strip().strip('"')
        if item and item.isdigit():
            seen[item] = None
    return list(seen)


def check_accounts(account_nos: Sequence[str]) -> list[str]:
    """The account numbers in the list that do not exist, checked in chunks (SQLite's parameter limit)."""
    missing: list[str] = []
    for i in range(0, len(account_nos), 5000):
        chunk = list(account_nos[i : i + 5000])
        found = set(Customer.objects.filter(account_no__in=chunk).values_list("account_no", flat=True))
        missing += [a for a in chunk if a not in found]
    return missing
