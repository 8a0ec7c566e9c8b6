"""Load pages: the 360 section, the feeder page with overload warnings, plotly.js from the package, scope."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from gridcare.dsm import store
from tests.conftest import City, login
from tests.dsm.test_analytics import write_store


@pytest.fixture
def loaded(city: City, settings, tmp_path: Path) -> City:  # type: ignore[no-untyped-def]
    settings.ANALYTICS_DIR = tmp_path / "analytics"
    peaky = [1.0] * 96
    peaky[72:76] = [400.0] * 4  # 18:00–19:00 above the 400 kVA 台区 (× 0.9)
    write_store(store.store_dir("interval", settings.ANALYTICS_DIR), {(city.north_customer.pk, 0): peaky})
    return city


def test_customer_load_fragment_and_page(loaded: City, client: Client) -> None:
    login(client, loaded.agent)
    acct = loaded.north_customer.account_no
    fragment = client.get(f"/dsm/customers/{acct}/load/fragment")
    assert fragment.status_code == 200
    body = fragment.content.decode()
    assert "2024-07-01" in body and "400.00" in body and "plotly.min.js" in body
    assert client.get(f"/dsm/customers/{acct}/load").status_code == 200
    # the 360 page lists the section
    assert f"/dsm/customers/{acct}/load/fragment" in client.get(f"/customers/{acct}/").content.decode()


def test_feeder_page_warns_of_overload(loaded: City, client: Client) -> None:
    login(client, loaded.dispatcher_north)
    page = client.get(f"/dsm/feeders/{loaded.north_net.feeder.code}/load")
    assert page.status_code == 200
    text = page.content.decode()
    assert 'data-testid="overload-warnings"' in text and "过载" in text


def test_scope_and_no_data(loaded: City, client: Client, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    login(client, loaded.dispatcher_south)
    assert client.get(f"/dsm/customers/{loaded.north_customer.account_no}/load/fragment").status_code == 404
    assert client.get(f"/dsm/feeders/{loaded.north_net.feeder.code}/load").status_code == 404
    page = client.get(f"/dsm/feeders/{loaded.south_net.feeder.code}/load")
    assert 'data-testid="feeder-empty"' in page.content.decode()


def test_plotly_is_served_from_the_installed_package(client: Client, db: None) -> None:
    response = client.get("/dsm/plotly.min.js")
    assert response.status_code == 200 and response["Content-Type"] == "text/javascript"
    assert b"plotly" in b"".join(response.streaming_content)[:2000].lower()  # type: ignore[attr-defined]


def test_index_lists_feeders(loaded: City, client: Client) -> None:
    login(client, loaded.analyst)
    assert loaded.north_net.feeder.code in client.get("/dsm/").content.decode()


def test_load_api(loaded: City, client: Client) -> None:
    login(client, loaded.agent)
    body = client.get(f"/api/v1/dsm/customers/{loaded.north_customer.account_no}/load").json()
    assert body["days"][0]["max_kw"] == 400.0 and len(body["curves"]["2024-07-01"]) == 96
    feeder = client.get(f"/api/v1/dsm/feeders/{loaded.north_net.feeder.code}/load").json()
    assert feeder["warnings"][0]["level"] == "overload"
    # A malformed date is a 422 naming the field, as for every date parameter of the API (gridcare.core.apitypes.Day).
    bad = client.get(f"/api/v1/dsm/feeders/{loaded.north_net.feeder.code}/load?day=bad")
    assert bad.status_code == 422 and "day" in bad.json()["errors"]
