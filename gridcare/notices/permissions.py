"""Who may do what in the notices app (checked at the edges: API and views). The roles come from the one table,
gridcare.org.policy.POLICY; administrators pass every check."""

from __future__ import annotations

from typing import Any

from gridcare.core.errors import Forbidden
from gridcare.org.policy import POLICY
from gridcare.org.roles import Role

OUTAGE_EDITORS: set[str] = set(POLICY["outage.edit"].roles)
ANNOUNCERS: set[str] = set(POLICY["notice.announce"].roles)
# Overriding customers' opt-outs (法定通知) is narrower than announcing.
LEGAL_ANNOUNCERS: set[str] = set(POLICY["notice.legally_required"].roles)
PREFERENCE_EDITORS: set[str] = set(POLICY["notice.preferences"].roles)
# Receipts change the delivery log: only a gateway (shared secret) or an administrator's API token may post one.
RECEIPT_SENDERS: set[str] = {Role.ADMIN}
# Templates are what every customer reads.
TEMPLATE_EDITORS: set[str] = set(POLICY["notice.templates"].roles)


def may(user: Any, roles: set[str]) -> bool:
    return bool(getattr(user, "is_authenticated", False) and (user.sees_everything or user.role in roles))


def require(user: Any, roles: set[str], what: str) -> None:
    if not may(user, roles):
        raise Forbidden(f"您的角色无权{what}")
