"""The API: bearer tokens, session auth, OpenAPI, and the data scope enforced on every read."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from openapi_spec_validator import validate

from gridcare.org.services import token_create, token_revoke
from tests.conftest import City


def bearer(client: Client, raw: str, path: str):  # type: ignore[no-untyped-def]
    return client.get(path, headers={"Authorization": f"Bearer {raw}"})


def test_openapi_document_is_valid(client: Client, db: None) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    validate(spec)
    assert "/api/v1/customers/{account_no}/path" in spec["paths"]


def test_no_credentials_is_401_with_a_message(client: Client, db: None) -> None:
    response = client.get("/api/v1/customers?q=1")
    assert response.status_code == 401
    assert "Bearer" in response.json()["detail"]


def test_token_reads_a_customer_and_its_path(city: City, client: Client) -> None:
    _, raw = token_create(user=city.agent, actor=None)
    account = city.north_customer.account_no
    detail = bearer(client, raw, f"/api/v1/customers/{account}")
    assert detail.status_code == 200
    assert detail.json()["feeder"] == city.north_net.feeder.code
    path = bearer(client, raw, f"/api/v1/customers/{account}/path").json()
    assert [n["level"] for n in path][-1] == "substation"


def test_one_repair_centre_cannot_read_anothers_data(city: City, client: Client) -> None:
    _, raw = token_create(user=city.dispatcher_north, actor=None)
    south = city.south_customer.account_no
    assert bearer(client, raw, f"/api/v1/customers/{south}").status_code == 404
    assert bearer(client, raw, f"/api/v1/customers/{south}/path").status_code == 404
    assert bearer(client, raw, f"/api/v1/grid/feeders/{city.south_net.feeder.code}/customers").status_code == 404
    assert bearer(client, raw, f"/api/v1/grid/areas/{city.south_net.areas[0].code}/customers").status_code == 404
    feeders = [f["code"] for f in bearer(client, raw, "/api/v1/grid/feeders").json()]
    assert feeders == [city.north_net.feeder.code]
    assert bearer(client, raw, f"/api/v1/customers?q={south}").json()["count"] == 0


def test_customers_under_a_feeder_through_the_api(city: City, client: Client) -> None:
    _, raw = token_create(user=city.agent, actor=None)
    body = bearer(client, raw, f"/api/v1/grid/feeders/{city.north_net.feeder.code}/customers").json()
    assert body["count"] == 1
    assert body["results"][0]["account_no"] == city.north_customer.account_no


def test_phone_masking_follows_the_role_in_the_api(city: City, client: Client) -> None:
    _, raw = token_create(user=city.analyst, actor=None)
    body = bearer(client, raw, f"/api/v1/customers/{city.north_customer.account_no}").json()
    assert body["contacts"][0]["phone"] == "138****5678"


def test_revoked_and_unknown_tokens_are_refused(city: City, client: Client) -> None:
    token, raw = token_create(user=city.agent, actor=None)
    token_revoke(token=token, actor=None)
    assert bearer(client, raw, "/api/v1/org/me").status_code == 401
    assert bearer(client, "gc_nonsense", "/api/v1/org/me").status_code == 401


def test_a_token_revoked_after_use_is_refused_at_once_in_this_process(
    city: City, client: Client, django_assert_num_queries: Any
) -> None:
    token, raw = token_create(user=city.agent, actor=None)
    assert bearer(client, raw, "/api/v1/org/me").status_code == 200
    with django_assert_num_queries(0):  # remembered: no read of the token, its user or their unit
        assert bearer(client, raw, "/api/v1/org/me").status_code == 200
    token_revoke(token=token, actor=None)
    assert bearer(client, raw, "/api/v1/org/me").status_code == 401


def test_session_login_works_for_the_browser(city: City, client: Client) -> None:
    client.force_login(city.dispatcher_south)
    me = client.get("/api/v1/org/me").json()
    assert me == {"username": "disp_s", "role": "dispatcher", "unit": city.south.code}


def test_token_command_prints_a_working_token(city: City, client: Client) -> None:
    out = io.StringIO()
    call_command("token", "create", "--user", "agent", stdout=out)
    raw = out.getvalue().strip().splitlines()[-1].strip()
    assert bearer(client, raw, "/api/v1/org/me").json()["username"] == "agent"


def test_token_command_for_unknown_user_fails_clearly(db: None) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="nobody"):
        call_command("token", "create", "--user", "nobody")


def _models_of(annotation: Any, seen: set[type]) -> None:
    """Every pydantic model an annotation reaches (through lists, unions, dicts and fields)."""
    import typing

    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation in seen:
            return
        seen.add(annotation)
        for field in annotation.model_fields.values():
            _models_of(field.annotation, seen)
    for arg in typing.get_args(annotation):
        _models_of(arg, seen)


def test_schema_names_are_unique_across_the_api(db: None) -> None:
    """The OpenAPI document keys components by class name: two classes of one name silently become one, and
    clients (and the fuzz test) then send and expect the wrong fields."""
    from collections import defaultdict

    from gridcare.api import api

    seen: set[type] = set()
    for _prefix, router in api._routers:
        for path_view in router.path_operations.values():
            for operation in path_view.operations:
                for model in operation.models:
                    _models_of(model, seen)
                for response_model in operation.response_models.values():
                    _models_of(response_model, seen)
    by_name: dict[str, set[str]] = defaultdict(set)
    for model in seen:
        by_name[model.__name__].add(f"{model.__module__}.{model.__qualname__}")
    assert len(seen) > 50
    assert {name: where for name, where in by_name.items() if len(where) > 1} == {}


def test_every_operation_documents_its_errors_with_the_error_schema(client: Client, db: None) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    error = spec["components"]["schemas"]["Error"]
    assert set(error["properties"]) == {"detail", "errors"}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            documented = operation["responses"]
            for status in ("400", "404"):
                ref = documented[status]["content"]["application/json"]["schema"]["$ref"]
                assert ref == "#/components/schemas/Error", (method, path, status)
            if operation.get("security"):
                assert {"401", "403"} <= set(documented), (method, path)
            if operation.get("requestBody"):
                assert {"413", "422"} <= set(documented), (method, path)
            if operation.get("parameters"):
                assert "422" in documented, (method, path)


def test_bounds_of_pages_and_instants_are_in_the_openapi(client: Client, db: None) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    params = {p["name"]: p["schema"] for p in spec["paths"]["/api/v1/workorders"]["get"]["parameters"]}
    assert params["offset"]["minimum"] == 0 and params["offset"]["maximum"] == 10**9
    from django.conf import settings

    assert params["limit"]["minimum"] == 1 and params["limit"]["maximum"] == settings.GRIDCARE_API_PAGE_MAX
