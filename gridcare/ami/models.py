"""Smart-meter events (用电信息采集): a meter's own report that it lost supply, got it back, or lost voltage.

Each row is one event as the meter head-end (采集主站) forwarded it, keyed by the head-end's event id so that a
resent batch stores nothing twice. The row is also the queue of its delivery: `processed_at` stays empty until
every registered consumer (`gridcare.ami.consumers`: the repair app's outage evidence) has handled the event.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class EventKind(models.TextChoices):
    LAST_GASP = "last_gasp", _("停电事件")
    RESTORED = "restored", _("复电事件")
    VOLTAGE_LOSS = "voltage_loss", _("失压")


class Channel(models.TextChoices):
    HTTP = "http", _("HTTP 接口")
    MQTT = "mqtt", _("MQTT")
    # The simulator without --url, scripts and tests: straight into the ingest service.
    DIRECT = "direct", _("直接写入")


class MeterEvent(models.Model):
    """One meter event. Only events of meters in the ledger are stored: an event that cannot be placed at a
    台区 is no evidence of anything (it is counted, logged and reported back to the sender instead)."""

    event_id = models.CharField(_("事件编号"), max_length=64, unique=True, help_text=_("采集主站的事件编号（幂等键）"))
    meter_no = models.CharField(_("电表资产号"), max_length=32)
    # Null only when the service point was deleted after the event arrived: the event keeps its meter number.
    service_point = models.ForeignKey(
        "grid.ServicePoint",
        verbose_name=_("计量点"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    kind = models.CharField(_("事件类型"), max_length=16, choices=EventKind.choices)
    at = models.DateTimeField(_("发生时间"), help_text=_("电表记录的时间"))
    received_at = models.DateTimeField(_("接收时间"))
    channel = models.CharField(_("接收渠道"), max_length=8, choices=Channel.choices)
    processed_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    # Delivery lease: whoever set it (the ingest that stored the event, or the worker that claimed it) delivers
    # the event until then; after it a worker may claim the event again. Also the back-off after a failure.
    claimed_until = models.DateTimeField(_("处理租约到期"), null=True, blank=True)
    failures = models.PositiveSmallIntegerField(_("处理失败次数"), default=0)

    class Meta:
        verbose_name = _("电表事件")
        verbose_name_plural = _("电表事件")
        ordering = ["-at", "-id"]
        indexes = [
            # The latest event of each meter (the simulated ping, a meter's history).
            models.Index(fields=["meter_no", "-at"], name="ami_event_meter_latest"),
            # The worker's retry pass reads only the few events not yet processed.
            models.Index(fields=["at"], condition=Q(processed_at__isnull=True), name="ami_event_unprocessed"),
        ]

    def __str__(self) -> str:
        return f"{self.meter_no} {self.get_kind_display()} {self.at:%Y-%m-%d %H:%M:%S}"
