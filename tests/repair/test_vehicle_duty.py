"""A dispatcher puts a vehicle off duty (下班): it is no longer offered or assignable, and back on duty again."""

from __future__ import annotations

from django.test import Client

from gridcare.core.models import Event
from gridcare.repair.models import Vehicle
from tests.conftest import City
from tests.repair.test_flow import vehicle
from tests.workorders.test_api import api, post


def test_off_duty_vehicle_is_not_assignable_until_back_on_duty(city: City, client: Client) -> None:
    v = vehicle(city)
    c, h = api(client, city.dispatcher_north)
    r = post(c, h, f"/api/v1/repair/vehicles/{v.plate}/duty", {"on_duty": False})
    assert r.status_code == 200 and r.json() == {"plate": v.plate, "on_duty": False, "status": "off_duty"}
    assert Vehicle.objects.get(pk=v.pk).off_duty
    assert Event.objects.filter(action="vehicle.duty", subject_id=str(v.pk)).count() == 1
    r = post(c, h, f"/api/v1/repair/vehicles/{v.plate}/duty", {"on_duty": True})
    assert r.json() == {"plate": v.plate, "on_duty": True, "status": "idle"}


def test_duty_needs_a_boolean_and_another_centre_cannot_touch_it(city: City, client: Client) -> None:
    v = vehicle(city)
    c, h = api(client, city.dispatcher_north)
    assert post(c, h, f"/api/v1/repair/vehicles/{v.plate}/duty", {"on_duty": "maybe"}).status_code == 422
    c2, h2 = api(client, city.dispatcher_south)
    r = post(c2, h2, f"/api/v1/repair/vehicles/{v.plate}/duty", {"on_duty": False})
    assert r.status_code == 404 and not Vehicle.objects.get(pk=v.pk).off_duty
