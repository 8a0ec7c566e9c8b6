from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from gridcare.grid import services
from gridcare.grid.models import (
    District,
    Feeder,
    GridDevice,
    ServicePoint,
    Substation,
    SwitchingOperation,
    TransformerArea,
)


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


class DeviceForm(forms.ModelForm):
    class Meta:
        model = GridDevice
        fields = ("name", "lat", "lon")


@admin.register(GridDevice)
class GridDeviceAdmin(admin.ModelAdmin):
    """Devices come from the network import, which checks the network as a whole (one outlet per feeder, a radial
    tree, ties normally open); here an administrator reads them and corrects a name or a position. Their state
    changes only by switching (the feeder page or POST /api/v1/grid/devices/{code}/switch)."""

    form = DeviceForm
    list_display = ("code", "name", "kind", "feeder", "upstream", "tie_to", "normally_open", "is_open")
    list_filter = ("kind", "normally_open", "is_open", ("feeder", admin.RelatedOnlyFieldListFilter))
    search_fields = ("code", "name", "feeder__code")
    list_select_related = ("feeder", "upstream", "tie_to")
    readonly_fields = ("code", "kind", "feeder", "upstream", "tie_to", "normally_open", "is_open")
    fields = ("code", "name", "kind", "feeder", "upstream", "tie_to", "normally_open", "is_open", "lat", "lon")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # gridcare network import: a device alone cannot be checked against its feeder's tree

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # 台区 and other devices hang from it; switching history refers to it

    def save_model(self, request: HttpRequest, obj: GridDevice, form: Any, change: bool) -> None:
        services.device_describe(device=obj, name=obj.name, lat=obj.lat, lon=obj.lon, actor=request.user)


@admin.register(SwitchingOperation)
class SwitchingOperationAdmin(admin.ModelAdmin):
    """Read-only: a switching operation is made through the service, which checks for 合环 and audits it."""

    list_display = ("at", "device", "opened", "operator", "note")
    list_filter = ("opened", ("device__feeder", admin.RelatedOnlyFieldListFilter), "device__kind")
    search_fields = ("device__code", "operator", "note")
    list_select_related = ("device",)
    date_hierarchy = "at"
    readonly_fields = ("device", "opened", "at", "operator", "note")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
