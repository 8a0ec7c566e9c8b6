from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NoticesConfig(AppConfig):
    name = "gridcare.notices"
    label = "notices"
    verbose_name = _("停电通知与客户触达")

    def ready(self) -> None:
        from gridcare.notices import checks, metrics  # noqa: F401  (registers system checks)

        metrics.register()
