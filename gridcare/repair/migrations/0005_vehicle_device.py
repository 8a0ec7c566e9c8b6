"""A vehicle points at its GPS device (gps.Device) instead of holding the device id itself.

The id column is made nullable here and dropped in 0007, so that migrating backwards can re-create it before
0006 fills it again. Data moves in a migration of its own: on PostgreSQL, rows updated in a transaction leave
deferred foreign-key checks pending, and an ALTER TABLE in the same transaction would be refused.
"""

from typing import Any

import django.db.models.deletion
from django.db import migrations, models


def placeholder_ids(apps: Any, schema_editor: Any) -> None:
    """Backwards only: the old column cannot be empty, so a vehicle without a tracker gets `vehicle-<pk>`."""
    vehicle_model = apps.get_model("repair", "Vehicle")
    for vehicle in vehicle_model.objects.using(schema_editor.connection.alias).filter(gps_device_id=None):
        vehicle.gps_device_id = f"vehicle-{vehicle.pk}"
        vehicle.save(update_fields=["gps_device_id"])


class Migration(migrations.Migration):
    dependencies = [
        ("gps", "0002_device"),
        ("repair", "0004_outage_cancelled"),
    ]

    operations = [
        migrations.AddField(
            model_name="vehicle",
            name="device",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="vehicle",
                to="gps.device",
                verbose_name="GPS 设备",
            ),
        ),
        migrations.AlterField(
            model_name="vehicle",
            name="gps_device_id",
            field=models.CharField(max_length=64, null=True, unique=True, verbose_name="GPS 设备号"),
        ),
        migrations.RunPython(migrations.RunPython.noop, placeholder_ids),
    ]
