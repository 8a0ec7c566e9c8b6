from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

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
from gridcare.core.background import task_label, task_resume, tasks_queued_by  # noqa: E402
from gridcare.core.calendar import invalidate_calendar  # noqa: E402
from gridcare.core.models import BackgroundTask, CalendarDay, CalendarYear  # noqa: E402
from gridcare.core.signals import calendar_changed  # noqa: E402


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
        # After entering a year day by day: the apps that count on the calendar (open work orders' deadlines and
        # their calendar warnings) queue their recompute as background tasks, whichever years are selected (one
        # deadline may span several). The page returns at once; the tasks' progress is in 后台任务.
        invalidate_calendar()
        tasks = tasks_queued_by(calendar_changed.send(sender=CalendarYear, actor=request.user))
        if not tasks:
            self.message_user(request, "日历已生效，没有需要重算的内容")
            return
        for task in tasks:
            link = reverse("admin:core_backgroundtask_change", args=[task.pk])
            self.message_user(
                request,
                format_html(
                    '已排队：<a href="{}">后台任务 #{}</a> {}，进度见后台任务列表', link, task.pk, task_label(task)
                ),
            )


@admin.register(CalendarDay)
class CalendarDayAdmin(CalendarAdminMixin):
    list_display = ("date", "kind", "name")
    list_filter = ("kind",)
    date_hierarchy = "date"


@admin.register(BackgroundTask)
class BackgroundTaskAdmin(admin.ModelAdmin):
    """Progress of heavy one-off work; read-only except that a failed task can be resumed from its checkpoint."""

    list_display = ("id", "label", "queue", "state", "progress", "requested_by_name", "created_at", "finished_at")
    list_filter = ("state", "queue", "name")
    readonly_fields = [f.name for f in BackgroundTask._meta.fields]
    actions = ["resume"]

    @admin.display(description="任务")
    def label(self, obj: BackgroundTask) -> str:
        return task_label(obj)

    @admin.display(description="进度")
    def progress(self, obj: BackgroundTask) -> str:
        percent = obj.percent
        total = "?" if obj.total is None else str(obj.total)
        return f"{obj.done}/{total}" + ("" if percent is None else f" ({percent}%)")

    @admin.action(description="从断点继续失败的任务")
    def resume(self, request: HttpRequest, queryset: Any) -> None:
        resumed = sum(task_resume(task=task) for task in queryset)
        self.message_user(request, f"已重新排队 {resumed} 个任务")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active and request.user.is_superuser) and obj is None

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)
