"""Every write of the repair flow, by stage: a call becomes a ticket in a probable outage (`intake`), the
ticket is sent, received and given to a vehicle's queue (`dispatch`), the crew departs, arrives, records the
fault and restores power (`site`), outages get an ETR and a public notice (`outages`), ETRs estimated from
history (`estimates`), calls and meter events are placed by outage prediction, which a dispatcher confirms or
splits (`placing`, `meters`, `proactive`), vehicles' duty and status (`vehicles`), storm mode and one-line calls
(`storm`). Each stamps its A–H point from the real event, with an audit event, atomically; the work order itself
changes only through the work-order services.
"""

from gridcare.repair.services._base import ACTIVE, Actor
from gridcare.repair.services.dispatch import (
    repair_accept,
    repair_assign,
    repair_decline,
    repair_device_receive,
    repair_queue_reorder,
    repair_recall,
    repair_recalled_from_center,
    repair_receive,
    repair_send,
    repair_ticket_close,
    repair_transfer,
)
from gridcare.repair.services.estimates import etr_refresh_due, outage_etr_estimate
from gridcare.repair.services.intake import call_ended_check, repair_ticket_open
from gridcare.repair.services.meters import meter_events_consume, restorations_check
from gridcare.repair.services.outages import outage_publish, outage_set_etr
from gridcare.repair.services.placing import outage_confirm, outage_split
from gridcare.repair.services.site import (
    repair_arrive,
    repair_callback,
    repair_depart,
    repair_done,
    repair_fault_record,
    repair_restore,
)
from gridcare.repair.services.storm import storm_call_record, storm_mode_evaluate, storm_mode_set
from gridcare.repair.services.vehicles import open_tickets_q, vehicle_set_duty

__all__ = [
    "ACTIVE",
    "Actor",
    "call_ended_check",
    "etr_refresh_due",
    "meter_events_consume",
    "open_tickets_q",
    "outage_confirm",
    "outage_etr_estimate",
    "outage_publish",
    "outage_set_etr",
    "outage_split",
    "repair_accept",
    "repair_arrive",
    "repair_assign",
    "repair_callback",
    "repair_decline",
    "repair_depart",
    "repair_device_receive",
    "repair_done",
    "repair_fault_record",
    "repair_queue_reorder",
    "repair_recall",
    "repair_recalled_from_center",
    "repair_receive",
    "repair_restore",
    "repair_send",
    "repair_ticket_close",
    "repair_ticket_open",
    "repair_transfer",
    "restorations_check",
    "storm_call_record",
    "storm_mode_evaluate",
    "storm_mode_set",
    "vehicle_set_duty",
]
