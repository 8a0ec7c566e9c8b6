"""The work-order state machine: which action moves an order from which states to which state."""

from __future__ import annotations

from gridcare.core.errors import Conflict
from gridcare.workorders.models import Status

S = Status
OPEN = frozenset({S.ACCEPTED, S.DISPATCHED, S.TAKEN, S.IN_PROGRESS, S.RETURNED, S.SUSPENDED})
CLOSED = frozenset({S.ARCHIVED, S.MERGED, S.CANCELLED})

# action: (states it may start from, state it leads to; None = decided by the service, e.g. resume)
TRANSITIONS: dict[str, tuple[frozenset[str], str | None]] = {
    "dispatch": (frozenset({S.ACCEPTED, S.RETURNED}), S.DISPATCHED),
    "transfer": (frozenset({S.DISPATCHED, S.TAKEN, S.IN_PROGRESS}), S.DISPATCHED),
    "recall": (frozenset({S.DISPATCHED, S.TAKEN}), S.ACCEPTED),
    "return": (frozenset({S.DISPATCHED, S.TAKEN, S.IN_PROGRESS}), S.RETURNED),
    "take": (frozenset({S.DISPATCHED}), S.TAKEN),
    "start": (frozenset({S.TAKEN}), S.IN_PROGRESS),
    "contact": (frozenset({S.ACCEPTED, S.DISPATCHED, S.TAKEN, S.IN_PROGRESS}), None),
    "complete_step": (frozenset({S.TAKEN, S.IN_PROGRESS}), S.IN_PROGRESS),
    "reply": (frozenset({S.ACCEPTED, S.TAKEN, S.IN_PROGRESS}), S.REPLIED),
    "archive": (frozenset({S.REPLIED, S.RETURN_VISIT}), S.ARCHIVED),
    "reopen": (frozenset({S.RETURN_VISIT, S.REPLIED}), S.DISPATCHED),
    "suspend": (frozenset({S.DISPATCHED, S.TAKEN, S.IN_PROGRESS}), S.SUSPENDED),
    "resume": (frozenset({S.SUSPENDED}), None),
    "merge": (OPEN, S.MERGED),
    "unmerge": (frozenset({S.MERGED}), None),
    "cancel": (frozenset({S.ACCEPTED, S.DISPATCHED, S.RETURNED}), S.CANCELLED),
    "supervise": (OPEN | {S.REPLIED, S.RETURN_VISIT}, None),
}

ACTION_LABELS = {
    "dispatch": "派发",
    "transfer": "转派",
    "recall": "撤回",
    "return": "退单",
    "take": "接单",
    "start": "开始处理",
    "contact": "已联系客户",
    "complete_step": "完成环节",
    "reply": "答复",
    "archive": "归档",
    "reopen": "重新处理",
    "suspend": "挂起",
    "resume": "恢复",
    "merge": "合并",
    "unmerge": "取消合并",
    "cancel": "撤销",
    "supervise": "督办",
}


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
    return [a for a, (sources, _) in TRANSITIONS.items() if status in sources]


def target_state(status: str, action: str) -> str | None:
    if action not in TRANSITIONS:
        raise InvalidTransition(action, status)
    sources, target = TRANSITIONS[action]
    if status not in sources:
        raise InvalidTransition(action, status)
    return target
