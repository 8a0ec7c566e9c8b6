"""Demand-side management data: import batches of interval data, load limits and load-control events,
orderly-use plans (有序用电) and demand-response events with their participants.

Interval values themselves live in the analytics store (Parquet, gridcare/dsm/store.py), not here.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from gridcare.customers.models import Customer
from gridcare.grid.models import Feeder
from gridcare.org.models import OrgUnit


class IntervalBatch(models.Model):
    """One imported file of interval or daily readings (导入批次)."""

    class Kind(models.TextChoices):
        INTERVAL = "interval", _("96 点负荷")
        DAILY = "daily", _("日电量/示数")

    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices)
    source = models.CharField(_("来源文件"), max_length=300)
    path = models.CharField(_("存储文件"), max_length=300)
    rows = models.PositiveBigIntegerField(_("行数"))
    series = models.PositiveIntegerField(_("客户数"))
    filled = models.PositiveBigIntegerField(_("插补点数"), default=0)
    warnings = models.PositiveIntegerField(_("警告数"), default=0)
    first_day = models.DateField(_("起始日"), null=True)
    last_day = models.DateField(_("截止日"), null=True)
    imported_at = models.DateTimeField(_("导入时间"))
    imported_by = models.CharField(_("导入人"), max_length=150)

    class Meta:
        verbose_name = _("负荷数据导入批次")
        verbose_name_plural = _("负荷数据导入批次")
        ordering = ["-imported_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.source}"


class LoadLimit(models.Model):
    """A customer's load limit (负荷限额): contract capacity, agreed maximum demand, or an orderly-use cap."""

    class Kind(models.TextChoices):
        CONTRACT = "contract", _("合同容量")
        AGREED = "agreed", _("约定最大需量")
        PLAN = "plan", _("有序用电限额")

    customer = models.ForeignKey(Customer, verbose_name=_("客户"), on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices)
    limit_kw = models.DecimalField(_("限额(kW)"), max_digits=12, decimal_places=1)
    valid_from = models.DateTimeField(_("生效时间"))
    valid_to = models.DateTimeField(_("失效时间"), null=True, blank=True)
    plan = models.ForeignKey(
        "OrderlyUsePlan",
        verbose_name=_("有序用电方案"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    # Up to which local day the monitor has checked this limit (high-water mark; the next run resumes there).
    checked_through = models.DateField(_("已检查至"), null=True, blank=True)

    class Meta:
        verbose_name = _("负荷限额")
        verbose_name_plural = _("负荷限额")
        ordering = ["customer_id", "valid_from"]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.get_kind_display()} {self.limit_kw} kW"


class LoadControlEvent(models.Model):
    """Load above a limit (超限): raised for the customer's account manager and shown on the 360 page."""

    class Status(models.TextChoices):
        OPEN = "open", _("待处理")
        ACKNOWLEDGED = "acknowledged", _("已处理")

    customer = models.ForeignKey(Customer, verbose_name=_("客户"), on_delete=models.CASCADE, related_name="+")
    limit = models.ForeignKey(LoadLimit, verbose_name=_("限额"), on_delete=models.CASCADE, related_name="events")
    unit = models.ForeignKey(OrgUnit, verbose_name=_("供电单位"), on_delete=models.PROTECT, related_name="+")
    account_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("客户经理"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    day = models.DateField(_("日期"))
    first_over_at = models.DateTimeField(_("首次超限时间"))
    intervals_over = models.PositiveIntegerField(_("超限点数"))
    peak_kw = models.DecimalField(_("最大负荷(kW)"), max_digits=12, decimal_places=1)
    limit_kw = models.DecimalField(_("限额(kW)"), max_digits=12, decimal_places=1)
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(_("创建时间"))

    class Meta:
        verbose_name = _("负荷控制事件")
        verbose_name_plural = _("负荷控制事件")
        ordering = ["-day"]
        constraints = [models.UniqueConstraint(fields=["limit", "day"], name="dsm_loadevent_one_per_limit_day")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.day} {self.peak_kw}/{self.limit_kw} kW"


class OrderlyUsePlan(models.Model):
    """有序用电方案: a reduction target for a time window over some feeders, solved as a MILP."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        SOLVED = "solved", _("已编制")
        ISSUED = "issued", _("已发布")

    name = models.CharField(_("名称"), max_length=100)
    target_kw = models.DecimalField(_("削减目标(kW)"), max_digits=12, decimal_places=1)
    window_start = models.DateTimeField(_("开始时间"))
    window_end = models.DateTimeField(_("结束时间"))
    feeders = models.ManyToManyField(Feeder, verbose_name=_("线路"), related_name="+")
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    planned_kw = models.DecimalField(_("计划削减(kW)"), max_digits=12, decimal_places=1, default=0)
    shortfall_kw = models.DecimalField(_("缺口(kW)"), max_digits=12, decimal_places=1, default=0)
    cost = models.DecimalField(_("经济代价(元)"), max_digits=14, decimal_places=2, default=0)
    created_by = models.CharField(_("编制人"), max_length=150)
    created_at = models.DateTimeField(_("编制时间"))

    class Meta:
        verbose_name = _("有序用电方案")
        verbose_name_plural = _("有序用电方案")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class PlanAllocation(models.Model):
    plan = models.ForeignKey(
        OrderlyUsePlan, verbose_name=_("方案"), on_delete=models.CASCADE, related_name="allocations"
    )
    customer = models.ForeignKey(Customer, verbose_name=_("客户"), on_delete=models.CASCADE, related_name="+")
    reduction_kw = models.DecimalField(_("削减(kW)"), max_digits=12, decimal_places=1)
    cost = models.DecimalField(_("代价(元)"), max_digits=14, decimal_places=2)

    class Meta:
        verbose_name = _("方案分配")
        verbose_name_plural = _("方案分配")
        constraints = [models.UniqueConstraint(fields=["plan", "customer"], name="dsm_allocation_unique")]

    def __str__(self) -> str:
        return f"{self.plan_id}/{self.customer_id} {self.reduction_kw} kW"


class DemandResponseEvent(models.Model):
    """A demand-response event with OpenADR-like fields (event id, status, signal, intervals, targets)."""

    class Status(models.TextChoices):
        FAR = "far", _("远期")
        NEAR = "near", _("临近")
        ACTIVE = "active", _("执行中")
        COMPLETED = "completed", _("已完成")
        CANCELLED = "cancelled", _("已取消")

    event_id = models.CharField(_("事件编号"), max_length=40, unique=True)
    plan = models.ForeignKey(
        OrderlyUsePlan, verbose_name=_("方案"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.FAR)
    signal_name = models.CharField(_("信号"), max_length=40, default="LOAD_DISPATCH")
    signal_type = models.CharField(_("信号类型"), max_length=20, default="delta")
    start = models.DateTimeField(_("开始时间"))
    end = models.DateTimeField(_("结束时间"))
    intervals = models.JSONField(_("时段"), default=list)
    targets = models.JSONField(_("对象"), default=dict)
    created_at = models.DateTimeField(_("创建时间"))
    modification_number = models.PositiveIntegerField(_("修改次数"), default=0)
    # What the selected customers were told (the notices app queues and delivers): the invitation, a cancellation.
    notices = models.ManyToManyField("notices.Notice", verbose_name=_("通知"), blank=True, related_name="+")

    class Meta:
        verbose_name = _("需求响应事件")
        verbose_name_plural = _("需求响应事件")
        ordering = ["-start"]

    def __str__(self) -> str:
        return self.event_id


class Participation(models.Model):
    class Opt(models.TextChoices):
        PENDING = "pending", _("待确认")
        IN = "opt_in", _("参与")
        OUT = "opt_out", _("不参与")

    event = models.ForeignKey(
        DemandResponseEvent, verbose_name=_("事件"), on_delete=models.CASCADE, related_name="participants"
    )
    customer = models.ForeignKey(Customer, verbose_name=_("客户"), on_delete=models.CASCADE, related_name="+")
    opt = models.CharField(_("响应"), max_length=10, choices=Opt.choices, default=Opt.PENDING)
    planned_kw = models.DecimalField(_("计划削减(kW)"), max_digits=12, decimal_places=1)
    baseline_kw = models.DecimalField(_("基线(kW)"), max_digits=12, decimal_places=2, null=True, blank=True)
    actual_kw = models.DecimalField(_("实际(kW)"), max_digits=12, decimal_places=2, null=True, blank=True)
    delivered_kw = models.DecimalField(_("实际削减(kW)"), max_digits=12, decimal_places=2, null=True, blank=True)

    class Meta:
        verbose_name = _("需求响应参与")
        verbose_name_plural = _("需求响应参与")
        constraints = [models.UniqueConstraint(fields=["event", "customer"], name="dsm_participation_unique")]

    def __str__(self) -> str:
        return f"{self.event_id}/{self.customer_id} {self.opt}"
