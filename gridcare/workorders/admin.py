from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from gridcare.core.admin_mixins import ReferenceDataAdmin
from gridcare.workorders.models import (
    Category,
    Deadline,
    ReturnVisit,
    RoutingRule,
    SlaPolicy,
    SlaTarget,
    VisitAttempt,
    WorkOrder,
)


class SlaTargetInline(admin.TabularInline):
    model = SlaTarget
    extra = 0


@admin.register(SlaPolicy)
class SlaPolicyAdmin(ReferenceDataAdmin):
    list_display = ("code", "name", "warn_lead_minutes", "warn_share", "escalate_every_minutes")
    inlines = [SlaTargetInline]


@admin.register(Category)
class CategoryAdmin(ReferenceDataAdmin):
    list_display = (
        "code",
        "name",
        "kind",
        "parent",
        "default_unit_kind",
        "priority",
        "sla_policy",
        "return_visit_required",
        "answerable_at_intake",
        "is_active",
    )
    list_filter = ("kind", "default_unit_kind", "return_visit_required", "is_active")
    search_fields = ("code", "name")


@admin.register(RoutingRule)
class RoutingRuleAdmin(ReferenceDataAdmin):
    list_display = ("rank", "category", "area_class", "district", "unit")
    list_filter = ("area_class",)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Orders change only through their services (state machine, deadlines, events): view here, act in the app."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WorkOrder)
class WorkOrderAdmin(ReadOnlyAdmin):
    list_display = ("number", "accepted_at", "category", "status", "unit", "call_count", "is_overdue")
    list_filter = ("status", "channel", "is_overdue", "is_supervised")
    search_fields = ("=number", "=customer__account_no", "caller_phone")
    raw_id_fields = ("customer",)
    show_full_result_count = False


@admin.register(Deadline)
class DeadlineAdmin(ReadOnlyAdmin):
    list_display = ("order", "milestone", "due_at", "state", "escalation_level", "next_check_at")
    list_filter = ("milestone", "state")


class VisitAttemptInline(admin.TabularInline):
    model = VisitAttempt
    extra = 0


@admin.register(ReturnVisit)
class ReturnVisitAdmin(ReadOnlyAdmin):
    list_display = ("order", "created_at", "closed_at", "outcome")
    inlines = [VisitAttemptInline]
