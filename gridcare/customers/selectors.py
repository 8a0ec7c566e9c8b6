"""Reads of the customer ledger, always within the reader's data scope."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, Q, QuerySet

from gridcare.core.errors import NotFound
from gridcare.core.text import mask_phone
from gridcare.customers.models import Contact, Customer
from gridcare.grid.models import Feeder, TransformerArea
from gridcare.org.scope import unit_filter, unit_id_in_scope

PATH_RELATED = (
    "district",
    "service_unit",
    "service_point__transformer_area__feeder__substation",
)


def customers_visible(*, user: Any) -> QuerySet[Customer]:
    return Customer.objects.filter(unit_filter(user, "service_unit"))


# ---------------------------------------------------------------- customers below the network


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


def feeder_customer_count(user: Any, feeder: Feeder) -> int:
    """What the grid app's feeder page shows (registered with `grid.selectors` in CustomersConfig.ready)."""
    return customers_under_feeder(user=user, feeder=feeder).count()


_CUSTOMER_ATTNAMES = [f.attname for f in Customer._meta.concrete_fields]


@cache
def _by_account_sql() -> str:
    # Compiled once per process: building this SELECT is most of the cost of running it. It selects every
    # concrete field in model order, which is what `Model.from_db` is given.
    query = Customer.objects.filter(account_no="?").order_by().query
    sql, params = query.sql_with_params()
    if params != ("?",) or len(query.get_compiler(connection.alias).get_select()[0]) != len(_CUSTOMER_ATTNAMES):
        raise RuntimeError(f"unexpected query {sql!r} {params!r}")  # pragma: no cover - guards the assumptions
    return str(sql)


def customer_for_intake(*, user: Any, account_no: str) -> Customer:
    """The customer a new order is for, within scope — a lighter read than `customer_get` (no topology
    path; the repair flow follows it lazily when it needs it). Intake runs hundreds of times a second, so this
    is one prepared SELECT by account number and a scope check against the cached unit tree."""
    with connection.cursor() as cursor:
        cursor.execute(_by_account_sql(), [account_no])
        row = cursor.fetchone()
    if row is None:
        raise NotFound(f"户号 {account_no} 不存在或不在您的数据范围内")
    # The row as the ORM would have built it (a RawQuerySet spent longer mapping columns than the query took).
    customer = Customer.from_db(connection.alias, _CUSTOMER_ATTNAMES, row)
    if not unit_id_in_scope(user, customer.service_unit_id):
        raise NotFound(f"户号 {account_no} 不存在或不在您的数据范围内")
    return customer


def customer_get(*, user: Any, account_no: str) -> Customer:
    """One customer with the whole topology path loaded; NotFound also when it is outside the scope."""
    customer = customers_visible(user=user).select_related(*PATH_RELATED).filter(account_no=account_no).first()
    if customer is None:
        raise NotFound(f"户号 {account_no} 不存在或不在您的数据范围内")
    return customer


_DIGITS = re.compile(r"^\d+$")


def customer_search(*, user: Any, query: str, limit: int = 20) -> list[Customer]:
    """Find by account number, phone, name or address — the agent's one search box.

    Exact account numbers and phone numbers are answered from their unique/indexed columns first;
    only then do we fall back to a prefix match on names and a substring match on addresses.
    """
    query = query.strip()
    if not query:
        return []
    base = customers_visible(user=user).select_related("district")
    if _DIGITS.match(query):
        exact = list(base.filter(account_no=query)[:1])
        if exact:
            return exact
        # Only a role that may read phone numbers may find a customer by one: to the others a phone shows as
        # 138****5678, and a search that answered a full number would tell them whose it is.
        by_phone = list(base.filter(contacts__phone=query).distinct()[:limit]) if phones_visible(user) else []
        if by_phone:
            return by_phone
        return list(base.filter(account_no__startswith=query)[:limit])
    found = list(base.filter(name__startswith=query)[:limit])
    if len(found) < limit:
        seen = {c.pk for c in found}
        more = base.filter(Q(name__contains=query) | Q(address__contains=query)).exclude(pk__in=seen)
        found += list(more[: limit - len(found)])
    return found


def phones_visible(user: Any) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return bool(user.sees_everything or user.role in settings.GRIDCARE_PHONE_VISIBLE_ROLES)


@dataclass(frozen=True)
class ContactView:
    name: str
    kind: str
    phone: str
    is_primary: bool


def contact_view(*, user: Any, contact: Contact, show: bool | None = None) -> ContactView:
    """A contact as this user may see it: the phone in full only for the roles that call customers back."""
    show = phones_visible(user) if show is None else show
    return ContactView(
        name=contact.name,
        kind=contact.get_kind_display(),
        phone=contact.phone if show else mask_phone(contact.phone),
        is_primary=contact.is_primary,
    )


def contacts_for(*, user: Any, customer: Customer) -> list[ContactView]:
    show = phones_visible(user)
    return [contact_view(user=user, contact=c, show=show) for c in customer.contacts.all()]


def customer_path(customer: Customer) -> list[dict[str, Any]]:
    """The customer's way up to its substation: customer, service point, 台区, feeder, substation."""
    nodes: list[dict[str, Any]] = [
        {
            "level": "customer",
            "label": "客户",
            "code": customer.account_no,
            "name": customer.name,
            "lat": customer.lat,
            "lon": customer.lon,
        },
    ]
    sp = customer.service_point
    if sp is None:
        return nodes
    ta = sp.transformer_area
    feeder = ta.feeder
    sub = feeder.substation
    nodes += [
        {
            "level": "service_point",
            "label": "计量点",
            "code": sp.code,
            "name": sp.meter_no or sp.code,
            "lat": sp.lat,
            "lon": sp.lon,
        },
        {
            "level": "transformer_area",
            "label": "台区",
            "code": ta.code,
            "name": ta.name,
            "lat": ta.lat,
            "lon": ta.lon,
            "rated_kva": ta.rated_kva,
        },
        {
            "level": "feeder",
            "label": "10kV 线路",
            "code": feeder.code,
            "name": feeder.name,
            "lat": None,
            "lon": None,
        },
        {
            "level": "substation",
            "label": "变电站",
            "code": sub.code,
            "name": sub.name,
            "lat": sub.lat,
            "lon": sub.lon,
            "voltage_kv": sub.voltage_kv,
        },
    ]
    return nodes


def ledger_summary(*, user: Any) -> dict[str, Any]:
    """The home page's counts of the customers in scope: one pass over the ledger (it was three), grouped by
    type with the important and sensitive ones counted alongside."""
    rows = (
        customers_visible(user=user)
        .order_by()
        .values("customer_type")
        .annotate(
            n=Count("id"),
            important=Count("id", filter=~Q(important_level="")),
            sensitive=Count("id", filter=Q(is_sensitive=True)),
        )
    )
    by_type, important, sensitive = {}, 0, 0
    for row in rows:
        by_type[row["customer_type"]] = row["n"]
        important += row["important"]
        sensitive += row["sensitive"]
    return {"total": sum(by_type.values()), "by_type": by_type, "important": important, "sensitive": sensitive}
