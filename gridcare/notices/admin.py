"""Admin for the notices app: read-mostly views of outages, notices and the delivery log."""

from django.contrib import admin
from django.http import HttpRequest

from gridcare.notices.models import (
    ChannelPreference,
    DeliveryAttempt,
    FollowUpTask,
    Message,
    Notice,
    NoticeTemplate,
    Outage,
)


@admin.register(Outage)
class OutageAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "status", "starts_at", "ends_at", "affected_count", "is_late", "updated_at"]
    list_filter = ["kind", "status", "is_late"]
    search_fields = ["title", "scope_label", "source_ref"]
    readonly_fields = ["affected_count", "revision", "published_at", "created_at", "updated_at"]
    filter_horizontal = ["feeders", "areas", "districts"]
    raw_id_fields = ["service_points"]


@admin.register(Notice)
class NoticeAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "recipients", "urgent", "legally_required", "created_at", "created_by"]
    list_filter = ["kind", "urgent", "legally_required"]
    search_fields = ["title", "dedupe_key"]
    raw_id_fields = ["outage"]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["notice", "customer", "channel", "status", "attempts", "queued_at", "sent_at"]
    list_filter = ["channel", "status"]
    raw_id_fields = ["notice", "customer"]
    search_fields = ["customer__account_no", "provider_ref"]


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(admin.ModelAdmin):
    list_display = ["message", "at", "outcome", "worker"]
    list_filter = ["outcome"]
    raw_id_fields = ["message"]


@admin.register(ChannelPreference)
class ChannelPreferenceAdmin(admin.ModelAdmin):
    list_display = ["customer", "channel", "address", "opted_out", "updated_at"]
    list_filter = ["channel", "opted_out"]
    raw_id_fields = ["customer"]


@admin.register(NoticeTemplate)
class NoticeTemplateAdmin(admin.ModelAdmin):
    """Read-only: templates are edited on the staff page (/notices/templates/), which checks placeholders and
    braces, previews the text and records who changed what."""

    list_display = ["kind", "channel", "subject", "updated_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: NoticeTemplate | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: NoticeTemplate | None = None) -> bool:
        return False


@admin.register(FollowUpTask)
class FollowUpTaskAdmin(admin.ModelAdmin):
    """Read-only: a task is completed on /notices/follow-ups/ through the service, which writes the audit event
    an edit here would skip."""

    list_display = ["customer", "reason", "unit", "assignee", "due_at", "status"]
    list_filter = ["status", "reason"]
    raw_id_fields = ["customer", "notice"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: FollowUpTask | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: FollowUpTask | None = None) -> bool:
        return False
