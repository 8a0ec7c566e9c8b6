"""Who may do what to an order, and one dispatcher from an action name to its declared service function.

The API and the pages both call `perform`, so the rules are the same whichever door is used.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from gridcare.core.errors import Forbidden, ServiceError
from gridcare.org.models import OrgUnit, User
from gridcare.org.policy import authorize, may, reaches, require_role
from gridcare.workorders import services as svc
from gridcare.workorders.models import WorkOrder
from gridcare.workorders.selectors import order_get
from gridcare.workorders.states import ACTIONS, Field, OrderAction


# The actions a person may take on an order, each declared once with its states, roles and form
# (gridcare.workorders.states); their roles and reach are rows of gridcare.org.policy.
def _performable() -> dict[str, OrderAction]:
    return {name: spec for name, spec in ACTIONS.items() if spec.service}


def missing(number: str) -> str:
    """What an order that does not exist, or is out of the user's reach, is answered with: the same words."""
    return f"工单 {number} 不存在或不在您的数据范围内"


def check_allowed(user: User, order: WorkOrder, action: str) -> None:
    if action not in _performable():
        raise ServiceError(f"未知的操作 {action!r}；可选：{', '.join(sorted(_performable()))}", field="action")
    authorize(user, f"workorder.{action}", holder=order.unit, sender=order.sender_unit, missing=missing(order.number))


def may_act(user: User, order: WorkOrder, action: str) -> bool:
    """For screens: offer only the actions this user may take on this order."""
    name = f"workorder.{action}"
    return (
        action in _performable()
        and may(user, name)
        and reaches(user, name, holder=order.unit, sender=order.sender_unit)
    )


def _unit(code: Any) -> OrgUnit:
    unit = OrgUnit.objects.filter(code=str(code or ""), is_active=True).first()
    if unit is None:
        raise ServiceError(f"单位编码 {code!r} 不存在", field="unit")
    return unit


def _form(spec: OrderAction, user: User, data: dict[str, Any]) -> dict[str, Any]:
    """The service's keyword arguments from what the person filled in, by the action's declared form."""
    values: dict[str, Any] = {}
    for field in spec.form:
        raw = data.get(field.value)
        if field is Field.UNIT:
            # Optional where the service routes by itself (dispatch); required where it is the point (transfer).
            if raw or spec.name != "dispatch":
                values["unit"] = _unit(raw)
        elif field is Field.MAIN:
            values["main"] = order_get(user=user, number=str(raw or ""))
        elif field is Field.PARAMS:
            params = raw or {}
            if not isinstance(params, dict):
                raise ServiceError("params 应为对象", field="params")
            values["params"] = params
        elif field is Field.NOTE:
            values["note"] = str(raw or data.get("reason") or "")  # a note sent as "reason" is still the note
        else:
            values[field.value] = str(raw or "")
    return values


def perform(*, user: User, number: str, action: str, data: dict[str, Any], now: dt.datetime | None = None) -> WorkOrder:
    """Take `action` on order `number` as `user`: the role, then the order in reach, then the service."""
    spec = _performable().get(action)
    if spec is None:
        raise ServiceError(f"未知的操作 {action!r}；可选：{', '.join(sorted(_performable()))}", field="action")
    # The role first: a 403 says nothing about the order, so it may come before the order is looked up.
    require_role(user, f"workorder.{action}")
    order = order_get(user=user, number=number)
    check_allowed(user, order, action)
    service = getattr(svc, spec.service)
    result: WorkOrder = service(**{spec.subject: order}, **_form(spec, user, data), actor=user, now=now)
    return result


def check_visit_allowed(user: User) -> None:
    if not may(user, "workorder.visit"):
        raise Forbidden("只有 95598 客服与服务质量人员可以回访")


def check_intake_allowed(user: User) -> None:
    """Requests are taken by the people who take them (see POLICY["workorder.create"]); others refer the caller."""
    authorize(user, "workorder.create")
