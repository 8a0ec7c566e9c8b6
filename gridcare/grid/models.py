"""Grid topology: substation → 10 kV feeder → transformer area (台区) → service point (计量点/电表).

Every level carries coordinates and the org unit that maintains it, so repair orders, outage
grouping and data scope all follow the network.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from gridcare.org.models import OrgUnit


class AreaClass(models.TextChoices):
    """Sets the published repair targets: city 45 min, rural 90 min, special remote 2 h."""

    URBAN = "urban", _("城市")
    RURAL = "rural", _("农村")
    REMOTE = "remote", _("特殊边远")


class District(models.Model):
    """An administrative area (行政区域) such as a city district or a county."""

    code = models.CharField(_("编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    area_class = models.CharField(_("城乡类别"), max_length=10, choices=AreaClass.choices)

    class Meta:
        verbose_name = _("行政区域")
        verbose_name_plural = _("行政区域")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Substation(models.Model):
    code = models.CharField(_("编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    voltage_kv = models.PositiveIntegerField(_("电压等级(kV)"), default=110)
    lat = models.FloatField(_("纬度"))
    lon = models.FloatField(_("经度"))
    unit = models.ForeignKey(OrgUnit, verbose_name=_("运维单位"), on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("变电站")
        verbose_name_plural = _("变电站")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Feeder(models.Model):
    code = models.CharField(_("编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    substation = models.ForeignKey(
        Substation, verbose_name=_("变电站"), on_delete=models.PROTECT, related_name="feeders"
    )
    voltage_kv = models.PositiveIntegerField(_("电压等级(kV)"), default=10)
    unit = models.ForeignKey(OrgUnit, verbose_name=_("运维单位"), on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("10kV 线路")
        verbose_name_plural = _("10kV 线路")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class TransformerArea(models.Model):
    """台区: the low-voltage network behind one distribution transformer."""

    code = models.CharField(_("编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    feeder = models.ForeignKey(Feeder, verbose_name=_("所属线路"), on_delete=models.PROTECT, related_name="areas")
    rated_kva = models.PositiveIntegerField(_("额定容量(kVA)"))
    lat = models.FloatField(_("纬度"))
    lon = models.FloatField(_("经度"))
    district = models.ForeignKey(
        District,
        verbose_name=_("行政区域"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    unit = models.ForeignKey(OrgUnit, verbose_name=_("运维单位"), on_delete=models.PROTECT, related_name="+")
    # The nearest device upstream (the fuse of its branch line, …); empty: it hangs from the feeder's outlet.
    device = models.ForeignKey(
        "GridDevice",
        verbose_name=_("上级设备"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="areas",
    )

    class Meta:
        verbose_name = _("台区")
        verbose_name_plural = _("台区")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class GridDevice(models.Model):
    """A protective or switching device on a feeder (below the substation breaker): the network below the feeder
    as a radial tree. Each device names the device upstream of it in the normal running arrangement; a tie switch
    also names the device on the other feeder it can connect to. Outage prediction walks this tree
    (gridcare.repair.network) from every feeder's source through the devices closed now."""

    class Kind(models.TextChoices):
        BREAKER = "breaker", _("断路器")
        RECLOSER = "recloser", _("重合器")
        SECTIONALISER = "sectionaliser", _("分段开关")
        FUSE = "fuse", _("熔断器")
        SWITCH = "switch", _("负荷开关")

    code = models.CharField(_("编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices)
    feeder = models.ForeignKey(Feeder, verbose_name=_("所属线路"), on_delete=models.PROTECT, related_name="devices")
    upstream = models.ForeignKey(
        "self",
        verbose_name=_("上级设备"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="downstream",
        help_text=_("正常运行方式下的上级设备；为空表示线路出口断路器"),
    )
    tie_to = models.ForeignKey(
        "self",
        verbose_name=_("联络至"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("联络开关连接的另一条线路上的设备"),
    )
    normally_open = models.BooleanField(_("常开"), default=False)
    is_open = models.BooleanField(_("当前断开"), default=False)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    lon = models.FloatField(_("经度"), null=True, blank=True)

    class Meta:
        verbose_name = _("线路设备")
        verbose_name_plural = _("线路设备")
        ordering = ["feeder", "code"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.name}"


class SwitchingOperation(models.Model):
    """倒闸操作: a device opened or closed by an operator; changes which customers are downstream of what."""

    device = models.ForeignKey(GridDevice, verbose_name=_("设备"), on_delete=models.PROTECT, related_name="operations")
    opened = models.BooleanField(_("断开"), help_text=_("是：断开；否：合上"))
    at = models.DateTimeField(_("操作时间"), db_index=True)
    operator = models.CharField(_("操作人"), max_length=100)
    note = models.CharField(_("说明"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("倒闸操作")
        verbose_name_plural = _("倒闸操作")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{'断开' if self.opened else '合上'} {self.device}"


class ServicePoint(models.Model):
    """计量点: where a customer is supplied and metered."""

    code = models.CharField(_("编码"), max_length=32, unique=True)
    transformer_area = models.ForeignKey(
        TransformerArea, verbose_name=_("所属台区"), on_delete=models.PROTECT, related_name="service_points"
    )
    meter_no = models.CharField(_("电表资产号"), max_length=32, unique=True, null=True, blank=True)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    lat = models.FloatField(_("纬度"))
    lon = models.FloatField(_("经度"))

    class Meta:
        verbose_name = _("计量点")
        verbose_name_plural = _("计量点")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code
