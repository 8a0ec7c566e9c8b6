"""What outage prediction reads and what it answers with. Pure: no Django.

Evidence is anything that says "a customer of this 台区 is without power, from this moment": a repair call
(placed at the caller's 台区) or a meter's last-gasp / voltage-loss event. A restoration says what a crew put
back: a device closed again, a 台区's transformer, or one customer's service drop. A prediction names the
most likely faulted element — a device, a 台区, or one customer — and the evidence it explains.
The same types feed the engine online (one event at a time, at intake and meter ingest) and offline (storm
replays, benchmarks), so both give the same outages.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

CALL, METER = "call", "meter"
#: Levels of a prediction, from the smallest: one customer's service drop, a 台区, a device on the feeder.
CUSTOMER, AREA, DEVICE = "customer", "area", "device"


@dataclass(frozen=True)
class Evidence:
    id: str
    at: dt.datetime
    area: str  # the 台区 of the caller or the meter
    customer: str  # the customer (account number) or meter behind it
    source: str = CALL  # CALL or METER


@dataclass(frozen=True)
class Restoration:
    """A crew restored power at `at` by repairing one element: exactly one of device, area, customer is set."""

    at: dt.datetime
    device: str | None = None
    area: str | None = None
    customer: str | None = None

    def __post_init__(self) -> None:
        if sum(x is not None for x in (self.device, self.area, self.customer)) != 1:
            raise ValueError("a restoration names exactly one of device, area, customer")


@dataclass
class Prediction:
    """A predicted outage: the element (at `level`: a device id, a 台区 id or a customer) believed faulted."""

    id: int
    level: str
    element: str
    first_at: dt.datetime
    evidence: list[str] = field(default_factory=list)  # Evidence ids, in arrival order
    restored_at: dt.datetime | None = None
    confirmed: bool = False  # a dispatcher confirmed (or moved) it by hand: evidence no longer moves it

    @property
    def open(self) -> bool:
        return self.restored_at is None
