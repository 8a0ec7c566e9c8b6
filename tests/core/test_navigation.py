"""The left navigation lights exactly one entry: the one whose address is the longest prefix of the page."""

from __future__ import annotations

import re

from django.test import Client

from tests.conftest import City, login


def active_entries(client: Client, path: str) -> list[str]:
    page = client.get(path)
    assert page.status_code == 200
    return re.findall(r'<a href="([^"]+)" class="active" aria-current="page">', page.content.decode())


def test_a_page_under_two_entries_lights_only_the_nearer_one(city: City, client: Client) -> None:
    login(client, city.analyst)
    assert active_entries(client, "/dsm/plans/") == ["/dsm/plans/"]
    assert active_entries(client, "/dsm/") == ["/dsm/"]
