"""Audit events: the append-only history of every state change, written in the same transaction."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy as _


class ImmutableEventError(Exception):
    """Raised when code tries to change or delete history."""


class Event(models.Model):
    at = models.DateTimeField(_("时间"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Kept as text too, so history still names the person after an account is removed.
    actor_name = models.CharField(_("操作人名称"), max_length=150, blank=True)
    # Indexed with the time below (reports ask "which X happened when"); not db_index=True, which on
    # PostgreSQL adds a second LIKE index that nothing uses and every audited write would pay for.
    action = models.CharField(_("动作"), max_length=64)
    subject_type = models.CharField(_("对象类型"), max_length=64)
    subject_id = models.CharField(_("对象编号"), max_length=64)
    subject_label = models.CharField(_("对象"), max_length=200, blank=True)
    old = models.JSONField(_("原值"), null=True, blank=True, encoder=DjangoJSONEncoder)
    new = models.JSONField(_("新值"), null=True, blank=True, encoder=DjangoJSONEncoder)
    note = models.TextField(_("说明"), blank=True)

    class Meta:
        verbose_name = _("审计事件")
        verbose_name_plural = _("审计事件")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["subject_type", "subject_id", "at"], name="event_subject_idx"),
            models.Index(fields=["action", "at"], name="event_action_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name or '系统'} {self.action} {self.subject_label}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # History is append-only: an existing row can never be rewritten.
        if not self._state.adding:
            raise ImmutableEventError("audit events cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ImmutableEventError("audit events cannot be deleted")


class CalendarYear(models.Model):
    """A year whose holidays have been entered; other years fall back to weekends-only with a warning."""

    year = models.PositiveSmallIntegerField(_("年份"), unique=True)
    source = models.CharField(_("来源"), max_length=100, blank=True, help_text=_("如：国务院办公厅通知"))

    class Meta:
        verbose_name = _("节假日年度")
        verbose_name_plural = _("节假日年度")
        ordering = ["year"]

    def __str__(self) -> str:
        return str(self.year)


class CalendarDay(models.Model):
    """A public holiday, or a weekend day that is a working day (调休 make-up day)."""

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("法定节假日")
        WORKDAY = "workday", _("调休上班")

    date = models.DateField(_("日期"), unique=True)
    kind = models.CharField(_("类型"), max_length=8, choices=Kind.choices)
    name = models.CharField(_("名称"), max_length=50, blank=True)

    class Meta:
        verbose_name = _("节假日")
        verbose_name_plural = _("节假日")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.get_kind_display()} {self.name}"


class BackgroundTask(models.Model):
    """Heavy one-off work (recompute every open deadline …) run by `gridcare worker` in batches.

    The row is both the queue entry and the progress report: each batch commits its work together with the new
    `checkpoint` and `done`, so a worker that dies mid-batch loses only that batch and the next one resumes.
    """

    class State(models.TextChoices):
        QUEUED = "queued", _("排队中")
        RUNNING = "running", _("执行中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    name = models.CharField(_("任务"), max_length=64)
    queue = models.CharField(_("队列"), max_length=32, default="default")
    params = models.JSONField(_("参数"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    state = models.CharField(_("状态"), max_length=8, choices=State.choices, default=State.QUEUED)
    done = models.PositiveIntegerField(_("已处理"), default=0)
    total = models.PositiveIntegerField(_("总数"), null=True, blank=True)
    # Where the next batch starts (e.g. the last order id handled); opaque to everyone but the task's step.
    checkpoint = models.JSONField(_("断点"), null=True, blank=True, encoder=DjangoJSONEncoder)
    result = models.JSONField(_("结果"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    error = models.TextField(_("错误"), blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("发起人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    requested_by_name = models.CharField(_("发起人名称"), max_length=150, blank=True)
    created_at = models.DateTimeField(_("创建时间"))
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("后台任务")
        verbose_name_plural = _("后台任务")
        ordering = ["-id"]
        # The worker asks "the oldest unfinished task of my queue"; finished rows are most of the table.
        indexes = [models.Index(fields=["queue", "state", "id"], name="backgroundtask_queue_idx")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.name}"

    @property
    def percent(self) -> int | None:
        if not self.total:
            return 100 if self.state == self.State.DONE else None
        return min(100, round(100 * self.done / self.total))
