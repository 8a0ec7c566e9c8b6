"""/metrics: closed without a token, parsed by Prometheus's own parser, figures that move; request ids in logs."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from gridcare.core import metrics
from gridcare.core.observability import JsonFormatter, RequestIdFilter
from gridcare.core.worker import run_pass
from gridcare.workorders.models import WorkOrder
from tests.conftest import City, login
from tests.workorders.helpers import bj, complaint

pytestmark = pytest.mark.django_db

TOKEN = "metrics-test-token-0123456789"


@pytest.fixture
def token(settings: pytest.FixtureRequest) -> str:
    settings.GRIDCARE_METRICS_TOKEN = TOKEN  # type: ignore[attr-defined]
    return TOKEN


def scrape(client: Client) -> dict[str, list[Sample]]:
    r = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200 and r["Content-Type"].startswith("text/plain")
    return {family.name: family.samples for family in text_string_to_metric_families(r.content.decode())}


def value(families: dict[str, list[Sample]], sample_name: str, **labels: str) -> float:
    family = families[sample_name.removesuffix("_total").removesuffix("_count").removesuffix("_sum")]
    found = [s.value for s in family if s.name == sample_name and all(s.labels.get(k) == v for k, v in labels.items())]
    return found[0] if found else 0.0


def test_metrics_are_closed_without_a_configured_token_and_refuse_a_wrong_one(client: Client, settings: object) -> None:
    settings.GRIDCARE_METRICS_TOKEN = ""  # type: ignore[attr-defined]
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 404
    settings.GRIDCARE_METRICS_TOKEN = TOKEN  # type: ignore[attr-defined]
    missing = client.get("/metrics")
    assert missing.status_code == 401 and missing["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", headers={"Authorization": "Bearer not-the-token"}).status_code == 403
    assert client.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"}).status_code == 401
    assert b"gridcare_http_requests" not in client.get("/metrics", headers={"Authorization": "Bearer x"}).content


def test_scrape_has_every_family_and_counts_requests_by_route_pattern(city: City, client: Client, token: str) -> None:
    order = complaint(city, bj(2026, 11, 2, 9))
    login(client, city.agent)
    before = scrape(client)
    client.get("/healthz")
    client.get("/healthz")
    assert client.get(f"/workorders/{order.number}/").status_code == 200
    after = scrape(client)

    for family in (
        "gridcare_http_requests",
        "gridcare_http_request_duration_seconds",
        "gridcare_worker_job_duration_seconds",
        "gridcare_worker_queue_lag_seconds",
        "gridcare_deadline_checks",
        "gridcare_notice_queue_depth",
        "gridcare_background_tasks",
        "gridcare_workorder_intake",
        "gridcare_gps_positions",
        "gridcare_meter_events",
        "gridcare_notice_deliveries",
    ):
        assert family in after, family
    health = {"method": "GET", "route": "/healthz", "status": "200"}
    assert (
        value(after, "gridcare_http_requests_total", **health) - value(before, "gridcare_http_requests_total", **health)
        == 2
    )
    # The order's page counts under its URL pattern: no label value carries an order number.
    detail = value(
        after, "gridcare_http_request_duration_seconds_count", method="GET", route="/workorders/<str:number>/"
    )
    assert detail >= 1
    assert not [s for samples in after.values() for s in samples if order.number in str(s.labels)]
    # The complaint's contact-deadline warning is long due (the test runs after November 2026): the lag says so.
    assert value(after, "gridcare_deadline_checks", kind="due") >= 1
    assert value(after, "gridcare_deadline_checks", kind="lag") > 0


def test_worker_jobs_and_the_app_counters_move_the_figures(city: City, client: Client, token: str) -> None:
    complaint(city, bj(2026, 11, 2, 9))
    before = scrape(client)
    run_pass(bj(2026, 11, 3, 9, 30), only={"workorders.deadlines"})
    metrics.intake_recorded("phone")
    metrics.gps_positions(3, accepted=True)
    metrics.gps_positions(1, accepted=False)
    metrics.notice_outcome("sms", "sent", 5)
    metrics.meter_events_received(2, accepted=True, kind="outage")
    after = scrape(client)

    def moved(sample: str, **labels: str) -> float:
        return value(after, sample, **labels) - value(before, sample, **labels)

    job = {"job": "workorders.deadlines", "queue": "deadlines"}
    assert moved("gridcare_worker_job_duration_seconds_count", **job) >= 2  # a batch that acted, one that found none
    assert moved("gridcare_worker_job_rows_total", **job) >= 1
    assert moved("gridcare_workorder_intake_total", channel="phone") == 1
    assert moved("gridcare_gps_positions_total", protocol="osmand", outcome="accepted") == 3
    assert moved("gridcare_gps_positions_total", protocol="osmand", outcome="refused") == 1
    assert moved("gridcare_notice_deliveries_total", channel="sms", outcome="sent") == 5
    assert moved("gridcare_meter_events_total", kind="outage", outcome="accepted") == 2
    assert WorkOrder.objects.count() == 1


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    yield stream
    logger.removeHandler(handler)


def test_request_id_is_kept_when_well_formed_returned_and_on_every_log_line(
    client: Client, json_log: io.StringIO
) -> None:
    r = client.get("/no-such-page/", headers={"X-Request-ID": "ivr-call-20261102-0001"})
    assert r.status_code == 404 and r["X-Request-ID"] == "ivr-call-20261102-0001"
    line = json.loads(json_log.getvalue().splitlines()[-1])
    assert line["request_id"] == "ivr-call-20261102-0001" and line["level"] == "WARNING"
    assert line["logger"] == "django.request" and "/no-such-page/" in line["message"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"])


def test_a_malformed_request_id_is_replaced_by_a_fresh_one(client: Client) -> None:
    for bad in ("short", "with space in it", "x" * 65, "semi;colon;id"):
        rid = client.get("/healthz", headers={"X-Request-ID": bad})["X-Request-ID"]
        assert rid != bad and re.fullmatch(r"[0-9a-f]{32}", rid)
    first, second = (client.get("/healthz")["X-Request-ID"] for _ in range(2))
    assert first != second


def test_log_lines_after_the_request_carry_no_request_id(client: Client) -> None:
    client.get("/healthz", headers={"X-Request-ID": "ivr-call-20261102-0002"})
    record = logging.LogRecord("gridcare.worker", logging.INFO, __file__, 1, "after", None, None)
    RequestIdFilter().filter(record)
    assert record.request_id == "-"  # type: ignore[attr-defined]


def test_the_grafana_dashboard_queries_only_families_we_expose(client: Client, token: str) -> None:
    from pathlib import Path

    dashboard = json.loads((Path(__file__).parents[2] / "docs" / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    used = {re.sub(r"_(total|bucket|count|sum)$", "", name) for e in exprs for name in re.findall(r"gridcare_\w+", e)}
    exposed = set(scrape(client))
    assert used and used <= exposed, used - exposed
