from django.contrib import admin

from gridcare.repair.models import Vehicle


@admin.register(Vehicle)
class VehicleAdmin(admin.ModelAdmin):
    list_display = ("plate", "crew", "device", "crew_type", "status")
    list_filter = ("crew_type", "status", "crew")
    search_fields = ("plate", "device__unique_id")
    # Devices are registered in the GPS app's admin; a fleet has too many to list in a select.
    autocomplete_fields = ("device",)
    list_select_related = ("crew", "device")


from gridcare.core.admin_mixins import ReferenceDataAdmin  # noqa: E402
from gridcare.repair.models import (  # noqa: E402
    AreaTarget,
    ProbableOutage,
    RepairTicket,
    SegmentTarget,
    VehicleAssignment,
)


@admin.register(SegmentTarget)
class SegmentTargetAdmin(ReferenceDataAdmin):
    list_display = ("code", "name", "minutes", "minutes_other_site", "party")


@admin.register(AreaTarget)
class AreaTargetAdmin(ReferenceDataAdmin):
    list_display = ("area_class", "arrive_minutes", "restore_minutes", "accept_minutes", "escalate_every_minutes")


@admin.register(ProbableOutage)
class ProbableOutageAdmin(admin.ModelAdmin):
    list_display = ("pk", "level", "state", "transformer_area", "feeder", "call_count", "first_call_at", "etr")
    list_filter = ("level", "state")
    readonly_fields = [f.name for f in ProbableOutage._meta.fields]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False


@admin.register(RepairTicket)
class RepairTicketAdmin(admin.ModelAdmin):
    list_display = ("workorder", "state", "a_at", "h_at", "repair_center", "crew", "vehicle")
    list_filter = ("state", "area_class")
    readonly_fields = [f.name for f in RepairTicket._meta.fields]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False


@admin.register(VehicleAssignment)
class VehicleAssignmentAdmin(admin.ModelAdmin):
    list_display = ("vehicle", "position", "ticket", "state", "sent_at", "accepted_at")
    list_filter = ("state",)
    readonly_fields = [f.name for f in VehicleAssignment._meta.fields]
