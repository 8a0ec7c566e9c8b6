"""Who may do what to an order, and one dispatcher from an action name to its service function.

The API and the pages both call `perform`, so the rules are the same whichever door is used.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from gridcare.core.errors import Forbidden, ServiceError
from gridcare.org.models import OrgUnit, User
from gridcare.org.policy import POLICY, authorize, may, reaches, require_role
from gridcare.workorders import services as svc
from gridcare.workorders.models import WorkOrder
from gridcare.workorders.selectors import order_get

# Which role may take which action, and which unit must hold the order: gridcare.org.policy, one table for
# every app. The keys here are the actions `perform` knows.
ROLES: dict[str, set[str]] = {
    name.split(".", 1)[1]: set(rule.roles)
    for name, rule in POLICY.items()
    if name.startswith("workorder.") and name not in ("workorder.create", "workorder.visit")
}


def missing(number: str) -> str:
    """What an order that does not exist, or is out of the user's reach, is answered with: the same words."""
    return f"工单 {number} 不存在或不在您的数据范围内"


def check_allowed(user: User, order: WorkOrder, action: str) -> None:
    if action not in ROLES:
        raise ServiceError(f"未知的操作 {action!r}；可选：{', '.join(sorted(ROLES))}", field="action")
    authorize(user, f"workorder.{action}", holder=order.unit, sender=order.sender_unit, missing=missing(order.number))


def may_act(user: User, order: WorkOrder, action: str) -> bool:
    """For screens: offer only the actions this user may take on this order."""
    name = f"workorder.{action}"
    return action in ROLES and may(user, name) and reaches(user, name, holder=order.unit, sender=order.sender_unit)


def _unit(code: Any) -> OrgUnit:
    unit = OrgUnit.objects.filter(code=str(code or ""), is_active=True).first()
    if unit is None:
        raise ServiceError(f"单位编码 {code!r} 不存在", field="unit")
    return unit


def perform(*, user: User, number: str, action: str, data: dict[str, Any], now: dt.datetime | None = None) -> WorkOrder:
    if action in ROLES:
        # The role first: a 403 says nothing about the order, so it may come before the order is looked up.
        require_role(user, f"workorder.{action}")
    order = order_get(user=user, number=number)
    check_allowed(user, order, action)
    reason = str(data.get("reason") or "")
    note = str(data.get("note") or "")
    common: dict[str, Any] = {"actor": user, "now": now}
    if action == "dispatch":
        return svc.workorder_dispatch(order=order, unit=_unit(data["unit"]) if data.get("unit") else None, **common)
    if action == "transfer":
        return svc.workorder_transfer(order=order, unit=_unit(data.get("unit")), reason=reason, **common)
    if action == "recall":
        return svc.workorder_recall(order=order, reason=reason, **common)
    if action == "return":
        return svc.workorder_return(order=order, reason=reason, **common)
    if action == "take":
        return svc.workorder_take(order=order, **common)
    if action == "start":
        return svc.workorder_start(order=order, **common)
    if action == "contact":
        return svc.workorder_contact(order=order, note=note, **common)
    if action == "complete_step":
        params = data.get("params") or {}
        if not isinstance(params, dict):
            raise ServiceError("params 应为对象", field="params")
        return svc.workorder_complete_step(order=order, note=note, params=params, **common)
    if action == "reply":
        return svc.workorder_reply(order=order, text=str(data.get("text") or ""), **common)
    if action == "archive":
        return svc.workorder_archive(order=order, **common)
    if action == "suspend":
        return svc.workorder_suspend(order=order, reason=reason, **common)
    if action == "resume":
        return svc.workorder_resume(order=order, **common)
    if action == "cancel":
        return svc.workorder_cancel(order=order, reason=reason, **common)
    if action == "merge":
        main = order_get(user=user, number=str(data.get("main") or ""))
        return svc.workorder_merge(child=order, main=main, reason=reason, **common)
    if action == "unmerge":
        return svc.workorder_unmerge(child=order, reason=reason, **common)
    if action == "supervise":
        return svc.workorder_supervise(order=order, note=note or reason, **common)
    raise ServiceError(f"未知的操作 {action!r}", field="action")


def check_visit_allowed(user: User) -> None:
    if not may(user, "workorder.visit"):
        raise Forbidden("只有 95598 客服与服务质量人员可以回访")


def check_intake_allowed(user: User) -> None:
    """Requests are taken by the people who take them (see POLICY["workorder.create"]); others refer the caller."""
    authorize(user, "workorder.create")
