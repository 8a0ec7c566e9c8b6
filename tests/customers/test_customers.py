"""The customer ledger: search, masked phones, the path up to the substation, the 360 page."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from gridcare.core.errors import ServiceError
from gridcare.customers.selectors import (
    contacts_for,
    customer_get,
    customer_path,
    customer_search,
    customers_under_area,
    customers_under_feeder,
)
from gridcare.customers.services import customer_update
from tests import factories as f
from tests.conftest import City


def test_search_by_account_phone_name_and_address(city: City) -> None:
    c = city.north_customer
    assert customer_search(user=city.agent, query=c.account_no) == [c]
    assert customer_search(user=city.agent, query="13812345678") == [c]
    assert customer_search(user=city.agent, query="王小") == [c]
    assert c in customer_search(user=city.agent, query=c.address[3:8])
    assert customer_search(user=city.agent, query="   ") == []


def test_search_stays_inside_the_scope(city: City) -> None:
    assert customer_search(user=city.dispatcher_north, query=city.south_customer.account_no) == []


def test_phones_are_masked_for_roles_not_allowed(city: City) -> None:
    c = city.north_customer
    assert contacts_for(user=city.analyst, customer=c)[0].phone == "138****5678"
    assert contacts_for(user=city.agent, customer=c)[0].phone == "13812345678"


def test_path_runs_from_customer_up_to_substation(city: City) -> None:
    c = customer_get(user=city.agent, account_no=city.north_customer.account_no)
    levels = [n["level"] for n in customer_path(c)]
    assert levels == ["customer", "service_point", "transformer_area", "feeder", "substation"]
    assert customer_path(c)[-1]["code"] == city.north_net.substation.code


def test_customers_under_feeder_and_area(city: City) -> None:
    net = city.north_net
    extra = f.make_customer(city.north, net.areas[1])
    assert set(customers_under_feeder(user=city.agent, feeder=net.feeder)) == {city.north_customer, extra}
    assert list(customers_under_area(user=city.agent, area=net.areas[1])) == [extra]


def test_customers_under_feeder_is_one_query(city: City, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    with django_assert_num_queries(1):
        list(customers_under_feeder(user=city.admin, feeder=city.north_net.feeder))


def test_update_refuses_account_number_and_bad_values(city: City) -> None:
    with pytest.raises(ServiceError, match="account_no"):
        customer_update(customer=city.north_customer, actor=None, account_no="1")
    with pytest.raises(ServiceError, match="status"):
        customer_update(customer=city.north_customer, actor=None, status="gone")


def test_360_page_shows_profile_path_and_masked_contacts(city: City, client: Client) -> None:
    client.force_login(city.analyst)
    page = client.get(f"/customers/{city.north_customer.account_no}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "王小明" in html and "138****5678" in html and "13812345678" not in html
    assert city.north_net.substation.name in html and city.north_net.feeder.name in html


def test_360_page_of_another_centres_customer_is_404(city: City, client: Client) -> None:
    client.force_login(city.dispatcher_north)
    assert client.get(f"/customers/{city.south_customer.account_no}/").status_code == 404


def test_search_page_with_one_match_opens_the_customer(city: City, client: Client) -> None:
    client.force_login(city.agent)
    response = client.get("/customers/", {"q": city.north_customer.account_no})
    assert response.status_code == 302
    assert response["Location"].endswith(f"/customers/{city.north_customer.account_no}/")


def test_pages_need_login(client: Client, db: None) -> None:
    assert client.get("/customers/").status_code == 302
    assert client.get("/").status_code == 302


def test_customers_under_feeder_is_one_query_within_a_scope(city: City, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    with django_assert_num_queries(1):
        assert list(customers_under_feeder(user=city.dispatcher_north, feeder=city.north_net.feeder)) == [
            city.north_customer
        ]


def test_the_home_page_counts_are_one_pass_and_follow_the_scope(city: City, django_assert_num_queries: Any) -> None:
    from gridcare.customers.models import Customer
    from gridcare.customers.selectors import ledger_summary

    area = city.north_customer.service_point.transformer_area
    f.make_customer(city.north, area, customer_type="lv_business", category="commercial", important_level="second")
    f.make_customer(city.north, area, is_sensitive=True)
    f.make_customer(city.south, None, customer_type="hv", important_level="first", is_sensitive=True)
    with django_assert_num_queries(1):
        north = ledger_summary(user=city.dispatcher_north)
    mine = Customer.objects.filter(service_unit=city.north)
    assert north == {
        "total": mine.count(),
        "by_type": {t: mine.filter(customer_type=t).count() for t in set(mine.values_list("customer_type", flat=True))},
        "important": mine.exclude(important_level="").count(),
        "sensitive": mine.filter(is_sensitive=True).count(),
    }
    assert north["important"] == 1 and north["sensitive"] == 1
    everyone = ledger_summary(user=city.agent)  # the 95598 centre sees the whole company
    assert everyone["total"] == Customer.objects.count() and everyone["sensitive"] == 2 and everyone["important"] == 2
