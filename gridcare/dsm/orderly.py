"""有序用电 plans and demand-response measurement. Pure: data in, decisions and numbers out.

`solve_plan` chooses which customers reduce and by how much to meet a reduction target at least
economic cost, as a mixed-integer program (SciPy `milp`, HiGHS):

    minimise   Σ cost_per_kw_i · r_i + fixed_cost_i · y_i + penalty · shortfall
    subject to Σ r_i + shortfall ≥ target
               min_kw_i · y_i ≤ r_i ≤ curtailable_kw_i · y_i,   y_i ∈ {0, 1}

Protected customers (important customers, residents) get no variables at all, so they can never be
curtailed. The shortfall variable keeps the program feasible: an unreachable target comes back as the
plan that does the most it can, with the shortfall named.

`baseline` is the customer's usual load for the event hours: the average of the same slots on the last
five similar (workday vs non-workday) days without an event.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp


@dataclass(frozen=True)
class Candidate:
    customer_id: int
    curtailable_kw: float  # the most this customer can shed in the window
    cost_per_kw: float  # economic cost of shedding one kW for the window (元/kW)
    min_kw: float = 0.0  # if chosen, shed at least this (switching a line or a process off)
    fixed_cost: float = 0.0  # cost of involving the customer at all (notice, staff)
    protected: bool = False  # important customers and residents: never curtailed


@dataclass(frozen=True)
class Plan:
    target_kw: float
    planned_kw: float
    shortfall_kw: float
    cost: float
    reductions: dict[int, float]  # customer_id → kW, only customers that reduce
    status: str  # optimal | time_limit | …

    @property
    def feasible(self) -> bool:
        return self.shortfall_kw <= 1e-6


def solve_plan(
    candidates: Sequence[Candidate], target_kw: float, *, time_limit: float = 30.0, integral: bool = True
) -> Plan:
    """The least-cost plan; `integral=False` solves the continuous relaxation (a bound, for comparison)."""
    if target_kw < 0:
        raise ValueError("the reduction target cannot be negative")
    pool = [c for c in candidates if not c.protected and c.curtailable_kw > 0]
    if target_kw == 0 or not pool:
        return Plan(target_kw, 0.0, float(target_kw), 0.0, {}, "optimal")
    n = len(pool)
    cap = np.asarray([c.curtailable_kw for c in pool], dtype=float)
    low = np.asarray([min(c.min_kw, c.curtailable_kw) for c in pool], dtype=float)
    cost = np.asarray([c.cost_per_kw for c in pool], dtype=float)
    fixed = np.asarray([c.fixed_cost for c in pool], dtype=float)
    # Shortfall costs more than the dearest possible reduction, so it is used only when it must be.
    penalty = 1e3 * (float(cost.max() + fixed.max() / max(low.max(initial=1.0), 1.0)) + 1.0)
    # variables: r (n), y (n), shortfall (1)
    c = np.concatenate([cost, fixed, [penalty]])
    integrality = np.concatenate([np.zeros(n), np.ones(n) if integral else np.zeros(n), [0]])
    bounds = Bounds(np.zeros(2 * n + 1), np.concatenate([cap, np.ones(n), [target_kw]]))
    from scipy import sparse

    i_n = sparse.identity(n, format="csr")
    a_cover = sparse.hstack([np.ones((1, n)), sparse.csr_matrix((1, n)), np.ones((1, 1))])
    a_upper = sparse.hstack([i_n, sparse.diags(-cap), sparse.csr_matrix((n, 1))])  # r - cap·y ≤ 0
    a_lower = sparse.hstack([i_n, sparse.diags(-low), sparse.csr_matrix((n, 1))])  # r - low·y ≥ 0
    constraints = [
        LinearConstraint(a_cover, lb=target_kw, ub=np.inf),
        LinearConstraint(a_upper, lb=-np.inf, ub=0),
        LinearConstraint(a_lower, lb=0, ub=np.inf),
    ]
    result = milp(
        c,
        integrality=integrality,
        bounds=bounds,
        constraints=constraints,
        # a plan within 0.1 % of the optimum is as good as the optimum for a dispatcher
        options={"time_limit": time_limit, "mip_rel_gap": 1e-3},
    )
    if result.x is None:
        raise RuntimeError(f"the solver found no plan: {result.message}")
    r = result.x[:n]
    y = result.x[n : 2 * n] > (0.5 if integral else 1e-9)
    reductions = {pool[i].customer_id: min(float(r[i]), float(cap[i])) for i in range(n) if y[i] and r[i] > 1e-6}
    planned = float(sum(reductions.values()))
    shortfall = max(0.0, float(target_kw) - planned)
    if shortfall < 1e-6:
        shortfall = 0.0
    plan_cost = float(sum(pool[i].cost_per_kw * reductions.get(pool[i].customer_id, 0.0) for i in range(n)))
    plan_cost += float(sum(pool[i].fixed_cost for i in range(n) if pool[i].customer_id in reductions))
    status = "optimal" if result.status == 0 else ("time_limit" if result.status == 1 else str(result.message))
    return Plan(float(target_kw), planned, shortfall, round(plan_cost, 2), reductions, status)


# --- demand-response measurement ---------------------------------------------------------------------


def baseline(
    history: Mapping[dt.date, Sequence[float | None]],
    *,
    event_day: dt.date,
    slots: Sequence[int],
    event_days: set[dt.date],
    is_workday: Callable[[dt.date], bool],
    days: int = 5,
    lookback: int = 60,
) -> list[float] | None:
    """The average of `slots` on the last `days` similar non-event days before `event_day` with complete
    readings in those slots; None when fewer than `days` such days exist."""
    wanted = is_workday(event_day)
    chosen: list[Sequence[float | None]] = []
    day = event_day - dt.timedelta(days=1)
    for _ in range(lookback):
        if len(chosen) == days:
            break
        values = history.get(day)
        if (
            values is not None
            and day not in event_days
            and is_workday(day) == wanted
            and all(values[s] is not None and values[s] == values[s] for s in slots)
        ):
            chosen.append(values)
        day -= dt.timedelta(days=1)
    if len(chosen) < days:
        return None
    return [float(np.mean([float(v[s]) for v in chosen])) for s in slots]  # type: ignore[arg-type]


@dataclass(frozen=True)
class Response:
    baseline_kw: float  # average over the event slots
    actual_kw: float
    delivered_kw: float  # baseline − actual


def measure(
    history: Mapping[dt.date, Sequence[float | None]],
    *,
    event_day: dt.date,
    slots: Sequence[int],
    event_days: set[dt.date],
    is_workday: Callable[[dt.date], bool],
) -> Response | None:
    base = baseline(history, event_day=event_day, slots=slots, event_days=event_days, is_workday=is_workday)
    actual_day = history.get(event_day)
    if base is None or actual_day is None or any(actual_day[s] is None for s in slots):
        return None
    actual = float(np.mean([float(actual_day[s]) for s in slots]))  # type: ignore[arg-type]
    base_avg = float(np.mean(base))
    return Response(round(base_avg, 3), round(actual, 3), round(base_avg - actual, 3))


def weekday_is_workday(day: dt.date) -> bool:
    """A stand-in calendar (Monday–Friday) for callers without the holiday calendar."""
    return day.weekday() < 5
