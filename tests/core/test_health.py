from __future__ import annotations

import pytest
from django.db.utils import OperationalError
from django.test import Client


@pytest.mark.django_db
def test_healthz_reports_database_ok(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["status"] == "ok"


@pytest.mark.django_db
def test_healthz_is_503_when_the_database_fails(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    from django.db import connection

    def broken_cursor(*args: object, **kwargs: object) -> None:
        raise OperationalError("database is gone")

    monkeypatch.setattr(connection, "cursor", broken_cursor)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"]["status"] == "error"
