"""GPS devices and their positions: the track history (every stored fix) and the latest accepted fix of each
device.

A device is what sends fixes (a phone app, a vehicle tracker), known by the identifier it sends, as in
Traccar. What carries it (a repair vehicle today) points at the device from its own app, so the ingest never
needs to know about vehicles.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class FixFlag(models.TextChoices):
    OK = "ok", _("正常")
    JUMP = "jump", _("漂移（超速跳点）")
    INVALID = "invalid", _("设备标记无效")


class Device(models.Model):
    """A registered tracker. Fixes from an identifier with no device, or from a disabled one, are refused
    alike, so the ingest's answers never tell which identifiers exist."""

    unique_id = models.CharField(_("设备号"), max_length=64, unique=True)
    name = models.CharField(_("名称"), max_length=64, blank=True)
    # Switched off without deleting its track (a lost phone, a tracker sent for repair): its fixes are refused.
    disabled = models.BooleanField(_("停用"), default=False)

    class Meta:
        verbose_name = _("GPS 设备")
        verbose_name_plural = _("GPS 设备")
        ordering = ["unique_id"]

    def __str__(self) -> str:
        return f"{self.unique_id} ({self.name})" if self.name else self.unique_id


class TrackPoint(models.Model):
    """One fix as the device reported it. Speeds in km/h; flagged fixes are kept as evidence but never
    become the device's latest position."""

    device = models.ForeignKey(Device, verbose_name=_("设备"), on_delete=models.CASCADE, related_name="+")
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
            models.Index(fields=["device", "fixed_at"], name="gps_track_device_time"),
            # Retention pruning deletes by time across all devices.
            models.Index(fields=["fixed_at"], name="gps_track_time"),
        ]

    def __str__(self) -> str:
        return f"{self.device_id}@{self.fixed_at:%Y-%m-%d %H:%M:%S}"


class LatestPosition(models.Model):
    """The newest accepted fix of a device: one row per device, upserted by the ingest."""

    device = models.OneToOneField(
        Device, verbose_name=_("设备"), on_delete=models.CASCADE, primary_key=True, related_name="latest_position"
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
        ordering = ["device_id"]

    def __str__(self) -> str:
        return f"{self.device_id}: {self.lat:.5f},{self.lon:.5f}"
