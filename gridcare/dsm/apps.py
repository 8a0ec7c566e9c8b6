from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DsmConfig(AppConfig):
    name = "gridcare.dsm"
    label = "dsm"
    verbose_name = _("需求侧管理")
