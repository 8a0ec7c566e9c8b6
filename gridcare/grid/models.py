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

    class Meta:
        verbose_name = _("台区")
        verbose_name_plural = _("台区")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


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
