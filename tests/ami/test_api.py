"""`POST /api/v1/ami/events` through Django's test client: who may post, what each answer says, nothing half
written. (Over real HTTP, with the simulator as the client: test_http_live.py.)"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from typing import Any

import pytest
import time_machine
from django.test import Client, override_settings

from gridcare.ami import config as ami_config
from gridcare.ami.config import IngestConfig
from gridcare.ami.models import MeterEvent
from gridcare.org.services import token_create
from tests.ami.conftest import TOKEN, Recorder, event
from tests.conftest import City

URL = "/api/v1/ami/events"
NOW = dt.datetime(2026, 6, 1, 0, 5, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def post(body: Any, *, token: str | None = TOKEN, raw: bytes | None = None, **headers: str):
    if token is not None:
        headers["X-GridCare-Token"] = token
    data = raw if raw is not None else json.dumps(body, ensure_ascii=False)
    return Client().post(URL, data, content_type="application/json", headers=headers)


def test_the_head_end_posts_a_batch_and_is_told_what_became_of_each_event(
    meters, ami_cfg, recorder: Recorder, django_capture_on_commit_callbacks
) -> None:
    n0 = meters[next(iter(meters))]
    body = {
        "events": [
            event("E1", n0[0], at="2026-06-01T08:00:00+08:00"),
            event("E2", n0[1], kind="停电事件", at=1780272001000),
            event("E3", "GHOST-9"),
            event("E4", n0[2], at="2026-06-01T09:00:00+08:00"),  # an hour ahead of the clock
        ]
    }
    with django_capture_on_commit_callbacks(execute=True):
        r = post(body)
    assert r.status_code == 200, r.content
    out = r.json()
    assert (out["received"], out["stored"], out["duplicates"], out["unknown_meters"], out["invalid"]) == (4, 2, 0, 1, 1)
    assert [(e["index"], e["event_id"], e["field"]) for e in out["errors"]] == [(2, "E3", "meter_no"), (3, "E4", "at")]
    assert "未登记" in out["errors"][0]["reason"] and "超前" in out["errors"][1]["reason"]
    assert set(MeterEvent.objects.values_list("event_id", "channel")) == {("E1", "http"), ("E2", "http")}
    assert recorder.delivered == ["E1", "E2"]

    again = post(body).json()
    assert (again["stored"], again["duplicates"]) == (0, 2) and MeterEvent.objects.count() == 2


def test_a_single_event_is_answered_like_a_batch_of_one(meters, ami_cfg) -> None:
    r = post(event("E1", meters[next(iter(meters))][0], kind="restored", at=1780272000))
    assert r.status_code == 200 and r.json()["stored"] == 1
    assert MeterEvent.objects.get().kind == "restored"


@pytest.mark.parametrize(
    ("raw", "status", "field"),
    [
        (b"{not json", 400, None),
        (b'{"events": []}', 400, None),
        (b'{"event_id": "E1", "meter_no": "M1", "kind": "nope", "at": 1780272000}', 400, "kind"),
        (b'[{"event_id": "E1"}, {"kind": "last_gasp"}]', 400, "events[1].event_id"),
        (b'{"event_id": "E1", "meter_no": "M1", "kind": "last_gasp", "at": Infinity}', 400, None),
    ],
)
def test_a_body_with_nothing_readable_is_a_400_with_a_chinese_reason(
    meters, ami_cfg, raw: bytes, status: int, field: str | None
) -> None:
    r = post(None, raw=raw)
    assert r.status_code == status
    detail = r.json()
    assert detail["detail"] and any("\u4e00" <= ch <= "\u9fff" for ch in detail["detail"])
    if field is not None:
        assert field in detail["errors"]
    assert not MeterEvent.objects.exists()


def test_too_many_events_in_one_request_is_413(meters, ami_cfg: IngestConfig) -> None:
    meter = meters[next(iter(meters))][0]
    with ami_config.override(replace(ami_cfg, max_events=3)):
        r = post([event(f"E{i}", meter) for i in range(4)])
    assert r.status_code == 413 and "分批" in r.json()["detail"]
    assert not MeterEvent.objects.exists()


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=2048)
def test_a_body_over_the_upload_limit_is_413_not_a_500(meters, ami_cfg) -> None:
    meter = meters[next(iter(meters))][0]
    r = post([event(f"E{i}", meter) for i in range(50)])
    assert r.status_code == 413 and not MeterEvent.objects.exists()


def test_without_any_credential_nothing_is_accepted(meters, ami_cfg) -> None:
    r = post(event("E1", meters[next(iter(meters))][0]), token=None)
    assert r.status_code == 401 and not MeterEvent.objects.exists()


def test_a_wrong_head_end_token_is_403_whatever_the_meter(meters, ami_cfg) -> None:
    known = post(event("E1", meters[next(iter(meters))][0]), token="wrong-token")
    unknown = post(event("E1", "GHOST"), token="wrong-token")
    assert known.status_code == unknown.status_code == 403
    assert known.json() == unknown.json() and "令牌无效" in known.json()["detail"]
    assert post(event("E1", "GHOST"), token=TOKEN[:-1]).status_code == 403
    assert not MeterEvent.objects.exists()


def test_with_no_token_configured_the_head_end_is_told_the_ingest_is_closed(meters) -> None:
    with ami_config.override(ami_config.load_config({})):
        r = post(event("E1", meters[next(iter(meters))][0]), token="anything")
    assert r.status_code == 403 and "GRIDCARE_AMI_TOKEN" in r.json()["detail"]
    assert not MeterEvent.objects.exists()


def test_the_token_is_also_read_from_the_query_string(meters, ami_cfg) -> None:
    r = Client().post(
        f"{URL}?token={TOKEN}", json.dumps(event("E1", meters[next(iter(meters))][0])), content_type="application/json"
    )
    assert r.status_code == 200 and r.json()["stored"] == 1


def test_an_administrator_may_post_with_an_api_token_and_other_roles_may_not(city: City, meters, ami_cfg) -> None:
    meter = meters[next(iter(meters))][0]
    _, admin_token = token_create(user=city.admin, name="t", actor=None)
    _, dispatcher_token = token_create(user=city.dispatcher_north, name="t", actor=None)
    bearer = {"Authorization": f"Bearer {dispatcher_token}"}
    r = post(event("E1", meter), token=None, **bearer)
    assert r.status_code == 403 and not MeterEvent.objects.exists()
    r = post(event("E1", meter), token=None, Authorization=f"Bearer {admin_token}")
    assert r.status_code == 200
    stored = MeterEvent.objects.get()
    from gridcare.core.models import Event

    assert Event.objects.get(action="ami.events_received").actor == city.admin and stored.channel == "http"


def test_the_endpoint_and_its_body_are_in_the_openapi_document(client: Client) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    operation = spec["paths"][URL]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert len(body["oneOf"]) == 3
    assert "X-GridCare-Token" in json.dumps(spec["components"]["securitySchemes"])
