"""Who may do what in the notices app (checked at the edges: API and views)."""

from __future__ import annotations

from typing import Any

from gridcare.core.errors import Forbidden
from gridcare.org.roles import Role

OUTAGE_EDITORS: set[str] = {Role.DISPATCHER, Role.SHIFT_LEAD, Role.ADMIN}
ANNOUNCERS: set[str] = {Role.SHIFT_LEAD, Role.ANALYST, Role.ADMIN}
PREFERENCE_EDITORS: set[str] = {Role.AGENT, Role.SHIFT_LEAD, Role.ADMIN}
# Receipts change the delivery log: only a gateway (shared secret) or an administrator's API token may post one.
RECEIPT_SENDERS: set[str] = {Role.ADMIN}
# Templates are what every customer reads.
TEMPLATE_EDITORS: set[str] = {Role.SHIFT_LEAD, Role.ADMIN}


def may(user: Any, roles: set[str]) -> bool:
    return bool(getattr(user, "is_authenticated", False) and (user.sees_everything or user.role in roles))


def require(user: Any, roles: set[str], what: str) -> None:
    if not may(user, roles):
        raise Forbidden(f"您的角色无权{what}")
