"""Repair resources: vehicles of the crews, each usually carrying a GPS device. The A–H flow builds on these."""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.utils.translation import gettext_lazy as _

from gridcare.gps.models import Device
from gridcare.org.models import OrgUnit


class CrewType(models.TextChoices):
    LOW_VOLTAGE = "lv", _("低压")
    MEDIUM_VOLTAGE = "mv", _("10kV")
    BOTH = "both", _("低压及10kV")


class VehicleStatus(models.TextChoices):
    IDLE = "idle", _("空闲")
    ASSIGNED = "assigned", _("已派单")
    EN_ROUTE = "en_route", _("在途")
    ON_SITE = "on_site", _("现场")
    OFF_DUTY = "off_duty", _("下班")


class Vehicle(models.Model):
    plate = models.CharField(_("车牌"), max_length=16, unique=True)
    crew = models.ForeignKey(OrgUnit, verbose_name=_("所属班组"), on_delete=models.PROTECT, related_name="vehicles")
    # The tracker belongs to the GPS app (which stores its fixes); the vehicle only says which one it carries.
    # None: no tracker, the vehicle is ranked from its home position. Deleting a device keeps the vehicle.
    device = models.OneToOneField(
        Device,
        verbose_name=_("GPS 设备"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="vehicle",
    )
    crew_type = models.CharField(_("抢修类型"), max_length=8, choices=CrewType.choices, default=CrewType.BOTH)
    off_duty = models.BooleanField(_("下班"), default=False)
    status = models.CharField(_("状态"), max_length=10, choices=VehicleStatus.choices, default=VehicleStatus.IDLE)
    # Where the vehicle is normally parked; the latest GPS fix replaces it once positions arrive.
    home_lat = models.FloatField(_("驻点纬度"))
    home_lon = models.FloatField(_("驻点经度"))

    class Meta:
        verbose_name = _("抢修车辆")
        verbose_name_plural = _("抢修车辆")
        ordering = ["plate"]

    def __str__(self) -> str:
        return self.plate


class Party(models.TextChoices):
    CENTER_95598 = "center_95598", _("95598 中心")
    NETWORK = "network", _("网络传输")
    REPAIR_CENTER = "repair_center", _("报修中心")
    CREW_MEMBER = "crew_member", _("接单人员")
    CREW = "crew", _("抢修班组")


class SegmentTarget(models.Model):
    """One of the seven segments A→H with its target and the party responsible for it (data, editable)."""

    code = models.CharField(_("环节"), max_length=2, unique=True)
    name = models.CharField(_("名称"), max_length=50)
    minutes = models.FloatField(_("时限(分钟)"))
    minutes_other_site = models.FloatField(_("异地时限(分钟)"), null=True, blank=True)
    party = models.CharField(_("责任方"), max_length=16, choices=Party.choices)

    class Meta:
        verbose_name = _("抢修环节时限")
        verbose_name_plural = _("抢修环节时限")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name} ≤ {self.minutes:g} 分钟"


class AreaTarget(models.Model):
    """Published commitments by area: crew on site after the call, power back after arrival."""

    area_class = models.CharField(_("城乡类别"), max_length=10, unique=True)
    arrive_minutes = models.PositiveIntegerField(_("到达现场时限(分钟)"))
    restore_minutes = models.PositiveIntegerField(_("到达后恢复送电时限(分钟)"))
    accept_minutes = models.PositiveIntegerField(_("接单超时提醒(分钟)"), default=4)
    escalate_every_minutes = models.PositiveIntegerField(_("逐级提醒间隔(分钟)"), default=2)

    class Meta:
        verbose_name = _("抢修承诺时限")
        verbose_name_plural = _("抢修承诺时限")

    def __str__(self) -> str:
        return f"{self.area_class}: {self.arrive_minutes} 分钟到达"


class OutageLevel(models.TextChoices):
    SERVICE_POINT = "service_point", _("单户故障")
    TRANSFORMER_AREA = "transformer_area", _("台区故障")
    DEVICE = "device", _("设备故障")  # a fuse, sectionaliser, recloser or switch below the feeder's outlet
    FEEDER = "feeder", _("线路故障")  # the feeder's outlet breaker (or the feeder, where no devices are entered)


class OutageState(models.TextChoices):
    OPEN = "open", _("研判中")
    ASSIGNED = "assigned", _("已派车")
    RESTORED = "restored", _("已复电")
    MERGED = "merged", _("已合并")
    CANCELLED = "cancelled", _("已撤销")  # its only call was cancelled or answered without a repair


class ProbableOutage(models.Model):
    """故障研判: the calls that belong to one fault; one crew goes to it, not one per call."""

    level = models.CharField(_("研判层级"), max_length=16, choices=OutageLevel.choices)
    transformer_area = models.ForeignKey(
        "grid.TransformerArea",
        verbose_name=_("台区"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    feeder = models.ForeignKey(
        "grid.Feeder", verbose_name=_("线路"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The predicted faulted device (levels device and feeder; empty for a feeder with no devices entered).
    device = models.ForeignKey(
        "grid.GridDevice",
        verbose_name=_("研判设备"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # A dispatcher confirmed (or moved) the prediction by hand: evidence no longer moves it up or down.
    confirmed = models.BooleanField(_("已人工确认"), default=False)
    state = models.CharField(_("状态"), max_length=10, choices=OutageState.choices, default=OutageState.OPEN)
    first_call_at = models.DateTimeField(_("首次来电"))
    last_call_at = models.DateTimeField(_("最近来电"), db_index=True)
    call_count = models.PositiveIntegerField(_("来电数"), default=0)
    cause = models.CharField(_("原因"), max_length=200, blank=True)
    # ETR: None means "not yet assessed", which callers are told as such.
    etr = models.DateTimeField(_("预计恢复时间"), null=True, blank=True)
    etr_updated_at = models.DateTimeField(_("预计时间更新于"), null=True, blank=True)
    etr_reason = models.CharField(_("预计时间变更原因"), max_length=200, blank=True)
    merged_into = models.ForeignKey(
        "self", verbose_name=_("并入"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    notice_outage_id = models.BigIntegerField(_("停电信息编号"), null=True, blank=True)
    restored_at = models.DateTimeField(_("复电时间"), null=True, blank=True)
    reopened_from = models.ForeignKey(
        "self", verbose_name=_("复查自"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("故障研判")
        verbose_name_plural = _("故障研判")
        ordering = ["-last_call_at"]
        indexes = [
            models.Index(fields=["state", "transformer_area"], name="outage_state_area_idx"),
            models.Index(fields=["state", "feeder"], name="outage_state_feeder_idx"),
        ]

    def __str__(self) -> str:
        where = self.feeder or self.transformer_area or "—"
        return f"{self.get_level_display()} {where} ({self.call_count} 个来电)"


class MeterEvidence(models.Model):
    """A meter's power-off event (last gasp 停电事件 or voltage loss 失压) as outage evidence: the AMI app keeps the
    raw events; this row says which probable outage the event is explained by, and when the meter said it was
    back (its restored event), which is how a restoration is checked and a nested outage found."""

    event_id = models.CharField(_("事件编号"), max_length=64, unique=True)
    meter_no = models.CharField(_("电表资产号"), max_length=32, db_index=True)
    service_point = models.ForeignKey(
        "grid.ServicePoint", verbose_name=_("计量点"), on_delete=models.PROTECT, related_name="+"
    )
    transformer_area = models.ForeignKey(
        "grid.TransformerArea", verbose_name=_("台区"), on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(_("停电时间"))
    outage = models.ForeignKey(
        ProbableOutage,
        verbose_name=_("故障研判"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="meter_evidence",
    )
    restored_at = models.DateTimeField(_("电表复电时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("电表停电事件")
        verbose_name_plural = _("电表停电事件")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.meter_no} {self.at:%Y-%m-%d %H:%M}"


class TicketState(models.TextChoices):
    NEW = "new", _("待派发")
    SENT = "sent", _("已派至报修中心")
    RECEIVED = "received", _("报修中心已接收")
    DISPATCHED = "dispatched", _("已派车")
    ON_DEVICE = "on_device", _("班组已收到")
    ACCEPTED = "accepted", _("已接单")
    DEPARTED = "departed", _("已出发")
    ARRIVED = "arrived", _("已到达")
    REPAIRED = "repaired", _("已修复")
    RESTORED = "restored", _("已复电")
    CHILD = "child", _("并入主单")
    CANCELLED = "cancelled", _("已撤销")


class RepairTicket(models.Model):
    """The repair side of a 故障报修 work order: its network place, its outage, and the stamped A–H points."""

    workorder = models.OneToOneField(
        "workorders.WorkOrder", verbose_name=_("工单"), on_delete=models.CASCADE, related_name="repair"
    )
    outage = models.ForeignKey(
        ProbableOutage,
        verbose_name=_("故障研判"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tickets",
    )
    is_main = models.BooleanField(_("主单"), default=False)
    state = models.CharField(_("状态"), max_length=12, choices=TicketState.choices, default=TicketState.NEW)
    area_class = models.CharField(_("城乡类别"), max_length=10, default="urban")
    transformer_area = models.ForeignKey(
        "grid.TransformerArea",
        verbose_name=_("台区"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    feeder = models.ForeignKey(
        "grid.Feeder", verbose_name=_("线路"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    lon = models.FloatField(_("经度"), null=True, blank=True)
    need = models.CharField(_("所需抢修类型"), max_length=8, choices=CrewType.choices, default=CrewType.LOW_VOLTAGE)
    repair_center = models.ForeignKey(
        OrgUnit, verbose_name=_("报修中心"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    crew = models.ForeignKey(
        OrgUnit, verbose_name=_("抢修班组"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    vehicle = models.ForeignKey(
        Vehicle, verbose_name=_("抢修车辆"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # A–H, stamped by the services from real events; the persons are who held each point.
    a_at = models.DateTimeField("A 挂机", null=True, blank=True)
    b_at = models.DateTimeField("B 值长派发", null=True, blank=True)
    c_at = models.DateTimeField("C 报修中心接收", null=True, blank=True)
    d_at = models.DateTimeField("D 报修中心派车", null=True, blank=True)
    e_at = models.DateTimeField("E 班组终端接收", null=True, blank=True)
    f_at = models.DateTimeField("F 班组接单", null=True, blank=True)
    g_at = models.DateTimeField("G 出发", null=True, blank=True)
    h_at = models.DateTimeField("H 到达", null=True, blank=True)
    repaired_at = models.DateTimeField(_("修复时间"), null=True, blank=True)
    restored_at = models.DateTimeField(_("复电时间"), null=True, blank=True)
    b_by = models.CharField(_("派发人"), max_length=150, blank=True)
    d_by = models.CharField(_("派车人"), max_length=150, blank=True)
    f_by = models.CharField(_("接单人"), max_length=150, blank=True)
    # Acceptance watch: the worker alerts the sender when the receiver has not acted in time.
    waiting_on = models.CharField(_("等待"), max_length=16, blank=True)  # "repair_center" | "crew" | ""
    alert_level = models.PositiveSmallIntegerField(_("提醒级别"), default=0)
    next_check_at = models.DateTimeField(_("下次检查"), null=True, blank=True, db_index=True)
    # Fault record written back by the crew.
    fault_class = models.CharField(_("故障大类"), max_length=50, blank=True)
    cause_class = models.CharField(_("原因分类"), max_length=50, blank=True)
    equipment = models.CharField(_("故障设备"), max_length=100, blank=True)
    ownership = models.CharField(
        _("设备产权"), max_length=10, blank=True, choices=[("utility", _("供电公司")), ("customer", _("客户"))]
    )
    fault_notes = models.TextField(_("故障记录"), blank=True)
    version = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("抢修单")
        verbose_name_plural = _("抢修单")
        ordering = ["-a_at"]

    def __str__(self) -> str:
        return f"抢修 {self.workorder}"

    def points(self) -> dict[str, dt.datetime | None]:
        return {p: getattr(self, f"{p.lower()}_at") for p in "ABCDEFGH"}


class AssignmentState(models.TextChoices):
    QUEUED = "queued", _("排队中")
    RECEIVED = "received", _("终端已接收")
    ACCEPTED = "accepted", _("已接单")
    DECLINED = "declined", _("已拒单")
    RECALLED = "recalled", _("已撤回")
    DONE = "done", _("已完成")


class VehicleAssignment(models.Model):
    """An order in a vehicle's queue; a vehicle holds several, in the order the dispatcher sets."""

    vehicle = models.ForeignKey(Vehicle, verbose_name=_("车辆"), on_delete=models.PROTECT, related_name="assignments")
    ticket = models.ForeignKey(
        RepairTicket, verbose_name=_("抢修单"), on_delete=models.CASCADE, related_name="assignments"
    )
    position = models.PositiveIntegerField(_("顺序"), default=0)
    state = models.CharField(_("状态"), max_length=10, choices=AssignmentState.choices, default=AssignmentState.QUEUED)
    sent_at = models.DateTimeField(_("派车时间"))
    received_at = models.DateTimeField(_("接收时间"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("接单时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    reason = models.CharField(_("原因"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("车辆任务")
        verbose_name_plural = _("车辆任务")
        ordering = ["vehicle", "position", "id"]
        indexes = [models.Index(fields=["vehicle", "state"], name="assignment_vehicle_state_idx")]

    def __str__(self) -> str:
        return f"{self.vehicle} #{self.position} {self.ticket}"


class StormMode(models.Model):
    """暴雨模式: one row for the 95598 centre. On while repair calls per 10 minutes are past the threshold (the
    worker switches it, see repair.stormrule) or while a shift lead says so; known-outage callers are then answered
    first and recorded in one line. Every switch is an audit event (storm.on / storm.off): the periods are read
    from those."""

    on = models.BooleanField(_("暴雨模式"), default=False)
    since = models.DateTimeField(_("切换时间"), null=True, blank=True)
    automatic = models.BooleanField(_("自动切换"), default=False)
    switched_by = models.ForeignKey(
        "org.User", verbose_name=_("切换人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(_("原因"), max_length=200, blank=True)
    # The worker's last look at the call rate, and its claim on the next one (once a minute, whoever runs it).
    calls_per_10min = models.PositiveIntegerField(_("近10分钟报修来电"), default=0)
    evaluated_at = models.DateTimeField(_("最近评估"), null=True, blank=True)
    next_evaluation_at = models.DateTimeField(_("下次评估"), null=True, blank=True)

    class Meta:
        verbose_name = _("暴雨模式")
        verbose_name_plural = _("暴雨模式")

    def __str__(self) -> str:
        return "暴雨模式：开" if self.on else "暴雨模式：关"


class EtrSource(models.TextChoices):
    ESTIMATE = "estimate", _("按历史估计")
    MANUAL = "manual", _("调度员给出")


class OutageEtr(models.Model):
    """Where a probable outage's ETR (`ProbableOutage.etr`) comes from: an estimate from past outages with its 80 %
    interval and what it rests on, or a dispatcher's own time, which wins over estimates from then on. Also keeps
    what the estimate was made from, so a change (the crew arrives, the level moves) is seen and re-estimated."""

    outage = models.OneToOneField(
        ProbableOutage, verbose_name=_("故障研判"), on_delete=models.CASCADE, related_name="etr_detail"
    )
    source = models.CharField(_("来源"), max_length=10, choices=EtrSource.choices, default=EtrSource.ESTIMATE)
    low = models.DateTimeField(_("80%区间下限"), null=True, blank=True)
    high = models.DateTimeField(_("80%区间上限"), null=True, blank=True)
    samples = models.PositiveIntegerField(_("依据故障数"), default=0)
    basis = models.CharField(_("依据"), max_length=120, blank=True)  # the history cell used, in words
    phase = models.CharField(_("估计时所处阶段"), max_length=10, blank=True)  # etr.OPEN / ASSIGNED / ON_SITE
    kind = models.CharField(_("估计时故障类型"), max_length=24, blank=True)  # the level or the device kind
    area_class = models.CharField(_("城乡类别"), max_length=10, blank=True)
    # Idle vehicles of the repair centre when the outage was first estimated: a feature of this outage once it
    # is history (kept as it was, not recounted).
    crews_idle = models.PositiveIntegerField(_("空闲车辆数"), null=True, blank=True)
    estimated_at = models.DateTimeField(_("估计时间"))
    reason = models.CharField(_("原因"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("预计恢复时间依据")
        verbose_name_plural = _("预计恢复时间依据")

    def __str__(self) -> str:
        return f"{self.outage_id}: {self.get_source_display()}"
