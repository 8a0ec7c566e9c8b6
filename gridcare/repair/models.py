"""Repair resources: vehicles of the crews, each with a GPS device. The A–H flow builds on these."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from gridcare.org.models import OrgUnit


class CrewType(models.TextChoices):
    LOW_VOLTAGE = "lv", _("低压")
    MEDIUM_VOLTAGE = "mv", _("10kV")
    BOTH = "both", _("低压及10kV")


class VehicleStatus(models.TextChoices):
    IDLE = "idle", _("空闲")
    ASSIGNED = "assigned", _("已派单")
    EN_ROUTE = "en_route", _("在途")
    ON_SITE = "on_site", _("现场")
    OFF_DUTY = "off_duty", _("下班")


class Vehicle(models.Model):
    plate = models.CharField(_("车牌"), max_length=16, unique=True)
    crew = models.ForeignKey(OrgUnit, verbose_name=_("所属班组"), on_delete=models.PROTECT, related_name="vehicles")
    gps_device_id = models.CharField(_("GPS 设备号"), max_length=64, unique=True)
    crew_type = models.CharField(_("抢修类型"), max_length=8, choices=CrewType.choices, default=CrewType.BOTH)
    status = models.CharField(_("状态"), max_length=10, choices=VehicleStatus.choices, default=VehicleStatus.IDLE)
    # Where the vehicle is normally parked; the latest GPS fix replaces it once positions arrive.
    home_lat = models.FloatField(_("驻点纬度"))
    home_lon = models.FloatField(_("驻点经度"))

    class Meta:
        verbose_name = _("抢修车辆")
        verbose_name_plural = _("抢修车辆")
        ordering = ["plate"]

    def __str__(self) -> str:
        return self.plate
