"""Admin for the GPS app: read-only views of latest positions and the track (devices write them, not people)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from gridcare.gps.models import LatestPosition, TrackPoint


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(LatestPosition)
class LatestPositionAdmin(_ReadOnly):
    list_display = ["vehicle", "fixed_at", "lat", "lon", "speed_kmh", "battery", "received_at", "jump_streak"]
    search_fields = ["vehicle__plate", "vehicle__gps_device_id"]
    raw_id_fields = ["vehicle"]


@admin.register(TrackPoint)
class TrackPointAdmin(_ReadOnly):
    list_display = ["vehicle", "fixed_at", "lat", "lon", "speed_kmh", "flag", "source", "received_at"]
    list_filter = ["flag", "source"]
    search_fields = ["vehicle__plate", "vehicle__gps_device_id"]
    raw_id_fields = ["vehicle"]
    date_hierarchy = "fixed_at"
