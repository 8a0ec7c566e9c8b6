"""Pure SLA arithmetic: which target applies, when it is due, when to warn, and what supervision is next.

Nothing here reads the clock or the database; callers pass `now`, the calendar and the targets.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from gridcare.core.workdays import Computed, WorkCalendar, add_working_days, add_working_seconds


@dataclass(frozen=True)
class Target:
    milestone: str
    amount: int
    unit: str  # "minutes" | "working_days"
    priority: str = ""
    area_class: str = ""
    supply_class: str = ""


def resolve_target(
    targets: Iterable[Target], *, milestone: str, priority: str, area_class: str, supply_class: str
) -> Target | None:
    """The most specific target for the order: each matching dimension beats a wildcard."""
    best: tuple[int, Target] | None = None
    for t in targets:
        if t.milestone != milestone:
            continue
        score = 0
        for want, have, weight in (
            (priority, t.priority, 1),
            (area_class, t.area_class, 2),
            (supply_class, t.supply_class, 4),
        ):
            if have == "":
                continue
            if have != want:
                break
            score += weight
        else:
            if best is None or score > best[0]:
                best = (score, t)
    return best[1] if best else None


def due_at(started_at: dt.datetime, amount: int, unit: str, cal: WorkCalendar, paused_seconds: float = 0.0) -> Computed:
    """The deadline, with paused time added back (as working time for working-day targets)."""
    if unit == "minutes":
        return Computed(started_at + dt.timedelta(minutes=amount, seconds=paused_seconds))
    base = add_working_days(started_at, amount, cal)
    if paused_seconds <= 0:
        return base
    moved = add_working_seconds(base.at, paused_seconds, cal)
    return Computed(moved.at, tuple(dict.fromkeys(base.warnings + moved.warnings)))


def warn_at(started_at: dt.datetime, due: dt.datetime, *, lead_minutes: int | None, share: Decimal) -> dt.datetime:
    """A fixed lead before the deadline (e.g. 2 days) or a share of the allowed time; never before the start."""
    if lead_minutes is not None:
        at = due - dt.timedelta(minutes=lead_minutes)
    else:
        allowed = (due - started_at).total_seconds()
        at = due - dt.timedelta(seconds=allowed * float(share))
    return max(at, started_at)


@dataclass(frozen=True)
class Step:
    """One supervision action the worker must take now, and where the deadline stands afterwards."""

    kind: str  # "warn" | "supervise" | "escalate"
    level: int  # escalation level reached by this step (0 for warn, 1 for supervise, 2+ for escalations)
    scheduled_at: dt.datetime  # when it was due, which may be earlier than now after a stopped worker


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]
    state: str
    level: int
    next_check_at: dt.datetime | None


def supervision_plan(
    *,
    now: dt.datetime,
    state: str,
    level: int,
    warn: dt.datetime,
    due: dt.datetime,
    escalate_every: dt.timedelta,
    chain_length: int,
) -> Plan:
    """What to do at `now` for one deadline, catching up on everything that fell due since the last look.

    Levels: 0 nothing/warned, 1 supervised at the deadline (督办, the handling unit is told), 2… one per
    person on the escalation chain (duty phone, then managers in order), `escalate_every` apart.
    A warning that fell due only after the deadline had already passed is not sent: supervision replaces it.
    """
    steps: list[Step] = []
    if state == "pending" and now >= warn and now < due:
        steps.append(Step("warn", 0, warn))
        state = "warned"
    if now >= due:
        if level < 1:
            steps.append(Step("supervise", 1, due))
            level = 1
        state = "overdue"
        reached = 1 + min(chain_length, int((now - due) / escalate_every)) if escalate_every.total_seconds() > 0 else 1
        while level < reached:
            level += 1
            steps.append(Step("escalate", level, due + escalate_every * (level - 1)))
    if state == "pending":
        next_check: dt.datetime | None = warn if warn > now else due
    elif state == "warned":
        next_check = due
    elif level < 1 + chain_length:
        next_check = due + escalate_every * level
    else:
        next_check = None
    return Plan(tuple(steps), state, level, next_check)
