"""Tag catalogue (draft and published versions), runs with high-water marks, values with history, bitmaps, segments.

The draft is the editable catalogue (categories and tag definitions). Publishing freezes it into a
`CatalogueVersion` snapshot (JSON), and every run and every stored value names the version that produced it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

MAX_LEVELS = 5  # subject / dimension / theme / sub-theme, then the tag: a sixth level is refused


class Schedule(models.TextChoices):
    DAILY = "daily", _("每日")
    WEEKLY = "weekly", _("每周")
    MONTHLY = "monthly", _("每月")


class TagCategory(models.Model):
    """A level of the draft catalogue: 1 subject (主体), 2 dimension (维度), 3 theme (分析主题), 4 sub-theme."""

    parent = models.ForeignKey(
        "self", verbose_name=_("上级"), null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    name = models.CharField(_("名称"), max_length=60)
    level = models.PositiveSmallIntegerField(_("层级"))
    order = models.PositiveIntegerField(_("顺序"), default=0)

    class Meta:
        verbose_name = _("标签分类")
        verbose_name_plural = _("标签分类")
        ordering = ["level", "order", "id"]
        constraints = [models.UniqueConstraint(fields=["parent", "name"], name="tag_category_unique_name")]

    def __str__(self) -> str:
        return self.name

    def path(self) -> list[str]:
        names: list[str] = []
        node: TagCategory | None = self
        while node is not None:
            names.append(node.name)
            node = node.parent
        return names[::-1]


class TagDefinition(models.Model):
    """A tag in the draft catalogue: what it means, who owns it, where its data comes from and its rule."""

    code = models.SlugField(_("编码"), max_length=60, unique=True)
    name = models.CharField(_("名称"), max_length=60)
    category = models.ForeignKey(TagCategory, verbose_name=_("分类"), on_delete=models.PROTECT, related_name="tags")
    definition = models.TextField(_("业务定义"))
    owner = models.CharField(_("负责人"), max_length=100)
    data_sources = models.CharField(_("数据来源"), max_length=200)
    business_rule = models.TextField(_("业务规则"))
    math_model = models.CharField(_("数学模型"), max_length=200)
    rule = models.JSONField(_("规则"))
    values = models.JSONField(_("值域"))
    single_valued = models.BooleanField(_("单值标签"), default=True)
    schedule = models.CharField(_("更新周期"), max_length=10, choices=Schedule.choices, default=Schedule.MONTHLY)
    order = models.PositiveIntegerField(_("顺序"), default=0)
    updated_at = models.DateTimeField(_("修改时间"), auto_now=True)

    class Meta:
        verbose_name = _("标签定义(草稿)")
        verbose_name_plural = _("标签定义(草稿)")
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class CatalogueVersion(models.Model):
    """A published catalogue: the frozen snapshot that runs use."""

    number = models.PositiveIntegerField(_("版本号"), unique=True)
    published_at = models.DateTimeField(_("发布时间"))
    published_by = models.CharField(_("发布人"), max_length=150)
    note = models.CharField(_("说明"), max_length=300, blank=True)
    snapshot = models.JSONField(_("目录快照"))

    class Meta:
        verbose_name = _("标签目录版本")
        verbose_name_plural = _("标签目录版本")
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"v{self.number}"


class TagRun(models.Model):
    """One computation of a published version over the analytics store, and what it covered."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("排队")
        RUNNING = "running", _("运行中")
        DONE = "done", _("完成")
        FAILED = "failed", _("失败")

    version = models.ForeignKey(
        CatalogueVersion, verbose_name=_("目录版本"), on_delete=models.PROTECT, related_name="runs"
    )
    engine = models.CharField(_("引擎"), max_length=10, default="duckdb")
    as_of = models.DateField(_("统计日"))
    tag_codes = models.JSONField(_("标签"), default=list)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    queued_at = models.DateTimeField(_("创建时间"))
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    requested_by = models.CharField(_("发起人"), max_length=150, default="")
    # High-water mark: rows and the last day of every input the run read (conventions 10).
    coverage = models.JSONField(_("数据覆盖"), default=dict)
    customers = models.PositiveIntegerField(_("客户数"), default=0)
    violations = models.JSONField(_("单值校验问题"), default=dict)
    report = models.JSONField(_("评估报告"), default=dict)
    error = models.TextField(_("错误"), blank=True)
    seconds = models.FloatField(_("耗时(秒)"), null=True, blank=True)

    class Meta:
        verbose_name = _("标签计算")
        verbose_name_plural = _("标签计算")
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "id"], name="tag_run_status_idx")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.as_of} v{self.version.number}"


class TagValue(models.Model):
    """A customer's value of a tag over a span of runs: open (to_run empty) while it is the current value."""

    customer_id = models.BigIntegerField(_("客户ID"))
    tag_code = models.CharField(_("标签"), max_length=60)
    value = models.CharField(_("标签值"), max_length=60)
    version = models.ForeignKey(
        CatalogueVersion, verbose_name=_("目录版本"), on_delete=models.PROTECT, related_name="+"
    )
    from_run = models.ForeignKey(TagRun, verbose_name=_("起始计算"), on_delete=models.CASCADE, related_name="+")
    from_date = models.DateField(_("生效日"))
    to_run = models.ForeignKey(
        TagRun, verbose_name=_("截止计算"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    to_date = models.DateField(_("失效日"), null=True, blank=True)

    class Meta:
        verbose_name = _("客户标签值")
        verbose_name_plural = _("客户标签值")
        indexes = [
            models.Index(fields=["customer_id", "tag_code"], name="tag_value_customer_idx"),
            models.Index(fields=["tag_code", "value"], name="tag_value_tag_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.tag_code}={self.value}"


class TagBitmap(models.Model):
    """The customers holding one value of one tag after a run, as a serialized Roaring bitmap."""

    run = models.ForeignKey(TagRun, verbose_name=_("计算"), on_delete=models.CASCADE, related_name="bitmaps")
    tag_code = models.CharField(_("标签"), max_length=60)
    value = models.CharField(_("标签值"), max_length=60)
    cardinality = models.PositiveIntegerField(_("客户数"))
    data = models.BinaryField(_("位图"))

    class Meta:
        verbose_name = _("标签位图")
        verbose_name_plural = _("标签位图")
        constraints = [models.UniqueConstraint(fields=["run", "tag_code", "value"], name="tag_bitmap_unique")]

    def __str__(self) -> str:
        return f"{self.tag_code}={self.value} ({self.cardinality})"


class Segment(models.Model):
    """A saved audience: a boolean expression over tag values (AND / OR / NOT / parentheses)."""

    name = models.CharField(_("名称"), max_length=100, unique=True)
    expression = models.TextField(_("表达式"))
    description = models.CharField(_("说明"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("创建人"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"))
    last_count = models.PositiveIntegerField(_("最近人数"), default=0)

    class Meta:
        verbose_name = _("客户群")
        verbose_name_plural = _("客户群")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
