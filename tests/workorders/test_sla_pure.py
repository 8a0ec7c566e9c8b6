"""The pure SLA rules: which target applies, when to warn, and what supervision comes next."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from gridcare.workorders.sla import Target, resolve_target, supervision_plan, warn_at
from tests.workorders.helpers import bj

TARGETS = [
    Target("arrive", 45, "minutes", area_class="urban"),
    Target("arrive", 90, "minutes", area_class="rural"),
    Target("arrive", 60, "minutes"),
    Target("arrive", 30, "minutes", priority="critical", area_class="urban"),
    Target("complete", 5, "working_days", supply_class="lv_resident"),
    Target("complete", 22, "working_days", supply_class="hv_single"),
]


def test_most_specific_target_wins() -> None:
    def pick(**kw: str) -> Target | None:
        return resolve_target(TARGETS, **{"priority": "normal", "area_class": "urban", "supply_class": "", **kw})

    assert pick(milestone="arrive").amount == 45
    assert pick(milestone="arrive", area_class="rural").amount == 90
    assert pick(milestone="arrive", area_class="remote").amount == 60
    assert pick(milestone="arrive", priority="critical").amount == 30
    assert pick(milestone="complete", supply_class="hv_single").amount == 22
    assert pick(milestone="complete", supply_class="hv_dual") is None
    assert pick(milestone="reply") is None


def test_warning_is_a_fixed_lead_or_a_share_of_the_time() -> None:
    start, due = bj(2026, 11, 2, 9), bj(2026, 11, 10, 9)
    assert warn_at(start, due, lead_minutes=2 * 24 * 60, share=Decimal("0.25")) == bj(2026, 11, 8, 9)
    assert warn_at(start, due, lead_minutes=None, share=Decimal("0.25")) == bj(2026, 11, 8, 9)
    assert warn_at(start, due, lead_minutes=30 * 24 * 60, share=Decimal("0.25")) == start


def plan(now: dt.datetime, state: str = "pending", level: int = 0):  # type: ignore[no-untyped-def]
    return supervision_plan(
        now=now,
        state=state,
        level=level,
        warn=bj(2026, 11, 2, 10),
        due=bj(2026, 11, 2, 12),
        escalate_every=dt.timedelta(hours=1),
        chain_length=3,
    )


def test_nothing_before_the_warning() -> None:
    p = plan(bj(2026, 11, 2, 9))
    assert p.steps == () and p.next_check_at == bj(2026, 11, 2, 10)


def test_warn_then_supervise_then_escalate_one_person_an_hour() -> None:
    p = plan(bj(2026, 11, 2, 10, 5))
    assert [s.kind for s in p.steps] == ["warn"] and p.next_check_at == bj(2026, 11, 2, 12)
    p = plan(bj(2026, 11, 2, 12), "warned")
    assert [s.kind for s in p.steps] == ["supervise"] and p.level == 1 and p.next_check_at == bj(2026, 11, 2, 13)
    p = plan(bj(2026, 11, 2, 13), "overdue", 1)
    assert [(s.kind, s.level) for s in p.steps] == [("escalate", 2)]


def test_a_stopped_worker_catches_up_without_a_pointless_warning() -> None:
    p = plan(bj(2026, 11, 2, 14, 30))
    assert [(s.kind, s.level) for s in p.steps] == [("supervise", 1), ("escalate", 2), ("escalate", 3)]
    assert p.next_check_at == bj(2026, 11, 2, 15)


def test_chain_ends_after_the_last_manager() -> None:
    p = plan(bj(2026, 11, 3, 12))
    assert p.level == 4 and p.next_check_at is None
    assert plan(bj(2026, 11, 4, 12), "overdue", 4).steps == ()
