"""Asking meters whether they have power ("ping", 召测): the interface prediction uses to verify an outage, and the
simulated answer for the demo and tests.

    from gridcare.ami.ping import get_pinger
    answers = get_pinger().ping(["3300012345", …], now)   # {meter_no: True | False | None}

True: the meter answered and has supply. False: it did not answer (no supply, or no signal). None: unknown (not a
meter in the ledger, or the head-end could not ask it). A real implementation calls the head-end's on-demand
read; name its class in GRIDCARE_AMI_PINGER (a dotted path, constructed without arguments).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from django.conf import settings
from django.utils.module_loading import import_string

from gridcare.ami import selectors
from gridcare.ami.parsing import LAST_GASP, RESTORED, VOLTAGE_LOSS

SIMULATED = "simulated"


@runtime_checkable
class Pinger(Protocol):
    def ping(self, meter_nos: Sequence[str], now: dt.datetime) -> dict[str, bool | None]:
        """One answer for every meter number asked (see the module docstring)."""
        ...


# What the latest stored event says about supply now; a meter that never reported has supply (meters report
# when supply goes, not while it stays).
_POWERED_AFTER = {LAST_GASP: False, VOLTAGE_LOSS: False, RESTORED: True, None: True}


class SimulatedPinger:
    """Answers from the latest stored event of each meter at or before `now`: a last gasp or a voltage loss → no
    answer (False), a restoration or no event at all → powered (True); a meter not in the ledger → None. So the
    demo's simulator (`gridcare ami simulate`) decides what a ping finds."""

    def ping(self, meter_nos: Sequence[str], now: dt.datetime) -> dict[str, bool | None]:
        latest = selectors.latest_kinds(meter_nos, now=now)
        return {m: (_POWERED_AFTER.get(latest[m]) if m in latest else None) for m in meter_nos}


def load_pinger(path: str) -> Pinger:
    """The pinger a setting names: "simulated", or the dotted path of a class constructed without arguments.
    Raises ImportError or TypeError with a message saying what is wrong."""
    if path == SIMULATED:
        return SimulatedPinger()
    cls = import_string(path)
    pinger = cls()
    if not isinstance(pinger, Pinger):
        raise TypeError(f"{path} has no ping(meter_nos, now) method")
    return pinger


def get_pinger() -> Pinger:
    """The pinger GRIDCARE_AMI_PINGER chooses (read each call: cheap, and tests switch it with settings)."""
    return load_pinger(settings.GRIDCARE_AMI_PINGER)
