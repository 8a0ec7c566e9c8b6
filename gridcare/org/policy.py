"""Who may do what, in one table: every state-changing action names the roles that may take it and which
object the user's own unit must hold for it.

Two questions are asked of every action, in this order (`authorize`):
1. the role: may this kind of person take the action at all? No → 403, which says nothing about the object;
2. the object: does the user's own unit (or a unit under it) hold it (`Reach.HOLDER`), or did it send it
   (`Reach.SENDER`), or is it only within their data scope (`Reach.SCOPE`)? No → the same 404 as for an object
   that does not exist, so another unit's objects cannot be told from missing ones.
Administrators pass both. Roles listed in `anywhere` pass the second within their data scope: shift leads run the
whole floor of the 95598 centre, so they may dispatch, recall or cancel an order wherever it is held.

Data scope (what a user may *read*) is wider than holding: a department's scope is the whole company, so its
people can read another department's complaint, but only the department that holds it may take or answer it.
The table is walked by tests/test_authorization_matrix.py for every role and endpoint; docs/security.md shows it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from gridcare.core.errors import Forbidden, NotFound
from gridcare.org.roles import Role


class Reach(enum.Enum):
    SCOPE = "scope"  # the object is in the user's data scope (the selector already checked it)
    HOLDER = "holder"  # the user's own unit, or one under it, holds the object now
    SENDER = "sender"  # the user's own unit sent it (or holds it)
    NONE = "none"  # no object: the role alone decides (creating something new)


@dataclass(frozen=True)
class Rule:
    roles: frozenset[str]
    reach: Reach
    anywhere: frozenset[str] = frozenset()  # roles that pass the object check anywhere in their scope
    label: str = ""


A, SL, DI, CR, DE, QA, AN = (
    Role.AGENT,
    Role.SHIFT_LEAD,
    Role.DISPATCHER,
    Role.CREW,
    Role.DEPARTMENT,
    Role.QUALITY,
    Role.ANALYST,
)


def _r(roles: Iterable[str], reach: Reach, label: str, anywhere: Iterable[str] = ()) -> Rule:
    return Rule(frozenset(str(r) for r in roles), reach, frozenset(str(r) for r in anywhere), label)


# The people who take customers' requests: the 95598 agents and their shift lead. Partner systems (IVR, web,
# app) call the intake API with a token of an agent-role account.
INTAKE = {A, SL}
FRONT = {A, SL}
# The units that work orders are sent to: back-office departments and repair centres (dispatchers). Crew members
# work a repair through their vehicle's jobs, never through the order itself.
HANDLERS = {DE, DI, SL}

POLICY: dict[str, Rule] = {
    # 95598 work orders: intake and return visits here; each action on an order declares its own row next to its
    # states and form (gridcare.workorders.states), which adds it to this table at startup.
    "workorder.create": _r(INTAKE, Reach.NONE, "受理工单"),
    "workorder.visit": _r({A, SL, QA}, Reach.SCOPE, "回访"),
    # Customers (gridcare.customers.api): the people on the phone record a new contact number the caller gives.
    "customer.contact": _r(FRONT, Reach.SCOPE, "登记客户联系人"),
    # Fault repair (gridcare.repair.api): the repair centre that holds the ticket dispatches it.
    "repair.ack": _r({DI, SL}, Reach.HOLDER, "确认接收", anywhere={SL}),
    "repair.assign": _r({DI, SL}, Reach.HOLDER, "派车", anywhere={SL}),
    "repair.recall": _r({DI, SL}, Reach.HOLDER, "撤回车辆任务", anywhere={SL}),
    "repair.queue": _r({DI, SL}, Reach.HOLDER, "调整车辆任务顺序", anywhere={SL}),
    "repair.duty": _r({DI, SL}, Reach.HOLDER, "设置车辆上下班", anywhere={SL}),
    "repair.crew": _r({CR, DI}, Reach.HOLDER, "班组操作"),
    "repair.etr": _r({DI, SL}, Reach.HOLDER, "更新预计恢复时间", anywhere={SL}),
    "repair.predict": _r({DI, SL}, Reach.HOLDER, "确认、改判或拆分故障研判", anywhere={SL}),
    # Switching (倒闸操作, gridcare.grid.api): the dispatchers and shift leads of the unit that holds the feeder.
    # Nobody else's feeders, not even a 95598 shift lead's: operating another unit's network is not a floor call.
    "grid.switch": _r({DI, SL}, Reach.HOLDER, "断开或合上线路设备（倒闸操作）"),
    # Storm mode (gridcare.repair.storm_api): the shift lead runs the floor and switches it; in it, a caller of a
    # known outage is recorded in one line by the people on the phone or by the IVR system's own account.
    "repair.storm": _r({SL}, Reach.NONE, "切换暴雨模式"),
    "repair.quick_call": _r({Role.IVR, A, SL}, Reach.SCOPE, "一键报修（并入已知故障）"),
    # Outage notices (gridcare.notices.api): the unit responsible for the outage edits it.
    "outage.create": _r({DI, SL}, Reach.NONE, "新建停电信息"),
    "outage.edit": _r({DI, SL}, Reach.HOLDER, "修改、发布或取消停电信息", anywhere={SL}),
    "notice.announce": _r({SL, AN}, Reach.NONE, "发布公告"),
    # Overriding customers' opt-outs is a legal matter: the shift lead answers for it, not the analyst.
    "notice.legally_required": _r({SL}, Reach.NONE, "发布必须送达（忽略退订）的公告"),
    "notice.preferences": _r({A, SL}, Reach.SCOPE, "修改客户通知偏好"),
    "notice.templates": _r({SL}, Reach.NONE, "修改通知模板"),
    # A follow-up task goes to the customer's account manager by name, or to the supply unit's queue; the named
    # person, or the people of the holding unit for a queued one, complete it whatever their role
    # (gridcare.notices.selectors.follow_up_get checks that first); otherwise a shift lead.
    "notice.follow_up": _r({SL}, Reach.HOLDER, "完成客户经理跟进任务", anywhere={SL}),
    # Orderly use of power and demand response (gridcare.dsm)
    "dsm.plan": _r({AN, DI, SL}, Reach.NONE, "编制有序用电方案"),
    "dsm.event": _r({AN, DI, SL}, Reach.SCOPE, "执行需求响应事件"),
    "dsm.opt": _r({AN, DI, SL, A}, Reach.SCOPE, "登记客户响应"),
    # Tags (gridcare.tags): analysts write the rules that run over the whole ledger.
    "tags.edit": _r({AN}, Reach.NONE, "修改标签体系"),
    "tags.run": _r({AN}, Reach.NONE, "运行标签计算"),
    "segments.save": _r({AN, SL}, Reach.NONE, "保存客户群"),
}


def declare_rule(
    action: str, *, roles: Iterable[str], reach: Reach, anywhere: Iterable[str] = (), label: str = ""
) -> Rule:
    """Add an app's action to the table (work-order actions are declared with their states and form). An action
    is declared once: a second, different rule for one name is a programming error, never a silent override."""
    rule = _r(roles, reach, label, anywhere)
    if action in POLICY and POLICY[action] != rule:
        raise RuntimeError(f"authorization rule {action!r} declared twice with different rules")
    POLICY[action] = rule
    return rule


def _path(unit: Any) -> str | None:
    return getattr(unit, "path", None) if unit is not None else None


def holds(user: Any, unit: Any) -> bool:
    """The user's own unit, or a unit under it, is `unit`. An order not yet routed anywhere (no unit) is held by
    the 95598 centre, whose people are the front office."""
    if getattr(user, "sees_everything", False):
        return True
    if unit is None:
        return getattr(user, "role", None) in FRONT
    own = _path(getattr(user, "unit", None))
    path = _path(unit)
    return bool(own and path and path.startswith(own))


def may(user: Any, action: str) -> bool:
    """The role part alone (menus, buttons)."""
    if not getattr(user, "is_authenticated", False):
        return False
    return bool(user.sees_everything or user.role in POLICY[action].roles)


def reaches(user: Any, action: str, *, holder: Any = None, sender: Any = None) -> bool:
    """The object part: does the user reach this object for this action (see Reach)?"""
    rule = POLICY[action]
    if getattr(user, "sees_everything", False) or rule.reach in (Reach.SCOPE, Reach.NONE):
        return True
    if user.role in rule.anywhere:
        return True
    if rule.reach is Reach.SENDER:
        return holds(user, holder) or (sender is not None and holds(user, sender))
    return holds(user, holder)


def require_role(user: Any, action: str) -> None:
    """The first question alone, asked before the object is even looked up: 403 for a role that may not act."""
    if not may(user, action):
        role = user.get_role_display() if hasattr(user, "get_role_display") else "未登录用户"
        raise Forbidden(f"「{role}」不能{POLICY[action].label}")


def authorize(user: Any, action: str, *, holder: Any = None, sender: Any = None, missing: str = "") -> None:
    """Raise 403 when the role may not take `action`, and the `missing` 404 when the user's unit does not hold
    the object: exactly the answer an object that does not exist gets."""
    require_role(user, action)
    if not reaches(user, action, holder=holder, sender=sender):
        raise NotFound(missing or "对象不存在或不在您的数据范围内")
