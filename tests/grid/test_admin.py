"""The network below the feeder in the Django admin: devices filtered by feeder and kind, found by code, their
names and positions corrected through the service (audited); switching operations only read."""

from __future__ import annotations

from django.test import Client

from gridcare.core.models import Event
from gridcare.grid.models import GridDevice, SwitchingOperation
from gridcare.grid.services import device_switch
from tests.conftest import City
from tests.grid.helpers import two_feeders


def test_devices_are_listed_filtered_searched_and_described_through_the_service(city: City, client: Client) -> None:
    net = two_feeders(city)
    client.force_login(city.admin)
    listing = client.get("/admin/grid/griddevice/", {"feeder__id__exact": net.b.pk, "kind": "breaker"})
    assert listing.status_code == 200
    text = listing.content.decode()
    assert "B-CB" in text and "B-S1" not in text and "A-CB" not in text
    assert "线路设备" in text and "所属线路" in text  # Chinese labels
    assert "A-FU1" in client.get("/admin/grid/griddevice/", {"q": "A-FU"}).content.decode()
    assert client.get("/admin/grid/griddevice/add/").status_code == 403

    fuse = net.device("A-FU1")
    url = f"/admin/grid/griddevice/{fuse.pk}/change/"
    form = client.get(url).content.decode()
    assert 'name="name"' in form and 'name="upstream"' not in form and 'name="is_open"' not in form
    done = client.post(url, {"name": "解放支线熔断器", "lat": "30.25", "lon": "120.12"})
    assert done.status_code == 302
    fuse.refresh_from_db()
    assert (fuse.name, fuse.lat, fuse.upstream.code) == ("解放支线熔断器", 30.25, "A-S1")
    event = Event.objects.get(action="griddevice.describe")
    assert event.old == {"name": "A线解放支线熔断器", "lat": None, "lon": None} and event.actor == city.admin


def test_switching_operations_are_read_only(city: City, client: Client) -> None:
    net = two_feeders(city)
    device_switch(device=net.device("A-S1"), opened=True, actor=city.dispatcher_north, note="检修")
    op = SwitchingOperation.objects.get()
    client.force_login(city.admin)
    listing = client.get("/admin/grid/switchingoperation/", {"q": "A-S1"}).content.decode()
    assert "倒闸操作" in listing and "检修" in listing
    assert client.get("/admin/grid/switchingoperation/add/").status_code == 403
    view = client.get(f"/admin/grid/switchingoperation/{op.pk}/change/")
    assert view.status_code == 200 and 'name="note"' not in view.content.decode()
    assert client.post(f"/admin/grid/switchingoperation/{op.pk}/change/", {"note": "改"}).status_code == 403
    assert client.post(f"/admin/grid/switchingoperation/{op.pk}/delete/", {"post": "yes"}).status_code == 403
    assert SwitchingOperation.objects.get().note == "检修"
    assert GridDevice.objects.get(code="A-S1").is_open
