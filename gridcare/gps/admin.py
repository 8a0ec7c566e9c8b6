"""Admin for the GPS app: devices are registered here; latest positions and the track are read-only (devices
write them, not people)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from gridcare.gps.models import Device, LatestPosition, TrackPoint


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = ["unique_id", "name", "disabled"]
    list_filter = ["disabled"]
    # The repair app's vehicle form picks a device with autocomplete, which needs these.
    search_fields = ["unique_id", "name"]


@admin.register(LatestPosition)
class LatestPositionAdmin(_ReadOnly):
    list_display = ["device", "fixed_at", "lat", "lon", "speed_kmh", "battery", "received_at", "jump_streak"]
    search_fields = ["device__unique_id", "device__name"]
    raw_id_fields = ["device"]


@admin.register(TrackPoint)
class TrackPointAdmin(_ReadOnly):
    list_display = ["device", "fixed_at", "lat", "lon", "speed_kmh", "flag", "source", "received_at"]
    list_filter = ["flag", "source"]
    search_fields = ["device__unique_id", "device__name"]
    raw_id_fields = ["device"]
    date_hierarchy = "fixed_at"
