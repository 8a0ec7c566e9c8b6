"""Work-order actions, one declaration each: the states an action starts from and leads to, its label, who may
take it (its row of gridcare.org.policy), what the person fills in, and the service that carries it out.

Adding an action: write its service function in `workorders/services/`, add one `declare(...)` below and a test;
the state machine, the API's and the pages' `perform`, the buttons on the order page, the event labels and the
authorization table all read this registry (and tests/test_authorization_matrix.py gets the action's row).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from gridcare.core.errors import Conflict
from gridcare.org.policy import FRONT, HANDLERS, Reach, declare_rule
from gridcare.org.roles import Role
from gridcare.workorders.models import Status

S = Status
OPEN = frozenset({S.ACCEPTED, S.DISPATCHED, S.TAKEN, S.IN_PROGRESS, S.RETURNED, S.SUSPENDED})
CLOSED = frozenset({S.ARCHIVED, S.MERGED, S.CANCELLED})


class Field(enum.Enum):
    """What a person fills in to take an action; each becomes the service's keyword argument of that name."""

    UNIT = "unit"  # a unit code; optional where the service can route by itself
    REASON = "reason"
    NOTE = "note"
    TEXT = "text"
    MAIN = "main"  # another order's number
    PARAMS = "params"  # business parameters (an object)


@dataclass(frozen=True)
class OrderAction:
    name: str
    label: str
    sources: frozenset[str]
    target: str | None  # None: decided by the service (resume goes back to where the order was)
    service: str = ""  # the function in gridcare.workorders.services; "" = internal, taken by the services only
    form: tuple[Field, ...] = ()
    subject: str = "order"  # the service's keyword for the order acted on (merging names it `child`)
    caution: bool = False  # undoes or closes something: screens set it apart and ask to confirm


ACTIONS: dict[str, OrderAction] = {}


def declare(
    name: str,
    label: str,
    sources: Iterable[str],
    target: str | None,
    *,
    service: str = "",
    roles: Iterable[str] = (),
    reach: Reach = Reach.HOLDER,
    anywhere: Iterable[str] = (),
    form: tuple[Field, ...] = (),
    subject: str = "order",
    caution: bool = False,
) -> OrderAction:
    action = OrderAction(name, label, frozenset(sources), target, service, form, subject, caution)
    ACTIONS[name] = action
    if service:  # a person may take it: its row in the one authorization table
        declare_rule(f"workorder.{name}", roles=roles, reach=reach, anywhere=anywhere, label=label)
    return action


SL, QA, DI = Role.SHIFT_LEAD, Role.QUALITY, Role.DISPATCHER
F = Field

declare(
    "dispatch",
    "派发",
    {S.ACCEPTED, S.RETURNED},
    S.DISPATCHED,
    service="workorder_dispatch",
    roles=FRONT,
    anywhere={SL},
    form=(F.UNIT,),
)
declare(
    "transfer",
    "转派",
    {S.DISPATCHED, S.TAKEN, S.IN_PROGRESS},
    S.DISPATCHED,
    service="workorder_transfer",
    roles=HANDLERS,
    form=(F.UNIT, F.REASON),
)
declare(
    "recall",
    "撤回",
    {S.DISPATCHED, S.TAKEN},
    S.ACCEPTED,
    service="workorder_recall",
    roles=FRONT | {DI},
    reach=Reach.SENDER,
    anywhere={SL},
    form=(F.REASON,),
    caution=True,
)
declare(
    "return",
    "退单",
    {S.DISPATCHED, S.TAKEN, S.IN_PROGRESS},
    S.RETURNED,
    service="workorder_return",
    roles=HANDLERS,
    form=(F.REASON,),
    caution=True,
)
declare("take", "接单", {S.DISPATCHED}, S.TAKEN, service="workorder_take", roles=HANDLERS)
declare("start", "开始处理", {S.TAKEN}, S.IN_PROGRESS, service="workorder_start", roles=HANDLERS)
declare(
    "contact",
    "已联系客户",
    {S.ACCEPTED, S.DISPATCHED, S.TAKEN, S.IN_PROGRESS},
    None,
    service="workorder_contact",
    roles=HANDLERS | FRONT,
    form=(F.NOTE,),
)
declare(
    "complete_step",
    "完成环节",
    {S.TAKEN, S.IN_PROGRESS},
    S.IN_PROGRESS,
    service="workorder_complete_step",
    roles=HANDLERS,
    form=(F.NOTE, F.PARAMS),
)
declare(
    "reply",
    "答复",
    {S.ACCEPTED, S.TAKEN, S.IN_PROGRESS},
    S.REPLIED,
    service="workorder_reply",
    roles=HANDLERS | FRONT,
    form=(F.TEXT,),
)
declare(
    "archive",
    "归档",
    {S.REPLIED, S.RETURN_VISIT},
    S.ARCHIVED,
    service="workorder_archive",
    roles=FRONT | {QA},
    reach=Reach.SCOPE,
)
declare("reopen", "重新处理", {S.RETURN_VISIT, S.REPLIED}, S.DISPATCHED)  # by an unsatisfied return visit
declare(
    "suspend",
    "挂起",
    {S.DISPATCHED, S.TAKEN, S.IN_PROGRESS},
    S.SUSPENDED,
    service="workorder_suspend",
    roles=HANDLERS,
    form=(F.REASON,),
)
declare("resume", "恢复", {S.SUSPENDED}, None, service="workorder_resume", roles=HANDLERS)
declare(
    "merge",
    "合并",
    OPEN,
    S.MERGED,
    service="workorder_merge",
    roles=FRONT | {QA},
    reach=Reach.SCOPE,
    form=(F.MAIN, F.REASON),
    subject="child",
)
declare(
    "unmerge",
    "取消合并",
    {S.MERGED},
    None,
    service="workorder_unmerge",
    roles=FRONT | {QA},
    reach=Reach.SCOPE,
    form=(F.REASON,),
    subject="child",
)
declare(
    "cancel",
    "撤销",
    {S.ACCEPTED, S.DISPATCHED, S.RETURNED},
    S.CANCELLED,
    service="workorder_cancel",
    roles=FRONT,
    reach=Reach.SENDER,
    anywhere={SL},
    form=(F.REASON,),
    caution=True,
)
declare(
    "supervise",
    "督办",
    OPEN | {S.REPLIED, S.RETURN_VISIT},
    None,
    service="workorder_supervise",
    roles={QA, SL},
    reach=Reach.SCOPE,
    form=(F.NOTE,),
)


class _Column(Mapping[str, Any]):
    """A live, read-only view of one column of the registry (actions declared later are in it too)."""

    def __init__(self, read: Callable[[OrderAction], Any]):
        self._read = read

    def __getitem__(self, name: str) -> Any:
        return self._read(ACTIONS[name])

    def __iter__(self) -> Iterator[str]:
        return iter(ACTIONS)

    def __len__(self) -> int:
        return len(ACTIONS)


# For the code that only needs one column of the registry.
TRANSITIONS: Mapping[str, tuple[frozenset[str], str | None]] = _Column(lambda a: (a.sources, a.target))
ACTION_LABELS: Mapping[str, str] = _Column(lambda a: a.label)


class InvalidTransition(Conflict):
    """HTTP 409: the action is not possible in the order's current state; says what is."""

    def __init__(self, action: str, status: str):
        self.action = action
        self.status_value = status
        label = Status(status).label if status in Status.values else status
        allowed = allowed_actions(status)
        names = "、".join(f"{ACTION_LABELS[a]}({a})" for a in allowed) or "无"
        verb = ACTION_LABELS.get(action, action)
        super().__init__(
            f"工单当前状态为「{label}」，不能{verb}；当前允许的操作：{names}", errors={"allowed_actions": allowed}
        )


def allowed_actions(status: str) -> list[str]:
    return [a.name for a in ACTIONS.values() if status in a.sources]


def target_state(status: str, action: str) -> str | None:
    if action not in ACTIONS:
        raise InvalidTransition(action, status)
    spec = ACTIONS[action]
    if status not in spec.sources:
        raise InvalidTransition(action, status)
    return spec.target
