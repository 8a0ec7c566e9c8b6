from gridcare.workorders.states import ACTION_LABELS

EVENT_LABELS = {
    **{f"workorder.{k}": v for k, v in ACTION_LABELS.items()},
    "workorder.create": "受理",
    "workorder.repeat_call": "重复来电",
    "workorder.await_visit": "转回访",
    "workorder.deadline_warn": "时限预警",
    "workorder.escalate": "逐级催办",
    "workorder.child_merged": "并入子单",
    "workorder.child_unmerged": "子单取消合并",
    "workorder.deadline_recompute": "时限重算",
    "visit.attempt": "回访",
    "visit.close": "回访结束",
}
