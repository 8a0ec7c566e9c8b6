"""`gridcare demo-logins`: print the demo users, their password, role and unit."""

from __future__ import annotations

import unicodedata
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError

from gridcare.demo.spec import USERS, demo_logins
from gridcare.org.models import User


def _width(text: str) -> int:
    """Columns a string takes in a terminal: Chinese characters are two wide."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def login_table(rows: list[tuple[str, str, str, str]]) -> str:
    header = ("username", "password", "role", "unit")
    widths = [max(_width(r[i]) for r in [header, *rows]) for i in range(4)]
    lines = [
        "  ".join(_pad(cell, w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, tuple("-" * w for w in widths), *rows]
    ]
    return "\n".join(lines)


class Command(BaseCommand):
    help = "List the demo city's logins (username, password, role, unit)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="the address to show")

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"GridCare is at {options['url']} — demo logins:")
        self.stdout.write(login_table(demo_logins()))
        try:
            present = User.objects.filter(username__in=[u.username for u in USERS]).count()
        except DatabaseError:  # not migrated yet: the list is still worth printing
            present = 0
        if present < len(USERS):
            self.stderr.write("Note: the demo users are not (all) in this database yet; run `gridcare demo` first.")
