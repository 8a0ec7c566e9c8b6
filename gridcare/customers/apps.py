from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "gridcare.customers"
    label = "customers"
    verbose_name = _("客户台账")

    def ready(self) -> None:
        # The grid app's feeder page shows how many customers a feeder serves; grid sits below customers and
        # asks through this hook instead of importing the ledger.
        from gridcare.customers.selectors import feeder_customer_count
        from gridcare.grid.selectors import register_feeder_customer_counter

        register_feeder_customer_counter(feeder_customer_count)
