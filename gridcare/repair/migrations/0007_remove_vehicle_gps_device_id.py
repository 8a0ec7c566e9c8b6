"""The device id now lives on gps.Device (filled by 0006)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("repair", "0006_devices_from_vehicles"),
    ]

    operations = [
        migrations.RemoveField(
            model_name="vehicle",
            name="gps_device_id",
        ),
    ]
