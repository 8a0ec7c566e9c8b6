"""Work-order actions are one declaration each (gridcare.workorders.states): a new action declared in one place
is in the state machine, the authorization table, `perform` and the order page's buttons at once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gridcare.core.audit import record_event
from gridcare.core.errors import Forbidden, ServiceError
from gridcare.org import policy
from gridcare.org.policy import Reach
from gridcare.workorders import actions, services, states
from gridcare.workorders.models import Status, WorkOrder
from gridcare.workorders.states import Field
from tests.conftest import City
from tests.workorders.helpers import bj, complaint


@pytest.fixture
def flag_action(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, object]]]:
    """A throwaway action 'flag' (标记): its service, written here, and its one declaration."""
    calls: list[dict[str, object]] = []

    def workorder_flag(*, order: WorkOrder, actor: object, note: str, now: object = None) -> WorkOrder:
        calls.append({"order": order.number, "note": note})
        record_event(actor=actor, action="workorder.flag", subject=order, note=note)
        return order

    monkeypatch.setattr(services, "workorder_flag", workorder_flag, raising=False)
    states.declare(
        "flag",
        "标记",
        {Status.DISPATCHED},
        None,
        service="workorder_flag",
        roles={"quality"},
        reach=Reach.SCOPE,
        form=(Field.NOTE,),
    )
    yield calls
    states.ACTIONS.pop("flag")
    policy.POLICY.pop("workorder.flag")


def test_a_declared_action_is_performed_with_its_form_roles_and_states(city: City, flag_action) -> None:  # type: ignore[no-untyped-def]
    order = complaint(city, bj(2026, 11, 2, 9))
    assert order.status == Status.DISPATCHED
    assert "flag" in states.allowed_actions(Status.DISPATCHED)
    assert policy.POLICY["workorder.flag"].roles == frozenset({"quality"})
    assert actions.may_act(city.quality, order, "flag") and not actions.may_act(city.agent, order, "flag")
    actions.perform(user=city.quality, number=order.number, action="flag", data={"note": "重点关注"})
    assert flag_action == [{"order": order.number, "note": "重点关注"}]
    with pytest.raises(Forbidden, match="标记"):
        actions.perform(user=city.agent, number=order.number, action="flag", data={"note": "x"})


def test_an_action_is_refused_outside_its_declared_states(city: City, flag_action) -> None:  # type: ignore[no-untyped-def]
    order = complaint(city, bj(2026, 11, 2, 9))
    services.workorder_take(order=order, actor=city.handler)
    with pytest.raises(states.InvalidTransition, match="不能标记"):
        states.target_state(Status.TAKEN, "flag")


def test_internal_transitions_have_no_door_and_unknown_actions_name_the_choices(city: City) -> None:
    order = complaint(city, bj(2026, 11, 2, 9))
    assert "workorder.reopen" not in policy.POLICY  # reopened only by an unsatisfied return visit
    with pytest.raises(ServiceError, match="未知的操作 'reopen'") as info:
        actions.perform(user=city.shift_lead, number=order.number, action="reopen", data={})
    assert "dispatch" in info.value.message


def test_a_rule_cannot_be_declared_twice_with_different_roles() -> None:
    with pytest.raises(RuntimeError, match="declared twice"):
        policy.declare_rule("workorder.dispatch", roles={"crew"}, reach=Reach.HOLDER, label="派发")
