from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RepairConfig(AppConfig):
    name = "gridcare.repair"
    label = "repair"
    verbose_name = _("故障抢修")
