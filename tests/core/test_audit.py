"""Every change leaves an event in the same transaction; history cannot be edited."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction

from gridcare.core.audit import AuditOutsideTransactionError, record_event
from gridcare.core.models import Event, ImmutableEventError
from gridcare.customers.services import customer_update
from tests.conftest import City


def test_customer_update_records_old_and_new_values(city: City) -> None:
    customer = city.north_customer
    customer_update(customer=customer, actor=city.admin, reason="增容完成", contract_kva=Decimal("16.0"))
    event = Event.objects.filter(action="customer.update", subject_id=str(customer.pk)).get()
    assert event.old == {"contract_kva": "8.0"}
    assert event.new == {"contract_kva": "16.0"}
    assert event.actor == city.admin
    assert event.note == "增容完成"


def test_an_update_that_changes_nothing_writes_no_event(city: City) -> None:
    before = Event.objects.count()
    customer_update(customer=city.north_customer, actor=city.admin, name=city.north_customer.name)
    assert Event.objects.count() == before


def test_event_rolls_back_with_the_change(city: City) -> None:
    customer = city.north_customer
    before = Event.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        customer_update(customer=customer, actor=city.admin, contract_kva=Decimal("20.0"))
        raise RuntimeError("the rest of the change failed")
    customer.refresh_from_db()
    assert customer.contract_kva == Decimal("8.0")
    assert Event.objects.count() == before


def test_events_cannot_be_changed_or_deleted(city: City) -> None:
    event = Event.objects.first()
    assert event is not None
    event.note = "rewritten"
    with pytest.raises(ImmutableEventError):
        event.save()
    with pytest.raises(ImmutableEventError):
        event.delete()


@pytest.mark.django_db(transaction=True)
def test_record_event_refuses_to_run_outside_a_transaction() -> None:
    with pytest.raises(AuditOutsideTransactionError):
        record_event(actor=None, action="x.y", subject_type="t", subject_id="1")


def test_admin_can_read_but_not_edit_events(city: City, client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(city.admin)
    event = Event.objects.first()
    assert event is not None
    assert client.get("/admin/core/event/").status_code == 200
    page = client.get(f"/admin/core/event/{event.pk}/change/")
    assert page.status_code == 200
    # A read-only change page: no save button of any kind, only the way back.
    html = page.content.decode()
    assert 'name="_save"' not in html and 'name="_continue"' not in html and 'name="_addanother"' not in html
    response = client.post(f"/admin/core/event/{event.pk}/change/", {"note": "x"})
    assert response.status_code == 403
    assert client.post(f"/admin/core/event/{event.pk}/delete/", {"post": "yes"}).status_code == 403
