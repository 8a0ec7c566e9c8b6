"""Admin for the dsm app: read-mostly views of import batches, limits, events, plans and DR events."""

from django.contrib import admin

from gridcare.dsm import models


@admin.register(models.IntervalBatch)
class IntervalBatchAdmin(admin.ModelAdmin):
    list_display = ["kind", "source", "rows", "series", "first_day", "last_day", "warnings", "filled", "imported_at"]
    list_filter = ["kind"]


@admin.register(models.LoadLimit)
class LoadLimitAdmin(admin.ModelAdmin):
    list_display = ["customer", "kind", "limit_kw", "valid_from", "valid_to", "checked_through"]
    raw_id_fields = ["customer", "plan"]


@admin.register(models.LoadControlEvent)
class LoadControlEventAdmin(admin.ModelAdmin):
    list_display = ["customer", "day", "peak_kw", "limit_kw", "intervals_over", "status"]
    list_filter = ["status"]
    raw_id_fields = ["customer", "limit", "account_manager"]


@admin.register(models.OrderlyUsePlan)
class OrderlyUsePlanAdmin(admin.ModelAdmin):
    list_display = ["name", "target_kw", "planned_kw", "shortfall_kw", "window_start", "window_end", "status"]


@admin.register(models.DemandResponseEvent)
class DemandResponseEventAdmin(admin.ModelAdmin):
    list_display = ["event_id", "status", "start", "end", "signal_name"]
    list_filter = ["status"]
