"""The roles people have at a 95598 centre and a supply company; each decides what a user may open."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    AGENT = "agent", _("95598 客服代表")
    SHIFT_LEAD = "shift_lead", _("95598 值长")
    DISPATCHER = "dispatcher", _("抢修调度")
    CREW = "crew", _("抢修班组成员")
    DEPARTMENT = "department", _("业务部门处理人")
    QUALITY = "quality", _("服务质量监督")
    ANALYST = "analyst", _("营销分析")
    ADMIN = "admin", _("系统管理员")
    # A program, not a person: the voice response system (IVR) answering 95598 calls with its own token. It may
    # only look up a caller's known outage and record a one-line repair call (gridcare.repair.storm_api).
    IVR = "ivr", _("IVR 语音系统")
