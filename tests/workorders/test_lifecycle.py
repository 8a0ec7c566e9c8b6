"""The work-order lifecycle through the services: routing, deadlines, pauses, merging, visits, applications."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gridcare.core.errors import Conflict, ServiceError
from gridcare.core.models import Event
from gridcare.workorders import services as svc
from gridcare.workorders.models import Deadline, RoutingRule, SlaTarget, Status, WorkOrder
from gridcare.workorders.states import InvalidTransition
from tests import factories as f
from tests.conftest import City
from tests.workorders.helpers import bj, cat, complaint, deadline


def test_complaint_accepted_before_national_day_is_due_after_it(city: City) -> None:
    order = complaint(city, bj(2026, 9, 30, 16))
    assert deadline(order, "contact").due_at == bj(2026, 10, 8, 16)
    assert deadline(order, "reply").due_at == bj(2026, 10, 14, 16)
    assert order.number.startswith("20260930") and len(order.number) == 16


def test_complaint_is_routed_to_the_department_and_the_event_is_written(city: City) -> None:
    order = complaint(city, bj(2026, 11, 2, 9))
    assert order.status == Status.DISPATCHED and order.unit == city.marketing
    assert order.sender_unit == city.center
    actions = list(
        Event.objects.filter(subject_id=str(order.pk), subject_type="workorders.workorder")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["workorder.create", "workorder.dispatch"]


def test_routing_rule_by_area_beats_the_default(city: City) -> None:
    rural_dept = f.make_unit("department", parent=city.company, scope_unit=city.company, name="农电营销")
    RoutingRule.objects.create(category=cat("complaint"), area_class="rural", unit=rural_dept, rank=10)
    urban = complaint(city, bj(2026, 11, 2, 9))
    rural = complaint(city, bj(2026, 11, 2, 9), customer=city.south_customer)
    assert urban.unit == city.marketing and rural.unit == rural_dept


def test_2027_order_does_not_crash_and_warns(city: City) -> None:
    order = complaint(city, bj(2027, 9, 30, 16))
    assert deadline(order, "contact").due_at == bj(2027, 10, 1, 16)
    assert "2027" in WorkOrder.objects.get(pk=order.pk).calendar_warning


def test_invalid_transition_says_what_is_allowed(city: City) -> None:
    order = complaint(city, bj(2026, 11, 2, 9))
    with pytest.raises(InvalidTransition) as info:
        svc.workorder_archive(order=order, actor=city.handler)
    assert info.value.status == 409
    assert "接单(take)" in info.value.message and "take" in info.value.errors["allowed_actions"]


def test_stale_copy_loses_the_compare_and_swap(city: City) -> None:
    order = complaint(city, bj(2026, 11, 2, 9))
    stale = WorkOrder.objects.get(pk=order.pk)
    svc.workorder_take(order=order, actor=city.handler)
    with pytest.raises(Conflict):
        from gridcare.workorders.services import _transition

        _transition(stale, "take", city.handler, bj(2026, 11, 2, 9))


def test_suspension_pauses_the_clock(city: City) -> None:
    order = complaint(city, bj(2026, 11, 2, 9))  # Monday
    svc.workorder_take(order=order, actor=city.handler, now=bj(2026, 11, 2, 10))
    svc.workorder_suspend(order=order, actor=city.handler, reason="客户出差，约定下周联系", now=bj(2026, 11, 2, 11))
    assert deadline(order, "reply").next_check_at is None
    resumed = svc.workorder_resume(order=order, actor=city.handler, now=bj(2026, 11, 4, 11))
    assert resumed.status == Status.TAKEN
    # Six working days from Monday 09:00 is Tuesday 10 Nov 09:00; two working days paused push it to Thursday.
    assert deadline(order, "reply").due_at == bj(2026, 11, 12, 9)


def test_transfer_return_and_recall_keep_the_number(city: City) -> None:
    order = complaint(city, bj(2026, 11, 2, 9))
    number = order.number
    other = f.make_unit("department", parent=city.company, scope_unit=city.company, name="运检部")
    order = svc.workorder_transfer(order=order, actor=city.handler, unit=other, reason="属于设备问题")
    assert order.unit == other and order.sender_unit == city.marketing
    order = svc.workorder_return(order=order, actor=city.handler, reason="不属于本部门")
    assert order.status == Status.RETURNED and order.unit == city.marketing
    order = svc.workorder_dispatch(order=order, actor=city.shift_lead, unit=other)
    order = svc.workorder_recall(order=order, actor=city.shift_lead, reason="派错单位")
    assert order.status == Status.ACCEPTED and order.unit == city.center
    assert order.number == number
    with pytest.raises(ServiceError, match="原因"):
        svc.workorder_transfer(order=order, actor=city.handler, unit=other, reason=" ")


def test_repeat_calls_count_on_the_main_order_and_merge_unmerge(city: City) -> None:
    first = complaint(city, bj(2026, 11, 2, 9))
    second = complaint(city, bj(2026, 11, 2, 15), category="complaint_business")
    assert second.repeat_of == first
    first.refresh_from_db()
    assert first.call_count == 2
    child = svc.workorder_merge(child=second, main=first, actor=city.agent, reason="同一诉求")
    first.refresh_from_db()
    # Two calls, counted once each: intake already counted the repeat on the first order, so merging adds none.
    assert child.status == Status.MERGED and child.main == first and first.call_count == 2
    assert not Deadline.objects.filter(order=child, state="pending").exists()
    back = svc.workorder_unmerge(child=child, actor=city.agent, reason="不是同一诉求")
    first.refresh_from_db()
    assert back.status == Status.DISPATCHED and back.main is None and first.call_count == 2
    assert Deadline.objects.filter(order=back, state="pending").exists()


def test_merging_an_order_that_is_not_a_repeat_counts_its_calls_once(city: City) -> None:
    first = complaint(city, bj(2026, 11, 2, 9))
    other = complaint(city, bj(2026, 11, 9, 9))  # a week later: outside the repeat window, its own matter
    later = complaint(city, bj(2026, 11, 9, 10))  # a repeat of `other`, counted there
    other.refresh_from_db()
    assert later.repeat_of == other and other.call_count == 2 and first.call_count == 1
    svc.workorder_merge(child=later, main=other, actor=city.agent, reason="同一诉求")
    other.refresh_from_db()
    assert other.call_count == 2  # the repeat was already counted on `other`
    child = svc.workorder_merge(
        child=svc.workorder_unmerge(child=later, actor=city.agent), main=first, actor=city.agent
    )
    first.refresh_from_db()
    assert child.main == first and first.call_count == 2  # `later` is not a repeat of `first`: its call is new there
    svc.workorder_unmerge(child=child, actor=city.agent)
    first.refresh_from_db()
    assert first.call_count == 1


def test_unrelated_or_old_calls_are_not_repeats(city: City) -> None:
    complaint(city, bj(2026, 11, 2, 9))
    later = complaint(city, bj(2026, 11, 9, 9))
    praise = svc.workorder_create(
        actor=city.agent,
        channel="phone",
        category=cat("praise"),
        customer=city.north_customer,
        description="表扬抢修班",
        now=bj(2026, 11, 9, 10),
    )
    assert later.repeat_of is None and praise.repeat_of is None


def test_consultation_answered_during_the_call_is_archived(city: City) -> None:
    order = svc.workorder_create(
        actor=city.agent,
        channel="phone",
        category=cat("query_bill"),
        customer=city.north_customer,
        description="电价多少",
        reply_text="居民第一档 0.4883 元",
    )
    assert order.status == Status.ARCHIVED and order.reply_text.startswith("居民")


def test_non_customer_enquiry_needs_name_and_phone(city: City) -> None:
    with pytest.raises(ServiceError, match="来电人"):
        svc.workorder_create(actor=city.agent, channel="web", category=cat("consult"), description="新装怎么办")
    order = svc.workorder_create(
        actor=city.agent,
        channel="web",
        category=cat("consult"),
        description="新装怎么办",
        caller_name="刘先生",
        caller_phone="13900001111",
    )
    assert order.customer is None and order.caller_name == "刘先生"


def reply_and_visit(city: City):  # type: ignore[no-untyped-def]
    order = complaint(city, bj(2026, 11, 2, 9))
    svc.workorder_take(order=order, actor=city.handler, now=bj(2026, 11, 2, 10))
    svc.workorder_contact(order=order, actor=city.handler, note="已致电客户", now=bj(2026, 11, 2, 11))
    order = svc.workorder_reply(order=order, actor=city.handler, text="已批评教育相关人员", now=bj(2026, 11, 3, 9))
    return order


def test_reply_meets_deadlines_and_creates_the_return_visit(city: City) -> None:
    order = reply_and_visit(city)
    assert order.status == Status.RETURN_VISIT
    assert Deadline.objects.filter(order=order, met_at__isnull=True).count() == 0
    assert order.visits.filter(closed_at__isnull=True).count() == 1


def test_unsatisfied_visit_reopens_the_order_to_its_unit(city: City) -> None:
    order = reply_and_visit(city)
    visit = order.visits.get()
    svc.visit_record(visit=visit, actor=city.quality, result="unsatisfied", note="仍不满意", now=bj(2026, 11, 3, 15))
    order.refresh_from_db()
    assert order.status == Status.DISPATCHED and order.unit == city.marketing
    assert deadline(order, "reply").due_at == bj(2026, 11, 11, 15)


def test_three_unanswered_calls_at_different_times_make_it_unreachable(city: City) -> None:
    order = reply_and_visit(city)
    visit = order.visits.get()
    svc.visit_record(visit=visit, actor=city.quality, result="no_answer", now=bj(2026, 11, 3, 10))
    with pytest.raises(ServiceError, match="间隔"):
        svc.visit_record(visit=visit, actor=city.quality, result="no_answer", now=bj(2026, 11, 3, 10, 5))
    svc.visit_record(visit=visit, actor=city.quality, result="no_answer", now=bj(2026, 11, 3, 14))
    visit.refresh_from_db()
    assert visit.closed_at is None
    svc.visit_record(visit=visit, actor=city.quality, result="no_answer", now=bj(2026, 11, 4, 10))
    visit.refresh_from_db()
    order.refresh_from_db()
    assert visit.outcome == "unreachable" and order.status == Status.ARCHIVED


def test_capacity_increase_changes_the_ledger_only_when_completed(city: City) -> None:
    customer = city.north_customer
    order = svc.workorder_create(
        actor=city.agent,
        channel="counter",
        category=cat("app_increase"),
        customer=customer,
        description="申请增容到 16kVA",
        application_params={"new_kva": "16"},
        now=bj(2026, 11, 2, 9),
    )
    steps = list(order.steps.values_list("name", flat=True))
    assert steps == ["受理", "现场勘查", "装表接电"]
    assert Deadline.objects.get(order=order, milestone="complete").due_at == bj(2026, 11, 9, 9)  # 5 working days
    svc.workorder_take(order=order, actor=city.handler)
    for _ in range(2):
        svc.workorder_complete_step(order=order, actor=city.handler, note="完成")
        customer.refresh_from_db()
        assert customer.contract_kva == Decimal("8.0")
    svc.workorder_complete_step(order=order, actor=city.handler, note="已装表接电")
    customer.refresh_from_db()
    assert customer.contract_kva == Decimal("16.0")
    assert Event.objects.filter(action="customer.update", subject_id=str(customer.pk)).exists()
    order = svc.workorder_reply(order=order, actor=city.handler, text="增容已完成")
    assert order.status == Status.RETURN_VISIT


def test_high_voltage_connection_has_the_22_day_limit(city: City) -> None:
    hv = f.make_customer(
        city.north,
        city.north_net.areas[0],
        customer_type="hv",
        category="large_industry",
        voltage_level="10kV",
        contract_kva=Decimal("800"),
    )
    order = svc.workorder_create(
        actor=city.agent,
        channel="counter",
        category=cat("app_increase"),
        customer=hv,
        description="增容",
        application_params={"new_kva": "1250"},
        now=bj(2026, 11, 2, 9),
    )
    assert order.supply_class == "hv_single" and order.steps.count() == 7
    assert Deadline.objects.get(order=order, milestone="complete").due_at == bj(2026, 12, 2, 9)


def test_missing_application_parameter_blocks_completion_without_changing_anything(city: City) -> None:
    order = svc.workorder_create(
        actor=city.agent,
        channel="counter",
        category=cat("app_rename"),
        customer=city.north_customer,
        description="过户",
    )
    svc.workorder_take(order=order, actor=city.handler)
    svc.workorder_complete_step(order=order, actor=city.handler)
    svc.workorder_complete_step(order=order, actor=city.handler)
    with pytest.raises(ServiceError, match="new_name"):
        svc.workorder_complete_step(order=order, actor=city.handler)
    assert order.steps.filter(done_at__isnull=True).count() == 1
    svc.workorder_complete_step(order=order, actor=city.handler, params={"new_name": "王大明"})
    city.north_customer.refresh_from_db()
    assert city.north_customer.name == "王大明"


def test_policy_change_recomputes_open_deadlines_from_history(city: City) -> None:
    order = complaint(city, bj(2026, 11, 2, 9))
    svc.workorder_take(order=order, actor=city.handler, now=bj(2026, 11, 2, 10))
    svc.workorder_suspend(order=order, actor=city.handler, reason="等待客户材料", now=bj(2026, 11, 3, 9))
    svc.workorder_resume(order=order, actor=city.handler, now=bj(2026, 11, 4, 9))
    policy = cat("complaint").sla_policy
    assert policy is not None
    SlaTarget.objects.filter(policy=policy, milestone="reply").update(amount=7)  # the older 7-day rule
    changed = svc.deadlines_recompute(policy=policy, actor=city.admin, now=bj(2026, 11, 4, 10))
    assert changed == 1
    assert deadline(order, "reply").due_at == bj(2026, 11, 12, 9)  # 7 working days + 1 day paused
    event = Event.objects.get(action="workorder.deadline_recompute", subject_id=str(order.pk))
    assert event.old is not None and event.new is not None
    assert event.new["due_at"].startswith("2026-11-12T09:00:00+08:00")
    assert event.old["due_at"].endswith("+08:00")  # both in Beijing time, though the old one was read in UTC


def test_a_call_after_a_merge_counts_on_the_main_order_and_cancelled_orders_are_not_repeats(city: City) -> None:
    first = complaint(city, bj(2026, 11, 2, 9))
    second = complaint(city, bj(2026, 11, 2, 10))
    svc.workorder_merge(child=second, main=first, actor=city.agent, reason="同一诉求")
    # The earliest similar order is `first`; the merged `second` must lead to it too, never to itself.
    third = complaint(city, bj(2026, 11, 2, 11))
    assert third.repeat_of == first
    first.refresh_from_db()
    assert first.call_count == 3  # three calls, each counted once (the merge adds no call)
    other = f.make_customer(city.north_customer.service_unit, city.north_customer.service_point.transformer_area)
    cancelled = complaint(city, bj(2026, 11, 3, 9), customer=other)
    svc.workorder_cancel(order=cancelled, actor=city.agent, reason="客户撤诉")
    fresh = complaint(city, bj(2026, 11, 3, 10), customer=other)
    assert fresh.repeat_of is None
