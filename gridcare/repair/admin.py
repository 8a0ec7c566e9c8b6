from django.contrib import admin

from gridcare.repair.models import Vehicle


@admin.register(Vehicle)
class VehicleAdmin(admin.ModelAdmin):
    list_display = ("plate", "crew", "gps_device_id", "crew_type", "status")
    list_filter = ("crew_type", "status", "crew")
    search_fields = ("plate", "gps_device_id")
