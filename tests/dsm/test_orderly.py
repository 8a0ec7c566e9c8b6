"""有序用电 plans (MILP), DR events with opt-in/out, and response measured against the 5-similar-day baseline."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridcare.core.errors import Conflict
from gridcare.dsm import orderly, services
from gridcare.dsm.models import Participation
from gridcare.dsm.orderly import Candidate, solve_plan
from tests import factories as f
from tests.conftest import City
from tests.dsm.test_analytics import write_store

TZ = zoneinfo.ZoneInfo("Asia/Shanghai")


def test_plan_meets_the_target_at_least_cost() -> None:
    pool = [
        Candidate(1, curtailable_kw=100, cost_per_kw=1.0),
        Candidate(2, curtailable_kw=100, cost_per_kw=3.0),
        Candidate(3, curtailable_kw=500, cost_per_kw=0.5, protected=True),
    ]
    plan = solve_plan(pool, 150)
    assert plan.feasible and plan.reductions == {1: 100.0, 2: 50.0}
    assert plan.cost == pytest.approx(250.0)


def test_minimum_reductions_and_fixed_costs_shape_the_choice() -> None:
    # customer 1 is cheaper per kW but must shed at least 80 kW once chosen; 30 kW is best from customer 2
    pool = [Candidate(1, 100, 1.0, min_kw=80), Candidate(2, 100, 2.0, fixed_cost=5)]
    plan = solve_plan(pool, 30)
    assert plan.reductions == {2: 30.0} and plan.cost == pytest.approx(65.0)


def test_an_infeasible_target_names_the_shortfall_and_spares_protected_customers() -> None:
    pool = [Candidate(1, 40, 1.0), Candidate(2, 1000, 0.1, protected=True)]
    plan = solve_plan(pool, 100)
    assert not plan.feasible and plan.shortfall_kw == pytest.approx(60.0)
    assert 2 not in plan.reductions


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0, 200), st.floats(0.1, 10), st.booleans()), min_size=1, max_size=30),
    st.floats(0, 3000),
)
def test_plans_never_curtail_protected_customers_and_meet_or_name_the_target(rows, target) -> None:  # type: ignore[no-untyped-def]
    pool = [Candidate(i, cap, cost, protected=p) for i, (cap, cost, p) in enumerate(rows)]
    plan = solve_plan(pool, target)
    assert all(not pool[i].protected for i in plan.reductions)
    assert all(plan.reductions[i] <= pool[i].curtailable_kw + 1e-6 for i in plan.reductions)
    assert plan.planned_kw + plan.shortfall_kw == pytest.approx(target, abs=1e-2)
    available = sum(c.curtailable_kw for c in pool if not c.protected)
    assert plan.shortfall_kw == pytest.approx(max(0.0, target - available), abs=1e-2)


def test_baseline_uses_the_last_five_similar_non_event_days() -> None:
    event_day = dt.date(2024, 7, 10)  # a Wednesday
    history = {}
    for back in range(1, 20):
        day = event_day - dt.timedelta(days=back)
        history[day] = [float(back)] * 96
    event_days = {dt.date(2024, 7, 9)}  # yesterday had an event: skipped
    base = orderly.baseline(
        history, event_day=event_day, slots=[40, 41], event_days=event_days, is_workday=orderly.weekday_is_workday
    )
    # workdays before the 10th, skipping the 9th (event) and the weekend 6–7: 8, 5, 4, 3, 2 July → back 2, 5, 6, 7, 8
    assert base == [pytest.approx(28 / 5)] * 2


def test_measured_response_matches_the_simulated_delivery(city: City, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings.ANALYTICS_DIR = tmp_path / "analytics"
    feeder = city.north_net.feeder
    a = f.make_customer(city.north, city.north_net.areas[0], category="large_industry", contract_kva=Decimal(1000))
    b = f.make_customer(city.north, city.north_net.areas[1], category="commercial", contract_kva=Decimal(500))
    vip = f.make_customer(
        city.north,
        city.north_net.areas[1],
        category="large_industry",
        contract_kva=Decimal(5000),
        important_level="first",
    )
    now = dt.datetime(2024, 7, 1, 9, 0, tzinfo=TZ)
    start = dt.datetime(2024, 7, 10, 14, 0, tzinfo=TZ)
    plan = services.orderly_plan_create(
        name="7月10日午高峰",
        target_kw=Decimal(300),
        window_start=start,
        window_end=start + dt.timedelta(hours=2),
        feeders=[feeder],
        actor=city.analyst,
        now=now,
    )
    cut = {al.customer_id: al.reduction_kw for al in plan.allocations.all()}
    assert vip.pk not in cut and city.north_customer.pk not in cut  # important and resident customers
    assert plan.shortfall_kw == 0 and sum(cut.values()) == Decimal(300)
    event = services.dr_event_create(plan=plan, actor=city.analyst, now=now)
    assert event.status == "far" and event.intervals[0]["duration_minutes"] == 120
    part = event.participants.get(customer=a)
    services.participation_set_opt(participation=part, opt=Participation.Opt.IN, actor="customer", now=now)

    # simulate: steady 600 / 300 kW with noise; on the event day each participant sheds exactly its planned kW
    rng = np.random.default_rng(3)
    curves = {}
    base = {a.pk: 600.0, b.pk: 300.0}
    delivered = {a.pk: float(cut.get(a.pk, 0)), b.pk: float(cut.get(b.pk, 0))}
    for off in range(-30, 1):
        day = dt.date(2024, 7, 10) + dt.timedelta(days=off)
        for cid, level in base.items():
            curve = list(level + rng.normal(0, 0.0, 96))
            if off == 0:
                for s in range(56, 64):
                    curve[s] -= delivered[cid]
            curves[(cid, (day - dt.date(2024, 7, 1)).days)] = curve
    source = write_store(tmp_path / "store", curves)
    with pytest.raises(Conflict, match="the event has not ended yet"):
        services.dr_event_measure(event=event, actor=city.analyst, now=start, source=source)
    measured = services.dr_event_measure(
        event=event, actor=city.analyst, now=start + dt.timedelta(hours=3), source=source
    )
    got = {p.customer_id: float(p.delivered_kw or 0) for p in measured}
    assert got == {cid: pytest.approx(delivered[cid], abs=0.01) for cid in got}


def test_load_above_a_limit_raises_one_event_per_day_for_the_360_page(city: City, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from gridcare.dsm.models import LoadControlEvent
    from gridcare.dsm.tasks import handle_load_limits

    settings.ANALYTICS_DIR = tmp_path / "analytics"
    cid = city.north_customer.pk
    high = [2.0] * 96
    high[70:73] = [9.5, 9.5, 9.5]
    write_store(tmp_path / "analytics" / "intervals", {(cid, 0): high, (cid, 1): [2.0] * 96, (cid, 2): high})
    now = dt.datetime(2024, 7, 3, 8, 0, tzinfo=TZ)  # 3 July is today: only 1–2 July are checked
    services.load_limit_set(
        customer=city.north_customer,
        kind="contract",
        limit_kw=Decimal("7.2"),
        valid_from=dt.datetime(2024, 7, 1, tzinfo=TZ),
        actor=city.admin,
        now=now,
    )
    assert handle_load_limits(now) == 1 and handle_load_limits(now) == 0
    events = list(LoadControlEvent.objects.all())
    assert [(e.day, e.intervals_over, e.peak_kw) for e in events] == [(dt.date(2024, 7, 1), 3, Decimal("9.5"))]
    assert events[0].first_over_at == dt.datetime(2024, 7, 1, 17, 30, tzinfo=TZ)
    later = now + dt.timedelta(days=1)
    assert handle_load_limits(later) == 1
    assert LoadControlEvent.objects.count() == 2  # 3 July added, 1 July not raised twice
