"""`gridcare notices_portal_link ACCOUNT`: print the signed link to a customer's portal page (in-app messages)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from gridcare.customers.models import Customer
from gridcare.notices.views import portal_url


class Command(BaseCommand):
    help = "Print the signed portal link of a customer (to send by SMS or print on a bill)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("account_no")

    def handle(self, *args: Any, **options: Any) -> None:
        customer = Customer.objects.filter(account_no=options["account_no"]).first()
        if customer is None:
            raise CommandError(f"户号 {options['account_no']} 不存在")
        self.stdout.write(portal_url(customer))
