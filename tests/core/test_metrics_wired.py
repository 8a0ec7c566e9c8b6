"""The intake counter moves where an order is taken in, once it is committed, and not for a refused request."""

from __future__ import annotations

from django.test import Client

from gridcare.core import metrics
from tests.conftest import City
from tests.workorders.test_api import api, post


def value(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


def test_an_order_taken_through_the_api_is_counted_once_by_channel(
    city: City, client: Client, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    before = value("gridcare_workorder_intake_total", channel="phone")
    c, h = api(client, city.agent)
    body = {"category": "consult", "caller_name": "李", "caller_phone": "13900000000", "description": "咨询电价"}
    with django_capture_on_commit_callbacks(execute=True):  # the test's transaction stands for the commit
        assert post(c, h, "/api/v1/workorders", body).status_code == 201
    assert value("gridcare_workorder_intake_total", channel="phone") == before + 1
    with django_capture_on_commit_callbacks(execute=True):
        refused = post(c, h, "/api/v1/workorders", {**body, "channel": "nonsense"})
    assert refused.status_code == 400  # nothing taken in, nothing counted
    assert value("gridcare_workorder_intake_total", channel="phone") == before + 1
