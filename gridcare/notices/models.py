"""Outages as data, notices sent about them (and reminders, announcements), and the per-message delivery log.

An `Outage` names the network it covers and a time window; at publication the customers under it are kept in
`OutageCustomer`. Each `Notice` is one thing said to a set of customers; each `Message` is one customer on one
channel, the row the delivery worker claims, and `DeliveryAttempt` rows are its history (the delivery log).
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from gridcare.customers.models import Customer
from gridcare.grid.models import District, Feeder, ServicePoint, TransformerArea
from gridcare.notices.channels.base import channel_label, validate_channel
from gridcare.org.models import OrgUnit, User


class OutageKind(models.TextChoices):
    PLANNED = "planned", _("计划检修停电")
    TEMPORARY = "temporary", _("临时检修停电")
    FAULT = "fault", _("故障停电")


class OutageStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    PUBLISHED = "published", _("已发布")
    CANCELLED = "cancelled", _("已取消")
    RESTORED = "restored", _("已恢复送电")


class Outage(models.Model):
    kind = models.CharField(_("停电类型"), max_length=12, choices=OutageKind.choices)
    status = models.CharField(_("状态"), max_length=12, choices=OutageStatus.choices, default=OutageStatus.DRAFT)
    title = models.CharField(_("标题"), max_length=200)
    cause = models.CharField(_("停电原因"), max_length=200, blank=True)
    unit = models.ForeignKey(OrgUnit, verbose_name=_("责任单位"), on_delete=models.PROTECT, related_name="+")
    feeders = models.ManyToManyField(Feeder, verbose_name=_("线路"), blank=True, related_name="+")
    areas = models.ManyToManyField(TransformerArea, verbose_name=_("台区"), blank=True, related_name="+")
    service_points = models.ManyToManyField(ServicePoint, verbose_name=_("计量点"), blank=True, related_name="+")
    # Filled at publication from the scope, so the public feed can be filtered by area without walking the network.
    districts = models.ManyToManyField(District, verbose_name=_("涉及区域"), blank=True, related_name="+")
    scope_label = models.CharField(_("停电范围"), max_length=500, blank=True)
    starts_at = models.DateTimeField(_("停电开始"))
    ends_at = models.DateTimeField(_("预计结束"), null=True, blank=True)
    etr = models.DateTimeField(_("预计恢复送电时间"), null=True, blank=True)
    etr_reason = models.CharField(_("预计恢复时间说明"), max_length=200, blank=True)
    restored_at = models.DateTimeField(_("恢复送电时间"), null=True, blank=True)
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)
    is_late = models.BooleanField(_("未按时提前通知"), default=False)
    late_reason = models.CharField(_("延迟发布原因"), max_length=300, blank=True)
    affected_count = models.PositiveIntegerField(_("影响客户数"), default=0)
    revision = models.PositiveIntegerField(_("修订版本"), default=0)
    # Set by the repair app for fault outages built from grouped calls (e.g. "repair-group:42").
    source_ref = models.CharField(_("来源"), max_length=64, blank=True, db_index=True)
    created_at = models.DateTimeField(_("创建时间"))
    updated_at = models.DateTimeField(_("最近更新"))

    class Meta:
        verbose_name = _("停电信息")
        verbose_name_plural = _("停电信息")
        ordering = ["-starts_at", "-id"]
        indexes = [models.Index(fields=["status", "starts_at"], name="outage_status_start_idx")]

    def __str__(self) -> str:
        return self.title


class OutageCustomer(models.Model):
    """Who is affected by an outage: computed from the topology at publication, kept with the outage."""

    # Rows are written by INSERT … SELECT from the customer table for an outage made in the same transaction,
    # 100,000 at a time for a feeder: a database foreign-key check per row would prove nothing new and was half
    # the publication time on PostgreSQL. Deletes still cascade (Django does it).
    outage = models.ForeignKey(
        Outage,
        verbose_name=_("停电"),
        on_delete=models.CASCADE,
        related_name="customers",
        db_index=False,  # covered by the unique (outage, customer) index
        db_constraint=False,
    )
    customer = models.ForeignKey(
        Customer, verbose_name=_("客户"), on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    # False once a scope change took the customer out; they were told so, and the row stays as history.
    active = models.BooleanField(_("仍受影响"), default=True)
    is_caller = models.BooleanField(_("报修来电客户"), default=False)

    class Meta:
        verbose_name = _("受影响客户")
        verbose_name_plural = _("受影响客户")
        constraints = [models.UniqueConstraint(fields=["outage", "customer"], name="outage_customer_once")]

    def __str__(self) -> str:
        return f"{self.outage_id}/{self.customer_id}"


class NoticeKind(models.TextChoices):
    OUTAGE_PUBLISHED = "outage_published", _("停电通知")
    OUTAGE_CHANGED = "outage_changed", _("停电时间变更")
    OUTAGE_CANCELLED = "outage_cancelled", _("停电取消")
    OUTAGE_RELEASED = "outage_released", _("不再停电")
    OUTAGE_ETR = "outage_etr", _("预计恢复时间更新")
    OUTAGE_RESTORED = "outage_restored", _("恢复送电")
    BILL_ISSUED = "bill_issued", _("电费账单")
    PAYMENT_DUE = "payment_due", _("缴费提醒")
    LOW_BALANCE = "low_balance", _("电费余额提醒")
    ARREARS_DISCONNECT = "arrears_disconnect", _("欠费停电预告")
    RECONNECTED = "reconnected", _("缴费复电")
    ANNOUNCEMENT = "announcement", _("政策与电价公告")


def channel_field(verbose_name: Any, **kwargs: Any) -> models.CharField:  # type: ignore[type-arg]
    """A channel name: plain text in the database, checked against the channel registry when validated, so a new
    channel (one module in `notices/channels/`) needs no migration."""
    return models.CharField(verbose_name, max_length=16, validators=[validate_channel], **kwargs)


class Notice(models.Model):
    kind = models.CharField(_("通知类型"), max_length=24, choices=NoticeKind.choices)
    outage = models.ForeignKey(
        Outage, verbose_name=_("停电"), null=True, blank=True, on_delete=models.PROTECT, related_name="notices"
    )
    outage_revision = models.PositiveIntegerField(_("停电修订版本"), default=0)
    title = models.CharField(_("标题"), max_length=200)
    channels = models.JSONField(_("渠道"), default=list)
    # Frozen placeholder values (window, reason, ETR …) so a message says what was true when it was queued.
    context = models.JSONField(_("模板参数"), default=dict)
    urgent = models.BooleanField(_("紧急（不受免打扰时段限制）"), default=False)
    legally_required = models.BooleanField(_("法定通知（不受退订限制）"), default=False)
    audience_label = models.CharField(_("受众"), max_length=300, blank=True)
    recipients = models.PositiveIntegerField(_("客户数"), default=0)
    # Scheduled reminders are idempotent: one notice per kind and period ("payment_due:2026-05").
    dedupe_key = models.CharField(_("去重键"), max_length=100, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(_("创建时间"))
    created_by = models.CharField(_("创建人"), max_length=150)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title


class MessageStatus(models.TextChoices):
    QUEUED = "queued", _("排队中")
    CLAIMED = "claimed", _("已领取")
    SENDING = "sending", _("发送中")
    SENT = "sent", _("已发送")
    DELIVERED = "delivered", _("已送达")
    FAILED = "failed", _("失败")
    DEAD = "dead", _("多次失败（死信）")
    UNCERTAIN = "uncertain", _("结果不明（待核实）")
    SUPPRESSED = "suppressed", _("已退订未发送")


class Message(models.Model):
    """One customer on one channel for one notice: the unit of delivery and of the delivery log."""

    # Both FKs are covered by the composite indexes below; separate FK indexes would only slow bulk queueing.
    # Messages are queued by INSERT … SELECT from the audience for a notice made in the same transaction, so
    # the database's per-row foreign-key checks are left out (as for OutageCustomer); deletes still cascade.
    notice = models.ForeignKey(
        Notice,
        verbose_name=_("通知"),
        on_delete=models.CASCADE,
        related_name="messages",
        db_index=False,
        db_constraint=False,
    )
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("客户"),
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    channel = channel_field(_("渠道"))
    status = models.CharField(_("状态"), max_length=10, choices=MessageStatus.choices, default=MessageStatus.QUEUED)
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    # Not before: the back-off after a failure, or the end of quiet hours for non-urgent messages.
    next_attempt_at = models.DateTimeField(_("下次发送时间"))
    queued_at = models.DateTimeField(_("入队时间"))
    lease_owner = models.CharField(_("领取者"), max_length=80, blank=True)
    lease_until = models.DateTimeField(_("领取有效期"), null=True, blank=True)
    address = models.CharField(_("发送地址"), max_length=200, blank=True)
    body = models.TextField(_("发送内容"), blank=True)
    # Per-customer values (a reminder's amount and due date); outage messages take theirs from the notice.
    params = models.JSONField(_("个人参数"), null=True, blank=True)
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("送达时间"), null=True, blank=True)
    provider_ref = models.CharField(_("网关编号"), max_length=100, blank=True)
    response = models.TextField(_("网关应答"), blank=True)
    last_error = models.TextField(_("最近错误"), blank=True)

    class Meta:
        verbose_name = _("消息")
        verbose_name_plural = _("消息")
        constraints = [
            models.UniqueConstraint(fields=["notice", "customer", "channel"], name="message_once_per_channel"),
        ]
        indexes = [
            models.Index(fields=["status", "channel", "next_attempt_at"], name="message_due_idx"),
            models.Index(fields=["customer", "queued_at"], name="message_customer_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.notice_id}/{self.customer_id}/{self.channel}"

    def get_channel_display(self) -> str:
        return channel_label(self.channel)

    @property
    def idempotency_key(self) -> str:
        return f"gc-{self.notice_id}-{self.customer_id}-{self.channel}"


class DeliveryAttempt(models.Model):
    class Outcome(models.TextChoices):
        SENT = "sent", _("已发送")
        DELIVERED = "delivered", _("已送达")
        RETRY = "retry", _("稍后重试")
        FAILED = "failed", _("失败")
        DEAD = "dead", _("死信")
        UNCERTAIN = "uncertain", _("结果不明")
        REQUEUED = "requeued", _("重新排队")

    message = models.ForeignKey(Message, verbose_name=_("消息"), on_delete=models.CASCADE, related_name="log")
    at = models.DateTimeField(_("时间"))
    outcome = models.CharField(_("结果"), max_length=10, choices=Outcome.choices)
    detail = models.TextField(_("详情"), blank=True)
    worker = models.CharField(_("处理者"), max_length=80, blank=True)

    class Meta:
        verbose_name = _("发送记录")
        verbose_name_plural = _("发送记录")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.message_id} {self.outcome}"


class ChannelPreference(models.Model):
    """A customer's address for a channel (e-mail lives only here) and whether they opted out of it."""

    customer = models.ForeignKey(Customer, verbose_name=_("客户"), on_delete=models.CASCADE, related_name="+")
    channel = channel_field(_("渠道"))
    address = models.CharField(_("地址"), max_length=200, blank=True)
    opted_out = models.BooleanField(_("已退订"), default=False)
    updated_at = models.DateTimeField(_("更新时间"))

    class Meta:
        verbose_name = _("渠道偏好")
        verbose_name_plural = _("渠道偏好")
        constraints = [models.UniqueConstraint(fields=["customer", "channel"], name="preference_once")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.channel}"


class ChannelQuota(models.Model):
    """Per-channel rate limit shared by every worker: messages granted in the current minute."""

    channel = channel_field(_("渠道"), unique=True)
    window_start = models.DateTimeField(_("窗口开始"))
    used = models.PositiveIntegerField(_("已用"), default=0)

    class Meta:
        verbose_name = _("渠道限速")
        verbose_name_plural = _("渠道限速")

    def __str__(self) -> str:
        return f"{self.channel} {self.used}"


class InAppMessage(models.Model):
    """What the in-app channel delivers: shown on the customer portal and in the customer 360."""

    customer = models.ForeignKey(Customer, verbose_name=_("客户"), on_delete=models.CASCADE, related_name="+")
    message = models.OneToOneField(Message, verbose_name=_("消息"), on_delete=models.CASCADE, related_name="inapp")
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"))
    created_at = models.DateTimeField(_("时间"))
    read_at = models.DateTimeField(_("阅读时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("站内消息")
        verbose_name_plural = _("站内消息")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["customer", "created_at"], name="inapp_customer_idx")]

    def __str__(self) -> str:
        return self.title


class NoticeTemplate(models.Model):
    """An edited template; without one the built-in Chinese default for the kind and channel is used."""

    kind = models.CharField(_("通知类型"), max_length=24, choices=NoticeKind.choices)
    channel = channel_field(_("渠道"))
    subject = models.CharField(_("标题模板"), max_length=200)
    body = models.TextField(_("正文模板"))
    updated_at = models.DateTimeField(_("更新时间"))

    class Meta:
        verbose_name = _("通知模板")
        verbose_name_plural = _("通知模板")
        constraints = [models.UniqueConstraint(fields=["kind", "channel"], name="template_once")]

    def __str__(self) -> str:
        return f"{self.kind}/{self.channel}"


class FollowUpTask(models.Model):
    """A personal follow-up for the account manager of an important or sensitive customer."""

    class Status(models.TextChoices):
        OPEN = "open", _("待跟进")
        DONE = "done", _("已完成")

    notice = models.ForeignKey(Notice, verbose_name=_("通知"), on_delete=models.CASCADE, related_name="follow_ups")
    customer = models.ForeignKey(Customer, verbose_name=_("客户"), on_delete=models.CASCADE, related_name="+")
    unit = models.ForeignKey(OrgUnit, verbose_name=_("负责单位"), on_delete=models.PROTECT, related_name="+")
    assignee = models.ForeignKey(
        User, verbose_name=_("客户经理"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(_("原因"), max_length=100)
    due_at = models.DateTimeField(_("完成期限"))
    status = models.CharField(_("状态"), max_length=8, choices=Status.choices, default=Status.OPEN)
    done_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    note = models.TextField(_("跟进记录"), blank=True)

    class Meta:
        verbose_name = _("客户经理跟进任务")
        verbose_name_plural = _("客户经理跟进任务")
        ordering = ["status", "due_at"]
        constraints = [models.UniqueConstraint(fields=["notice", "customer"], name="follow_up_once")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.reason}"


class ReminderRun(models.Model):
    """High-water mark of the scheduled reminder scan: one row per day it ran, with what it covered."""

    run_date = models.DateField(_("日期"), unique=True)
    started_at = models.DateTimeField(_("开始时间"))
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    source = models.CharField(_("数据来源"), max_length=300, blank=True)
    queued = models.JSONField(_("各类提醒条数"), default=dict)

    class Meta:
        verbose_name = _("提醒扫描")
        verbose_name_plural = _("提醒扫描")

    def __str__(self) -> str:
        return str(self.run_date)
