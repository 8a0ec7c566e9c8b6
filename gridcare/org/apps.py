from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrgConfig(AppConfig):
    name = "gridcare.org"
    label = "org"
    verbose_name = _("组织与用户")

    def ready(self) -> None:
        from gridcare.org import checks  # noqa: F401  (registers system checks)
