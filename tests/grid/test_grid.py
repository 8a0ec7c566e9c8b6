"""Grid pages and API after the customers below the network moved to the customers app (grid sits below it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import Client

from gridcare.customers.selectors import feeder_customer_count
from gridcare.grid import selectors as grid_selectors
from tests import factories as f
from tests.conftest import City


@pytest.fixture
def no_customers_app() -> Iterator[None]:
    grid_selectors.register_feeder_customer_counter(None)
    try:
        yield
    finally:
        grid_selectors.register_feeder_customer_counter(feeder_customer_count)


def test_the_feeder_page_counts_the_customers_in_the_readers_scope(city: City, client: Client) -> None:
    f.make_customer(city.north, city.north_net.areas[1])
    f.make_customer(city.south, city.north_net.areas[1])  # served by the other repair centre
    url = f"/grid/feeders/{city.north_net.feeder.code}/"
    client.force_login(city.agent)  # the 95598 centre sees the whole company
    assert "线路下共 3 位客户" in client.get(url).content.decode()
    client.force_login(city.dispatcher_north)
    page = client.get(url)
    assert page.status_code == 200 and "线路下共 2 位客户" in page.content.decode()


def test_the_feeder_page_without_a_customer_ledger_shows_no_count(
    city: City, client: Client, no_customers_app: None
) -> None:
    client.force_login(city.agent)
    assert grid_selectors.feeder_customer_count(user=city.agent, feeder=city.north_net.feeder) is None
    page = client.get(f"/grid/feeders/{city.north_net.feeder.code}/")
    assert page.status_code == 200 and "位客户" not in page.content.decode()


def test_the_customers_below_routes_keep_their_urls_and_operation_ids(client: Client) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    feeder = paths["/api/v1/grid/feeders/{code}/customers"]["get"]
    area = paths["/api/v1/grid/areas/{code}/customers"]["get"]
    assert (feeder["operationId"], feeder["tags"]) == ("gridcare_grid_api_feeder_customers", ["grid"])
    assert (area["operationId"], area["tags"]) == ("gridcare_grid_api_area_customers", ["grid"])
