"""Vehicle positions: the track history (every stored fix) and the latest accepted fix of each vehicle."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from gridcare.repair.models import Vehicle


class FixFlag(models.TextChoices):
    OK = "ok", _("正常")
    JUMP = "jump", _("漂移（超速跳点）")
    INVALID = "invalid", _("设备标记无效")


class TrackPoint(models.Model):
    """One fix as the device reported it. Speeds in km/h; flagged fixes are kept as evidence but never
    become the vehicle's latest position."""

    vehicle = models.ForeignKey(Vehicle, verbose_name=_("车辆"), on_delete=models.CASCADE, related_name="+")
    fixed_at = models.DateTimeField(_("定位时间"))
    received_at = models.DateTimeField(_("接收时间"))
    lat = models.FloatField(_("纬度"))
    lon = models.FloatField(_("经度"))
    speed_kmh = models.FloatField(_("速度（km/h）"), null=True, blank=True)
    course = models.FloatField(_("方向（度）"), null=True, blank=True)
    altitude = models.FloatField(_("海拔（米）"), null=True, blank=True)
    accuracy = models.FloatField(_("精度（米）"), null=True, blank=True)
    hdop = models.FloatField(_("水平精度因子"), null=True, blank=True)
    battery = models.FloatField(_("电量（%）"), null=True, blank=True)
    flag = models.CharField(_("标记"), max_length=8, choices=FixFlag.choices, default=FixFlag.OK)
    source = models.CharField(_("来源格式"), max_length=8)
    attributes = models.JSONField(_("其他属性"), default=dict, blank=True)

    class Meta:
        verbose_name = _("轨迹点")
        verbose_name_plural = _("轨迹点")
        indexes = [
            models.Index(fields=["vehicle", "fixed_at"], name="gps_track_vehicle_time"),
            # Retention pruning deletes by time across all vehicles.
            models.Index(fields=["fixed_at"], name="gps_track_time"),
        ]

    def __str__(self) -> str:
        return f"{self.vehicle_id}@{self.fixed_at:%Y-%m-%d %H:%M:%S}"


class LatestPosition(models.Model):
    """The newest accepted fix of a vehicle: one row per vehicle, upserted by the ingest."""

    vehicle = models.OneToOneField(
        Vehicle, verbose_name=_("车辆"), on_delete=models.CASCADE, primary_key=True, related_name="latest_position"
    )
    fixed_at = models.DateTimeField(_("定位时间"))
    received_at = models.DateTimeField(_("接收时间"))
    lat = models.FloatField(_("纬度"))
    lon = models.FloatField(_("经度"))
    speed_kmh = models.FloatField(_("速度（km/h）"), null=True, blank=True)
    course = models.FloatField(_("方向（度）"), null=True, blank=True)
    accuracy = models.FloatField(_("精度（米）"), null=True, blank=True)
    battery = models.FloatField(_("电量（%）"), null=True, blank=True)
    # Consecutive fixes refused by the speed filter; after GRIDCARE_GPS_JUMP_RESET_COUNT of them the stored
    # position is the one that was wrong, and the newest fix replaces it.
    jump_streak = models.PositiveIntegerField(_("连续漂移次数"), default=0)

    class Meta:
        verbose_name = _("最新位置")
        verbose_name_plural = _("最新位置")
        ordering = ["vehicle_id"]

    def __str__(self) -> str:
        return f"{self.vehicle_id}: {self.lat:.5f},{self.lon:.5f}"
