from django.contrib import admin

from gridcare.customers.models import Contact, Customer


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = (
        "account_no",
        "name",
        "customer_type",
        "category",
        "area_class",
        "important_level",
        "is_sensitive",
        "status",
    )
    list_filter = ("customer_type", "category", "area_class", "important_level", "is_sensitive", "status")
    search_fields = ("=account_no", "name", "=contacts__phone")
    raw_id_fields = ("service_point",)
    list_select_related = ("district",)
    show_full_result_count = False  # counting a million rows on every page load is not worth it
    inlines = [ContactInline]
