"""Admin of the tags app: read-mostly views of the catalogue, versions and runs (edits go through services)."""

from django.contrib import admin

from gridcare.tags.models import CatalogueVersion, Segment, TagCategory, TagDefinition, TagRun


@admin.register(TagCategory)
class TagCategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "level", "parent")
    readonly_fields = ("name", "level", "parent", "order")


@admin.register(TagDefinition)
class TagDefinitionAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "category", "schedule", "owner")
    search_fields = ("code", "name")
    readonly_fields = [f.name for f in TagDefinition._meta.fields]


@admin.register(CatalogueVersion)
class CatalogueVersionAdmin(admin.ModelAdmin):
    list_display = ("number", "published_at", "published_by", "note")
    readonly_fields = ("number", "published_at", "published_by", "note", "snapshot")


@admin.register(TagRun)
class TagRunAdmin(admin.ModelAdmin):
    list_display = ("id", "version", "as_of", "engine", "status", "customers", "seconds")
    list_filter = ("status", "engine")
    readonly_fields = [f.name for f in TagRun._meta.fields]


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ("name", "expression", "last_count", "created_at")
    readonly_fields = ("name", "expression", "description", "created_by", "created_at", "last_count")
