from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from gridcare.core.models import Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    """Read-only: administrators may read history, nobody may edit or delete it."""

    list_display = ("at", "actor_name", "action", "subject_type", "subject_label")
    list_filter = ("action", "subject_type")
    search_fields = ("subject_id", "subject_label", "actor_name", "action")
    date_hierarchy = "at"
    readonly_fields = (
        "at",
        "actor",
        "actor_name",
        "action",
        "subject_type",
        "subject_id",
        "subject_label",
        "old",
        "new",
        "note",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)
