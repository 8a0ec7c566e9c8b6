"""Positions belong to devices (data, step 2 of 3): every track point and latest position is re-pointed from
its vehicle to the vehicle's device (created by repair 0006).

The track is updated in one statement (it can hold tens of millions of rows); backwards, a point whose device
is on no vehicle cannot be expressed in the old schema and is dropped, as is its latest position.
"""

from typing import Any

from django.db import migrations
from django.db.models import OuterRef, Subquery

LATEST_FIELDS = ["fixed_at", "received_at", "lat", "lon", "speed_kmh", "course", "accuracy", "battery", "jump_streak"]
BATCH = 1000


def to_devices(apps: Any, schema_editor: Any) -> None:
    db = schema_editor.connection.alias
    vehicle_model = apps.get_model("repair", "Vehicle")
    track_model = apps.get_model("gps", "TrackPoint")
    old_latest = apps.get_model("gps", "LatestPosition")
    new_latest = apps.get_model("gps", "DeviceLatestPosition")
    device_of = vehicle_model.objects.using(db).filter(pk=OuterRef("vehicle_id")).values("device_id")[:1]
    track_model.objects.using(db).update(device_id=Subquery(device_of))
    # A vehicle without a device (no GPS id before the move) has no place for its fixes any more.
    track_model.objects.using(db).filter(device_id__isnull=True).delete()
    devices = dict(vehicle_model.objects.using(db).exclude(device=None).values_list("pk", "device_id"))
    new_latest.objects.using(db).all().delete()  # left by an earlier round trip: the old table is the truth here
    new_latest.objects.using(db).bulk_create(
        [
            new_latest(device_id=devices[row.vehicle_id], **{f: getattr(row, f) for f in LATEST_FIELDS})
            for row in old_latest.objects.using(db).all()
            if row.vehicle_id in devices
        ],
        batch_size=BATCH,
    )


def to_vehicles(apps: Any, schema_editor: Any) -> None:
    db = schema_editor.connection.alias
    vehicle_model = apps.get_model("repair", "Vehicle")
    track_model = apps.get_model("gps", "TrackPoint")
    old_latest = apps.get_model("gps", "LatestPosition")
    new_latest = apps.get_model("gps", "DeviceLatestPosition")
    vehicle_of = vehicle_model.objects.using(db).filter(device_id=OuterRef("device_id")).values("pk")[:1]
    track_model.objects.using(db).update(vehicle_id=Subquery(vehicle_of))
    track_model.objects.using(db).filter(vehicle_id__isnull=True).delete()
    vehicles = dict(vehicle_model.objects.using(db).exclude(device=None).values_list("device_id", "pk"))
    old_latest.objects.using(db).all().delete()
    old_latest.objects.using(db).bulk_create(
        [
            old_latest(vehicle_id=vehicles[row.device_id], **{f: getattr(row, f) for f in LATEST_FIELDS})
            for row in new_latest.objects.using(db).all()
            if row.device_id in vehicles
        ],
        batch_size=BATCH,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("gps", "0003_device_positions"),
        ("repair", "0006_devices_from_vehicles"),
    ]

    operations = [
        migrations.RunPython(to_devices, to_vehicles),
    ]
