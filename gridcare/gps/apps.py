from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GpsConfig(AppConfig):
    name = "gridcare.gps"
    label = "gps"
    verbose_name = _("车辆定位")

    def ready(self) -> None:
        from gridcare.gps import checks  # noqa: F401  (registers system checks)
