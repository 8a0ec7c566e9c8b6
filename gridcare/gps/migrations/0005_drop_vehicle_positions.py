"""Positions belong to devices (schema, step 3 of 3): the vehicle columns go, the device ones take their place."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("gps", "0004_positions_to_devices"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="trackpoint",
            name="gps_track_vehicle_time",
        ),
        migrations.RemoveField(
            model_name="trackpoint",
            name="vehicle",
        ),
        migrations.AlterField(
            model_name="trackpoint",
            name="device",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="gps.device",
                verbose_name="设备",
            ),
        ),
        migrations.AddIndex(
            model_name="trackpoint",
            index=models.Index(fields=["device", "fixed_at"], name="gps_track_device_time"),
        ),
        migrations.DeleteModel(
            name="LatestPosition",
        ),
        migrations.RenameModel(
            old_name="DeviceLatestPosition",
            new_name="LatestPosition",
        ),
    ]
