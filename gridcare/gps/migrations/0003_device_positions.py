"""Positions belong to devices (schema, step 1 of 3): the track gets a device column beside its vehicle column,
and the latest positions a new table keyed by device (renamed to LatestPosition in 0005).

The latest-position table is rebuilt rather than altered because its primary key is the vehicle column; the
vehicle column of the track becomes nullable so that migrating backwards can put it back before 0004 fills it.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("gps", "0002_device"),
        ("repair", "0005_vehicle_device"),
    ]

    operations = [
        migrations.AddField(
            model_name="trackpoint",
            name="device",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="gps.device",
                verbose_name="设备",
            ),
        ),
        migrations.AlterField(
            model_name="trackpoint",
            name="vehicle",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="repair.vehicle",
                verbose_name="车辆",
            ),
        ),
        migrations.CreateModel(
            name="DeviceLatestPosition",
            fields=[
                (
                    "device",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="latest_position",
                        serialize=False,
                        to="gps.device",
                        verbose_name="设备",
                    ),
                ),
                ("fixed_at", models.DateTimeField(verbose_name="定位时间")),
                ("received_at", models.DateTimeField(verbose_name="接收时间")),
                ("lat", models.FloatField(verbose_name="纬度")),
                ("lon", models.FloatField(verbose_name="经度")),
                ("speed_kmh", models.FloatField(blank=True, null=True, verbose_name="速度（km/h）")),
                ("course", models.FloatField(blank=True, null=True, verbose_name="方向（度）")),
                ("accuracy", models.FloatField(blank=True, null=True, verbose_name="精度（米）")),
                ("battery", models.FloatField(blank=True, null=True, verbose_name="电量（%）")),
                ("jump_streak", models.PositiveIntegerField(default=0, verbose_name="连续漂移次数")),
            ],
            options={
                "verbose_name": "最新位置",
                "verbose_name_plural": "最新位置",
                "ordering": ["device_id"],
            },
        ),
    ]
