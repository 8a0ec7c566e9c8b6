from django.contrib import admin

from gridcare.grid.models import District, Feeder, ServicePoint, Substation, TransformerArea


@admin.register(District)
class DistrictAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "area_class")
    list_filter = ("area_class",)


@admin.register(Substation)
class SubstationAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "voltage_kv", "unit")
    search_fields = ("code", "name")


@admin.register(Feeder)
class FeederAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "substation", "unit")
    search_fields = ("code", "name")
    list_select_related = ("substation", "unit")


@admin.register(TransformerArea)
class TransformerAreaAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "feeder", "rated_kva", "district", "unit")
    search_fields = ("code", "name")
    list_select_related = ("feeder", "district", "unit")
    raw_id_fields = ("feeder",)


@admin.register(ServicePoint)
class ServicePointAdmin(admin.ModelAdmin):
    list_display = ("code", "meter_no", "transformer_area", "address")
    search_fields = ("code", "meter_no", "address")
    raw_id_fields = ("transformer_area",)
    list_select_related = ("transformer_area",)
