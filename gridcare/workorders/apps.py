from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkordersConfig(AppConfig):
    name = "gridcare.workorders"
    label = "workorders"
    verbose_name = _("95598 工单")

    def ready(self) -> None:
        from gridcare.workorders import listeners, metrics  # noqa: F401  (connects the calendar receiver, declares its task)

        metrics.register()
