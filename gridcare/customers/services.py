"""Writes to the customer ledger. Other apps (work orders completing an application, imports) call these."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from gridcare.core.audit import changed, record_event, snapshot
from gridcare.core.errors import ServiceError
from gridcare.customers.models import Contact, Customer
from gridcare.org.models import User

AUDITED_FIELDS = [
    "account_no",
    "name",
    "customer_type",
    "category",
    "industry",
    "voltage_level",
    "contract_kva",
    "address",
    "district",
    "area_class",
    "lat",
    "lon",
    "service_point",
    "service_unit",
    "important_level",
    "is_sensitive",
    "opened_on",
    "status",
    "account_manager",
]
UPDATABLE_FIELDS = set(AUDITED_FIELDS) - {"account_no"}


def _validation_to_service_error(exc: ValidationError) -> ServiceError:
    errors = (
        {k: [str(m) for m in v] for k, v in exc.message_dict.items()}
        if hasattr(exc, "error_dict")
        else {"__all__": [str(m) for m in exc.messages]}
    )
    first_field, first_msgs = next(iter(errors.items()))
    return ServiceError(f"{first_field}: {first_msgs[0]}", errors=errors)


def customer_create(
    *, actor: User | str | None, contacts: list[dict[str, Any]] | None = None, **fields: Any
) -> Customer:
    customer = Customer(**fields)
    try:
        customer.full_clean()
    except ValidationError as exc:
        raise _validation_to_service_error(exc) from None
    with transaction.atomic():
        customer.save()
        for i, c in enumerate(contacts or []):
            Contact.objects.create(customer=customer, is_primary=(i == 0), **c)
        record_event(actor=actor, action="customer.create", subject=customer, new=snapshot(customer, AUDITED_FIELDS))
    return customer


def customer_update(*, customer: Customer, actor: User | str | None, reason: str = "", **changes: Any) -> Customer:
    """Change ledger fields (capacity, status, category …) with an audit event naming old and new values."""
    unknown = set(changes) - UPDATABLE_FIELDS
    if unknown:
        raise ServiceError(f"不能修改字段：{', '.join(sorted(unknown))}")
    with transaction.atomic():
        locked = Customer.objects.select_for_update().get(pk=customer.pk)
        before = snapshot(locked, AUDITED_FIELDS)
        for name, value in changes.items():
            setattr(locked, name, value)
        try:
            locked.full_clean()
        except ValidationError as exc:
            raise _validation_to_service_error(exc) from None
        locked.save()
        old, new = changed(before, snapshot(locked, AUDITED_FIELDS))
        if new:
            record_event(actor=actor, action="customer.update", subject=locked, old=old, new=new, note=reason)
    return locked


def contact_add(
    *,
    customer: Customer,
    name: str,
    phone: str,
    kind: str = Contact.Kind.SELF,
    is_primary: bool = False,
    actor: User | str | None,
) -> Contact:
    with transaction.atomic():
        contact = Contact(customer=customer, name=name, phone=phone, kind=kind, is_primary=is_primary)
        try:
            contact.full_clean()
        except ValidationError as exc:
            raise _validation_to_service_error(exc) from None
        contact.save()
        record_event(actor=actor, action="contact.add", subject=customer, new={"name": name, "kind": kind})
    return contact
