"""A contact number the caller leaves (回拨号码) is recorded on the customer, audited, and shown as each role may see it."""

from __future__ import annotations

from django.test import Client

from gridcare.core.models import Event
from gridcare.customers.models import Contact
from tests.conftest import City
from tests.workorders.test_api import api, post


def test_an_agent_records_a_callback_number_and_a_department_sees_it_masked(city: City, client: Client) -> None:
    c, h = api(client, city.agent)
    account = city.north_customer.account_no
    r = post(c, h, f"/api/v1/customers/{account}/contacts", {"name": "王女士", "phone": "13912345678", "kind": "other"})
    assert r.status_code == 201, r.content
    assert r.json() == {"name": "王女士", "kind": "其他", "phone": "13912345678", "is_primary": False}
    assert Contact.objects.filter(customer=city.north_customer, phone="13912345678").count() == 1
    event = Event.objects.get(action="contact.add", subject_id=str(city.north_customer.pk))
    assert event.new == {"name": "王女士", "kind": "other"} and event.actor == city.agent
    c2, h2 = api(client, city.handler)
    shown = c2.get(f"/api/v1/customers/{account}", headers=h2).json()["contacts"]
    assert "13912345678" not in str(shown) and any(x["name"] == "王女士" for x in shown)


def test_a_bad_contact_is_refused_with_the_field_and_nothing_is_written(city: City, client: Client) -> None:
    c, h = api(client, city.agent)
    account = city.north_customer.account_no
    before = Contact.objects.count()
    r = post(c, h, f"/api/v1/customers/{account}/contacts", {"name": "王女士", "phone": "139", "kind": "neighbour"})
    assert r.status_code == 400 and "kind" in r.json()["detail"]
    r = post(c, h, f"/api/v1/customers/{account}/contacts", {"name": "", "phone": "13912345678"})
    assert r.status_code == 422
    assert Contact.objects.count() == before
