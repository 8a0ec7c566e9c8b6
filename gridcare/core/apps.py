from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "gridcare.core"
    label = "core"
    verbose_name = _("审计与公共")

    def ready(self) -> None:
        from gridcare.core import checks  # noqa: F401  (registers system checks)
