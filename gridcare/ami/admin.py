"""Admin for the AMI app: meter events are read-only (the head-end writes them, not people)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from gridcare.ami.models import MeterEvent


@admin.register(MeterEvent)
class MeterEventAdmin(admin.ModelAdmin):
    list_display = ["at", "meter_no", "kind", "service_point", "channel", "received_at", "processed_at", "failures"]
    list_filter = ["kind", "channel", ("processed_at", admin.EmptyFieldListFilter)]
    search_fields = ["meter_no", "event_id"]
    raw_id_fields = ["service_point"]
    date_hierarchy = "at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
