"""95598 work orders: the taxonomy, SLA policies and routing rules as data, and the orders themselves.

"一口对外、内转外不转": the customer keeps one order number whoever handles it inside. Deadlines
are rows of their own (one per milestone) so the worker reads only due rows through an index.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from gridcare.customers.models import Customer
from gridcare.grid.models import AreaClass, District
from gridcare.org.models import OrgUnit


class CategoryKind(models.TextChoices):
    CONSULT = "consult", _("咨询")
    QUERY = "query", _("查询")
    REPAIR = "repair", _("故障报修")
    COMPLAINT = "complaint", _("投诉")
    REPORT = "report", _("举报")
    OPINION = "opinion", _("意见")
    SUGGESTION = "suggestion", _("建议")
    PRAISE = "praise", _("表扬")
    SERVICE = "service", _("服务申请")
    APPLICATION = "application", _("业务申请")


class Priority(models.TextChoices):
    NORMAL = "normal", _("一般")
    URGENT = "urgent", _("紧急")
    CRITICAL = "critical", _("特急")


class Channel(models.TextChoices):
    PHONE = "phone", _("95598 电话")
    WEB = "web", _("网站")
    APP = "app", _("手机 App")
    WECHAT = "wechat", _("微信")
    COUNTER = "counter", _("营业厅")
    IVR = "ivr", _("IVR/合作方接口")
    AMI = "ami", _("用电信息采集（主动抢修）")  # opened by the system from smart-meter power-off events, no caller


class Milestone(models.TextChoices):
    CONTACT = "contact", _("联系客户")
    REPLY = "reply", _("答复客户")
    COMPLETE = "complete", _("办结")
    STEP = "step", _("环节")
    ARRIVE = "arrive", _("到达现场")
    RESTORE = "restore", _("恢复送电")


class TimeUnit(models.TextChoices):
    MINUTES = "minutes", _("自然分钟")
    WORKING_DAYS = "working_days", _("工作日")


class SupplyClass(models.TextChoices):
    """Which connection time limit applies to a business application."""

    ANY = "", _("不限")
    LV_RESIDENT = "lv_resident", _("低压居民")
    LV_BUSINESS = "lv_business", _("低压非居民")
    HV_SINGLE = "hv_single", _("高压单电源")
    HV_DUAL = "hv_dual", _("高压双电源")


class SlaPolicy(models.Model):
    code = models.CharField(_("编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    # Warn the handler before the deadline: a fixed lead if set, else a share of the allowed time.
    warn_lead_minutes = models.PositiveIntegerField(_("预警提前量(分钟)"), null=True, blank=True)
    warn_share = models.DecimalField(_("预警比例"), max_digits=3, decimal_places=2, default=0.25)
    escalate_every_minutes = models.PositiveIntegerField(_("逐级催办间隔(分钟)"), default=60)

    class Meta:
        verbose_name = _("时限策略")
        verbose_name_plural = _("时限策略")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class SlaTarget(models.Model):
    """One time limit of a policy; the most specific row (priority, area, supply class) wins."""

    policy = models.ForeignKey(SlaPolicy, verbose_name=_("策略"), on_delete=models.CASCADE, related_name="targets")
    milestone = models.CharField(_("节点"), max_length=10, choices=Milestone.choices)
    amount = models.PositiveIntegerField(_("时限"))
    unit = models.CharField(_("单位"), max_length=14, choices=TimeUnit.choices)
    priority = models.CharField(_("优先级"), max_length=10, choices=Priority.choices, blank=True, default="")
    area_class = models.CharField(_("城乡类别"), max_length=10, choices=AreaClass.choices, blank=True, default="")
    supply_class = models.CharField(_("供电类别"), max_length=12, choices=SupplyClass.choices, blank=True, default="")

    class Meta:
        verbose_name = _("时限")
        verbose_name_plural = _("时限")
        constraints = [
            models.UniqueConstraint(
                fields=["policy", "milestone", "priority", "area_class", "supply_class"], name="sla_target_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.policy} {self.get_milestone_display()} {self.amount} {self.get_unit_display()}"


class Category(models.Model):
    code = models.CharField(_("编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=50)
    kind = models.CharField(_("大类"), max_length=12, choices=CategoryKind.choices)
    parent = models.ForeignKey(
        "self", verbose_name=_("上级分类"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    default_unit_kind = models.CharField(
        _("默认处理单位类型"), max_length=20, choices=OrgUnit.Kind.choices, default=OrgUnit.Kind.DEPARTMENT
    )
    priority = models.CharField(_("默认优先级"), max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    sla_policy = models.ForeignKey(
        SlaPolicy, verbose_name=_("时限策略"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    return_visit_required = models.BooleanField(_("需要回访"), default=False)
    # Answered by the agent during the call (咨询, 查询): the order may be replied to at intake.
    answerable_at_intake = models.BooleanField(_("可当场答复"), default=False)
    # Business applications: ordered steps per supply class, e.g. {"lv_resident": [["accept","受理",1], …]}.
    process = models.JSONField(_("业务环节"), default=dict, blank=True)
    # What completing the application changes in the ledger: {"set": {...}, "params": {"field": "param"}}.
    ledger_effect = models.JSONField(_("办结后台账变更"), default=dict, blank=True)
    is_active = models.BooleanField(_("启用"), default=True)
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("工单分类")
        verbose_name_plural = _("工单分类")
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return f"{self.parent.name}/{self.name}" if self.parent_id and self.parent else self.name

    @property
    def is_application(self) -> bool:
        return self.kind == CategoryKind.APPLICATION


class RoutingRule(models.Model):
    """Sends new orders to a unit by category and the customer's area; lower rank is tried first."""

    category = models.ForeignKey(
        Category, verbose_name=_("分类"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    area_class = models.CharField(_("城乡类别"), max_length=10, choices=AreaClass.choices, blank=True, default="")
    district = models.ForeignKey(
        District, verbose_name=_("行政区域"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    unit = models.ForeignKey(OrgUnit, verbose_name=_("处理单位"), on_delete=models.CASCADE, related_name="+")
    rank = models.PositiveSmallIntegerField(_("顺序"), default=100)

    class Meta:
        verbose_name = _("派单规则")
        verbose_name_plural = _("派单规则")
        ordering = ["rank", "id"]

    def __str__(self) -> str:
        return f"{self.category or '*'} {self.area_class or '*'} → {self.unit}"


class Status(models.TextChoices):
    ACCEPTED = "accepted", _("已受理")
    DISPATCHED = "dispatched", _("已派发")
    TAKEN = "taken", _("已接单")
    IN_PROGRESS = "in_progress", _("处理中")
    REPLIED = "replied", _("已答复")
    RETURN_VISIT = "return_visit", _("待回访")
    ARCHIVED = "archived", _("已归档")
    RETURNED = "returned", _("已退单")
    SUSPENDED = "suspended", _("已挂起")
    MERGED = "merged", _("已合并")
    CANCELLED = "cancelled", _("已撤销")


class WorkOrder(models.Model):
    number = models.CharField(_("工单编号"), max_length=20, unique=True)
    channel = models.CharField(_("受理渠道"), max_length=10, choices=Channel.choices)
    category = models.ForeignKey(Category, verbose_name=_("分类"), on_delete=models.PROTECT, related_name="+")
    priority = models.CharField(_("优先级"), max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    status = models.CharField(_("状态"), max_length=14, choices=Status.choices, default=Status.ACCEPTED)
    # Indexes cost every intake a write; the customer is covered by wo_customer_idx (customer, accepted_at), and
    # sender unit, acceptor and repeat-of are only followed from an order, never searched by (a unit or user is
    # almost never deleted, and then a scan is fine).
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("客户"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="workorders",
        db_index=False,
    )
    # Callers who are not (yet) customers — new connection enquiries — are recorded by name and phone.
    caller_name = models.CharField(_("来电人"), max_length=50, blank=True)
    caller_phone = models.CharField(_("联系电话"), max_length=32, blank=True)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    area_class = models.CharField(_("城乡类别"), max_length=10, choices=AreaClass.choices, default=AreaClass.URBAN)
    supply_class = models.CharField(_("供电类别"), max_length=12, choices=SupplyClass.choices, blank=True, default="")
    description = models.TextField(_("诉求内容"))
    reply_text = models.TextField(_("答复内容"), blank=True)
    unit = models.ForeignKey(
        OrgUnit, verbose_name=_("处理单位"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    sender_unit = models.ForeignKey(
        OrgUnit,
        verbose_name=_("派发单位"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    handler = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("处理人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("受理人"),
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    accepted_at = models.DateTimeField(_("受理时间"), db_index=True)
    replied_at = models.DateTimeField(_("答复时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("归档时间"), null=True, blank=True)
    paused_at = models.DateTimeField(_("挂起时间"), null=True, blank=True)
    pause_reason = models.CharField(_("挂起原因"), max_length=200, blank=True)
    # Where a suspended or merged order goes back to when it is resumed or un-merged.
    resume_status = models.CharField(_("恢复状态"), max_length=14, choices=Status.choices, blank=True)
    main = models.ForeignKey(
        "self", verbose_name=_("主单"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    repeat_of = models.ForeignKey(
        "self",
        verbose_name=_("重复来电主单"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    call_count = models.PositiveIntegerField(_("致电次数"), default=1)
    is_supervised = models.BooleanField(_("是否督办"), default=False)
    is_overdue = models.BooleanField(_("是否超时"), default=False)
    application_params = models.JSONField(_("业务参数"), default=dict, blank=True)
    calendar_warning = models.CharField(_("日历提示"), max_length=200, blank=True)
    version = models.PositiveIntegerField(default=0)  # compare-and-swap guard for transitions

    class Meta:
        verbose_name = _("工单")
        verbose_name_plural = _("工单")
        ordering = ["-accepted_at", "-id"]
        indexes = [
            models.Index(fields=["status", "unit"], name="wo_status_unit_idx"),
            models.Index(fields=["customer", "accepted_at"], name="wo_customer_idx"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_sensitive(self) -> bool:
        return bool(self.customer and self.customer.is_sensitive)


class DeadlineState(models.TextChoices):
    PENDING = "pending", _("计时中")
    WARNED = "warned", _("已预警")
    OVERDUE = "overdue", _("已超时")
    MET = "met", _("已完成")
    CANCELLED = "cancelled", _("已取消")


class Deadline(models.Model):
    order = models.ForeignKey(WorkOrder, verbose_name=_("工单"), on_delete=models.CASCADE, related_name="deadlines")
    milestone = models.CharField(_("节点"), max_length=10, choices=Milestone.choices)
    step_code = models.CharField(_("环节"), max_length=32, blank=True)
    # The target as data, so a recomputation after a policy or calendar change needs nothing else.
    amount = models.PositiveIntegerField(_("时限"))
    unit = models.CharField(_("单位"), max_length=14, choices=TimeUnit.choices)
    started_at = models.DateTimeField(_("起算时间"))
    paused_seconds = models.FloatField(_("暂停时长(秒)"), default=0)
    due_at = models.DateTimeField(_("截止时间"))
    warn_at = models.DateTimeField(_("预警时间"))
    met_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    state = models.CharField(_("状态"), max_length=10, choices=DeadlineState.choices, default=DeadlineState.PENDING)
    escalation_level = models.PositiveSmallIntegerField(_("催办级别"), default=0)
    # When the worker must look at this row next; NULL once nothing more can happen (met, cancelled, paused).
    next_check_at = models.DateTimeField(_("下次检查"), null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = _("时限节点")
        verbose_name_plural = _("时限节点")
        ordering = ["due_at"]

    def __str__(self) -> str:
        return f"{self.order} {self.get_milestone_display()} {self.due_at:%Y-%m-%d %H:%M}"


class ApplicationStep(models.Model):
    order = models.ForeignKey(WorkOrder, verbose_name=_("工单"), on_delete=models.CASCADE, related_name="steps")
    seq = models.PositiveSmallIntegerField(_("顺序"))
    code = models.CharField(_("环节编码"), max_length=32)
    name = models.CharField(_("环节"), max_length=50)
    days = models.PositiveSmallIntegerField(_("时限(工作日)"))
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    done_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    note = models.CharField(_("说明"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("业务环节")
        verbose_name_plural = _("业务环节")
        ordering = ["order", "seq"]
        constraints = [models.UniqueConstraint(fields=["order", "seq"], name="step_unique_seq")]

    def __str__(self) -> str:
        return f"{self.order} {self.seq}.{self.name}"


class VisitOutcome(models.TextChoices):
    SATISFIED = "satisfied", _("满意")
    BASIC = "basic", _("基本满意")
    UNSATISFIED = "unsatisfied", _("不满意")
    NO_ANSWER = "no_answer", _("未接通")
    UNREACHABLE = "unreachable", _("联系不上")


class ReturnVisit(models.Model):
    order = models.ForeignKey(WorkOrder, verbose_name=_("工单"), on_delete=models.CASCADE, related_name="visits")
    created_at = models.DateTimeField(_("生成时间"))
    closed_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    outcome = models.CharField(_("回访结果"), max_length=12, choices=VisitOutcome.choices, blank=True)

    class Meta:
        verbose_name = _("回访")
        verbose_name_plural = _("回访")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.order} {self.get_outcome_display() or '待回访'}"


class VisitAttempt(models.Model):
    visit = models.ForeignKey(ReturnVisit, verbose_name=_("回访"), on_delete=models.CASCADE, related_name="attempts")
    at = models.DateTimeField(_("时间"))
    result = models.CharField(_("结果"), max_length=12, choices=VisitOutcome.choices)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("回访人"), null=True, on_delete=models.PROTECT)

    class Meta:
        verbose_name = _("回访记录")
        verbose_name_plural = _("回访记录")
        ordering = ["at"]

    def __str__(self) -> str:
        return f"{self.visit} {self.at:%Y-%m-%d %H:%M} {self.get_result_display()}"


class IdempotencyKey(models.Model):
    """A retried POST with the same key returns the first order instead of creating a second one."""

    key = models.CharField(max_length=100)
    # (user, key) is unique, and that index serves every lookup by user too.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    request_hash = models.CharField(max_length=64)
    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_unique")]

    def __str__(self) -> str:
        return self.key
