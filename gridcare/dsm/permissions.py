"""Who may plan orderly use of power and run demand-response events (checked at the edges: API and views)."""

from __future__ import annotations

from typing import Any

from gridcare.core.errors import Forbidden
from gridcare.org.roles import Role

# Planning and dispatching curtailment: marketing analysts, dispatchers, shift leads, administrators.
PLANNERS: set[str] = {Role.ANALYST, Role.DISPATCHER, Role.SHIFT_LEAD, Role.ADMIN}
# Recording a customer's answer to an invitation (often taken on the phone) may also be done by agents.
OPT_RECORDERS: set[str] = PLANNERS | {Role.AGENT}


def may(user: Any, roles: set[str]) -> bool:
    return bool(getattr(user, "is_authenticated", False) and (user.sees_everything or user.role in roles))


def require(user: Any, roles: set[str], what: str) -> None:
    if not may(user, roles):
        raise Forbidden(f"您的角色无权{what}")
