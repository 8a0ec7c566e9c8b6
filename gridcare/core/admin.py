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


from gridcare.core.audit import record_event  # noqa: E402
from gridcare.core.calendar import invalidate_calendar  # noqa: E402
from gridcare.core.models import CalendarDay, CalendarYear  # noqa: E402


class CalendarAdminMixin(admin.ModelAdmin):
    """Calendar edits change deadlines: audit them and make every process reload the calendar."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        record_event(
            actor=request.user, action=f"calendar.{'change' if change else 'add'}", subject=obj, new={"value": str(obj)}
        )
        invalidate_calendar()

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        record_event(actor=request.user, action="calendar.delete", subject=obj, old={"value": str(obj)})
        super().delete_model(request, obj)
        invalidate_calendar()


@admin.register(CalendarYear)
class CalendarYearAdmin(CalendarAdminMixin):
    list_display = ("year", "source")
    actions = ["recompute_open_deadlines"]

    @admin.action(description="按现行节假日历重算在途工单时限")
    def recompute_open_deadlines(self, request: HttpRequest, queryset: Any) -> None:
        # After entering a year day by day: open orders' deadlines (and their calendar warnings) follow the
        # calendar. Every open deadline is recomputed whichever years are selected: one may span several.
        from gridcare.workorders.services import deadlines_recompute_all  # the layer above the calendar

        invalidate_calendar()
        moved = deadlines_recompute_all(actor=request.user)  # type: ignore[arg-type]  # admin views require a login
        self.message_user(request, f"已按现行日历重算在途工单时限：{moved} 个时限有变化")


@admin.register(CalendarDay)
class CalendarDayAdmin(CalendarAdminMixin):
    list_display = ("date", "kind", "name")
    list_filter = ("kind",)
    date_hierarchy = "date"
