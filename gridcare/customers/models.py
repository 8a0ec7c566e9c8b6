"""Customer ledger (用户台账): the customer, keyed by account number (户号), and their contacts."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from gridcare.grid.models import AreaClass, District, ServicePoint
from gridcare.org.models import OrgUnit


class CustomerType(models.TextChoices):
    HIGH_VOLTAGE = "hv", _("高压")
    LV_NON_RESIDENT = "lv_business", _("低压非居民")
    LV_RESIDENT = "lv_resident", _("低压居民")


class ElectricityCategory(models.TextChoices):
    """用电类别, which decides the tariff family."""

    RESIDENT = "resident", _("居民生活")
    COMMERCIAL = "commercial", _("一般工商业")
    LARGE_INDUSTRY = "large_industry", _("大工业")
    AGRICULTURE = "agriculture", _("农业生产")
    OTHER = "other", _("其他")


class VoltageLevel(models.TextChoices):
    V220 = "220V", "220V"
    V380 = "380V", "380V"
    KV10 = "10kV", "10kV"
    KV35 = "35kV", "35kV"
    KV110 = "110kV", "110kV"


class ImportantLevel(models.TextChoices):
    NONE = "", _("非重要客户")
    SPECIAL = "special", _("特级")
    FIRST = "first", _("一级")
    SECOND = "second", _("二级")
    TEMPORARY = "temporary", _("临时性")


class CustomerStatus(models.TextChoices):
    NORMAL = "normal", _("正常")
    SUSPENDED = "suspended", _("暂停")
    CLOSED = "closed", _("销户")


class Customer(models.Model):
    account_no = models.CharField(_("户号"), max_length=20, unique=True)
    name = models.CharField(_("户名"), max_length=100, db_index=True)
    customer_type = models.CharField(_("客户类型"), max_length=16, choices=CustomerType.choices)
    category = models.CharField(_("用电类别"), max_length=16, choices=ElectricityCategory.choices)
    industry = models.CharField(_("行业"), max_length=50, blank=True)
    voltage_level = models.CharField(_("电压等级"), max_length=8, choices=VoltageLevel.choices)
    contract_kva = models.DecimalField(_("合同容量(kVA)"), max_digits=10, decimal_places=1)
    address = models.CharField(_("用电地址"), max_length=200)
    district = models.ForeignKey(District, verbose_name=_("行政区域"), on_delete=models.PROTECT, related_name="+")
    area_class = models.CharField(_("城乡类别"), max_length=10, choices=AreaClass.choices)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    lon = models.FloatField(_("经度"), null=True, blank=True)
    service_point = models.ForeignKey(
        ServicePoint,
        verbose_name=_("计量点"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="customers",
    )
    # The supply unit responsible for the customer; decides who may see them (data scope).
    service_unit = models.ForeignKey(OrgUnit, verbose_name=_("供电单位"), on_delete=models.PROTECT, related_name="+")
    important_level = models.CharField(
        _("重要客户等级"), max_length=10, choices=ImportantLevel.choices, blank=True, default=""
    )
    is_sensitive = models.BooleanField(_("敏感客户"), default=False)
    # The person who looks after this customer (important customers, large accounts): follow-ups and
    # load-control events go to them, else to the supply unit.
    account_manager = models.ForeignKey(
        "org.User", verbose_name=_("客户经理"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    opened_on = models.DateField(_("立户日期"))
    status = models.CharField(_("状态"), max_length=10, choices=CustomerStatus.choices, default=CustomerStatus.NORMAL)

    class Meta:
        verbose_name = _("客户")
        verbose_name_plural = _("客户")
        ordering = ["account_no"]
        indexes = [models.Index(fields=["address"], name="customer_address_idx")]

    def __str__(self) -> str:
        return f"{self.account_no} {self.name}"


class Contact(models.Model):
    class Kind(models.TextChoices):
        SELF = "self", _("本人")
        ELECTRICAL = "electrical", _("电气联系人")
        BILLING = "billing", _("账务联系人")
        OTHER = "other", _("其他")

    customer = models.ForeignKey(Customer, verbose_name=_("客户"), on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(_("姓名"), max_length=50)
    phone = models.CharField(_("电话"), max_length=32, db_index=True)
    kind = models.CharField(_("类型"), max_length=12, choices=Kind.choices, default=Kind.SELF)
    is_primary = models.BooleanField(_("首选联系人"), default=False)

    class Meta:
        verbose_name = _("联系人")
        verbose_name_plural = _("联系人")
        ordering = ["-is_primary", "id"]

    def __str__(self) -> str:
        return self.name
