"""Who may plan orderly use of power and run demand-response events (checked at the edges: API and views)."""

from __future__ import annotations

from typing import Any

from gridcare.core.errors import Forbidden
from gridcare.org.policy import POLICY

# Planning and dispatching curtailment: marketing analysts, dispatchers, shift leads (administrators pass all).
PLANNERS: set[str] = set(POLICY["dsm.plan"].roles)
# Recording a customer's answer to an invitation (often taken on the phone) may also be done by agents.
OPT_RECORDERS: set[str] = set(POLICY["dsm.opt"].roles)


def may(user: Any, roles: set[str]) -> bool:
    return bool(getattr(user, "is_authenticated", False) and (user.sees_everything or user.role in roles))


def require(user: Any, roles: set[str], what: str) -> None:
    if not may(user, roles):
        raise Forbidden(f"您的角色无权{what}")
