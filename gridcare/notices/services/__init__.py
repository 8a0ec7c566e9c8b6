"""Every write of the notices app, one module per responsibility; the public names are re-exported here so
`from gridcare.notices.services import outage_publish` (and `services.outage_publish`) keeps working.

- `outages`: outages and what their customers are told (the repair app uses `outage_publish_fault`,
  `outage_add_callers`, `outage_update_etr` and `outage_restore`)
- `announcements`, `reminders`: the other kinds of notice
- `queue`: set-based queueing of a notice's messages (the app's one bulk write)
- `preferences`, `templates`, `follow_ups`, `receipts`: the smaller writes
"""

from gridcare.notices.config import get_config
from gridcare.notices.services.announcements import announcement_send
from gridcare.notices.services.common import Actor, actor_name, check_channels
from gridcare.notices.services.follow_ups import follow_up_complete
from gridcare.notices.services.outages import (
    outage_add_callers,
    outage_cancel,
    outage_context,
    outage_create,
    outage_publish,
    outage_publish_fault,
    outage_restore,
    outage_update,
    outage_update_etr,
)
from gridcare.notices.services.preferences import preference_set
from gridcare.notices.services.queue import insert_select, queue_notice
from gridcare.notices.services.receipts import message_mark_delivered
from gridcare.notices.services.reminders import reminder_queue, reminders_queue_due
from gridcare.notices.services.templates import template_reset, template_save

__all__ = [
    "Actor",
    "actor_name",
    "announcement_send",
    "check_channels",
    "follow_up_complete",
    "get_config",
    "insert_select",
    "message_mark_delivered",
    "outage_add_callers",
    "outage_cancel",
    "outage_context",
    "outage_create",
    "outage_publish",
    "outage_publish_fault",
    "outage_restore",
    "outage_update",
    "outage_update_etr",
    "preference_set",
    "queue_notice",
    "reminder_queue",
    "reminders_queue_due",
    "template_reset",
    "template_save",
]
