from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AmiAppConfig(AppConfig):
    name = "gridcare.ami"
    label = "ami"
    verbose_name = _("用电信息采集")

    def ready(self) -> None:
        # System checks, and the ingest's row of the authorization table (org.policy.POLICY).
        from gridcare.ami import checks, permissions  # noqa: F401
