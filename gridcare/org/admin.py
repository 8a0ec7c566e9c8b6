from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from gridcare.org.models import ApiToken, OrgUnit, Site, UnitManager, User


class UnitManagerInline(admin.TabularInline):
    model = UnitManager
    min_num = 2  # escalation phones the duty line, then at least two managers
    extra = 0


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "address")
    search_fields = ("code", "name")


@admin.register(OrgUnit)
class OrgUnitAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "parent", "site", "duty_phone", "is_active")
    list_filter = ("kind", "site", "is_active")
    search_fields = ("code", "name")
    readonly_fields = ("path",)
    inlines = [UnitManagerInline]

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        super().save_model(request, obj, form, change)
        # Keep the materialised path true when an admin moves a unit; descendants follow.
        new_path = f"{obj.parent.path if obj.parent else '/'}{obj.pk}/"
        if obj.path != new_path:
            old_path = obj.path
            OrgUnit.objects.filter(pk=obj.pk).update(path=new_path)
            if old_path:
                for child in OrgUnit.objects.filter(path__startswith=old_path).exclude(pk=obj.pk):
                    OrgUnit.objects.filter(pk=child.pk).update(path=new_path + child.path[len(old_path) :])
            obj.path = new_path


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "first_name", "role", "unit", "is_active")
    list_filter = ("role", "unit", "is_active")
    fieldsets = (*BaseUserAdmin.fieldsets, (_("岗位"), {"fields": ("role", "unit", "phone")}))  # type: ignore[misc]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "user", "name", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "digest", "created_at", "last_used_at")
    search_fields = ("user__username", "prefix", "name")
