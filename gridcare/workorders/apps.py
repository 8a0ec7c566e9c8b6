from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkordersConfig(AppConfig):
    name = "gridcare.workorders"
    label = "workorders"
    verbose_name = _("95598 工单")

    def ready(self) -> None:
        # The work-order actions declare their rows of the authorization table (gridcare.org.policy) as they are
        # declared: load them before the first request asks the table.
        from gridcare.workorders import listeners, metrics, states  # noqa: F401  (also connects the calendar receiver)

        metrics.register()
