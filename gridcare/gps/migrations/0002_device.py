"""GPS devices as their own records (as in Traccar): until now a device was a column of the repair vehicle."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("gps", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="Device",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("unique_id", models.CharField(max_length=64, unique=True, verbose_name="设备号")),
                ("name", models.CharField(blank=True, max_length=64, verbose_name="名称")),
                ("disabled", models.BooleanField(default=False, verbose_name="停用")),
            ],
            options={
                "verbose_name": "GPS 设备",
                "verbose_name_plural": "GPS 设备",
                "ordering": ["unique_id"],
            },
        ),
    ]
