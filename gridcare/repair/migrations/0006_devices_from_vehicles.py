"""One gps.Device per vehicle's GPS device id (named after the plate), and the vehicle pointed at it.

Forwards reuses a device that already has the id (a database migrated back and forth keeps its devices), and
an empty id means the vehicle has no tracker. Backwards writes the device's id back into the vehicle (None
without a device; 0005 backwards then fills in a placeholder, which the old column needs).
"""

from typing import Any

from django.db import migrations

BATCH = 1000


def devices_from_vehicles(apps: Any, schema_editor: Any) -> None:
    db = schema_editor.connection.alias
    vehicle_model = apps.get_model("repair", "Vehicle")
    device_model = apps.get_model("gps", "Device")
    vehicles = [v for v in vehicle_model.objects.using(db).order_by("pk") if v.gps_device_id]
    known = dict(device_model.objects.using(db).values_list("unique_id", "pk"))
    device_model.objects.using(db).bulk_create(
        [device_model(unique_id=v.gps_device_id, name=v.plate) for v in vehicles if v.gps_device_id not in known],
        batch_size=BATCH,
    )
    known = dict(device_model.objects.using(db).values_list("unique_id", "pk"))
    for v in vehicles:
        v.device_id = known[v.gps_device_id]
    vehicle_model.objects.using(db).bulk_update(vehicles, ["device"], batch_size=BATCH)


def vehicles_from_devices(apps: Any, schema_editor: Any) -> None:
    db = schema_editor.connection.alias
    vehicle_model = apps.get_model("repair", "Vehicle")
    vehicles = list(vehicle_model.objects.using(db).select_related("device").order_by("pk"))
    for v in vehicles:
        v.gps_device_id = v.device.unique_id if v.device is not None else None
    vehicle_model.objects.using(db).bulk_update(vehicles, ["gps_device_id"], batch_size=BATCH)


class Migration(migrations.Migration):
    dependencies = [
        ("repair", "0005_vehicle_device"),
    ]

    operations = [
        migrations.RunPython(devices_from_vehicles, vehicles_from_devices),
    ]
