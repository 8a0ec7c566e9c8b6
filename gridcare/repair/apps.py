from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RepairConfig(AppConfig):
    name = "gridcare.repair"
    label = "repair"
    verbose_name = _("故障抢修")

    def ready(self) -> None:
        # Repair hangs its ticket and A–H flow off 故障报修 orders through the work-order kind registry: work
        # orders call these hooks and never import repair (docs/architecture.md, "a new work-order kind").
        from gridcare.ami import consumers as meter_consumers
        from gridcare.repair import checks  # noqa: F401  (registers system checks)
        from gridcare.repair.orders import RepairOrders
        from gridcare.repair.selectors import known_fault_for_caller
        from gridcare.repair.services.meters import consume as consume_meter_events
        from gridcare.workorders.kinds import register
        from gridcare.workorders.models import CategoryKind
        from gridcare.workorders.selectors import register_outage_source

        register(CategoryKind.REPAIR, RepairOrders())
        # Smart-meter power-off and restored events are outage evidence (services.meters; docs/repair.md).
        meter_consumers.register(consume_meter_events)
        # Intake tells a caller of the fault already being analysed around them (known_outages).
        register_outage_source(known_fault_for_caller)
