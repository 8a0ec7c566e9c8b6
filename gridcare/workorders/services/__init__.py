"""Every write to a work order, by responsibility: intake, routing, deadlines, the lifecycle, merging and
following, business applications and return visits (one module each; this package re-exports their names).

Each function is keyword-only, atomic, and writes its audit event in the same transaction. State changes are
compare-and-swap updates on (status, version), so of two concurrent transitions of one order exactly one wins
and the other gets a Conflict (HTTP 409). What one kind of order adds (a repair ticket for 故障报修) comes from
the kind's handler (`gridcare.workorders.kinds`), never from an import of the app that handles it.
"""

from gridcare.workorders.services._base import (
    NUMBER_SERIAL_DIGITS,
    REPEAT_WINDOW,
    TIMED_MILESTONES,
    VISIT_ATTEMPT_GAP,
    VISIT_ATTEMPTS,
    Actor,
    _transition,
)
from gridcare.workorders.services.applications import NEW_CUSTOMER_FIELDS, workorder_complete_step
from gridcare.workorders.services.deadlines import deadlines_preview, deadlines_recompute, deadlines_recompute_all
from gridcare.workorders.services.intake import workorder_create, workorder_create_idempotent
from gridcare.workorders.services.lifecycle import (
    workorder_archive,
    workorder_cancel,
    workorder_contact,
    workorder_dispatch,
    workorder_recall,
    workorder_reopen,
    workorder_reply,
    workorder_resume,
    workorder_return,
    workorder_start,
    workorder_supervise,
    workorder_suspend,
    workorder_take,
    workorder_transfer,
)
from gridcare.workorders.services.merging import (
    FOLLOWED_MILESTONES,
    workorder_follow,
    workorder_merge,
    workorder_milestone_met,
    workorder_unfollow,
    workorder_unmerge,
)
from gridcare.workorders.services.routing import route
from gridcare.workorders.services.visits import visit_record

__all__ = [
    "FOLLOWED_MILESTONES",
    "NEW_CUSTOMER_FIELDS",
    "NUMBER_SERIAL_DIGITS",
    "REPEAT_WINDOW",
    "TIMED_MILESTONES",
    "VISIT_ATTEMPTS",
    "VISIT_ATTEMPT_GAP",
    "Actor",
    "_transition",
    "deadlines_preview",
    "deadlines_recompute",
    "deadlines_recompute_all",
    "route",
    "visit_record",
    "workorder_archive",
    "workorder_cancel",
    "workorder_complete_step",
    "workorder_contact",
    "workorder_create",
    "workorder_create_idempotent",
    "workorder_dispatch",
    "workorder_follow",
    "workorder_merge",
    "workorder_milestone_met",
    "workorder_recall",
    "workorder_reopen",
    "workorder_reply",
    "workorder_resume",
    "workorder_return",
    "workorder_start",
    "workorder_supervise",
    "workorder_suspend",
    "workorder_take",
    "workorder_transfer",
    "workorder_unfollow",
    "workorder_unmerge",
]
