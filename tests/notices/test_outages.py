"""Outages as data: exactly the customers under the network are told, on time, and again only when it matters."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from gridcare.core.errors import Conflict, ServiceError
from gridcare.core.models import Event
from gridcare.customers.models import Customer
from gridcare.customers.selectors import customer_ids_under
from gridcare.notices import delivery, services
from gridcare.notices.models import (
    FollowUpTask,
    Message,
    MessageStatus,
    Notice,
    NoticeKind,
    Outage,
    OutageCustomer,
    OutageStatus,
)
from tests import factories as f
from tests.conftest import City
from tests.notices.conftest import Gateway, SmtpSink, make_config

SH = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2026, 10, 8, 10, 0, tzinfo=SH)


def more_customers(city: City, n: int = 3) -> list[Customer]:
    areas = city.north_net.areas
    return [f.make_customer(city.north, areas[i % len(areas)]) for i in range(n)]


def planned(city: City, *, days: float = 10, hours: float = 8, **kw: Any) -> Outage:
    start = NOW + dt.timedelta(days=days)
    return services.outage_create(
        kind=kw.pop("kind", "planned"),
        title=kw.pop("title", "10kV 线路检修"),
        cause=kw.pop("cause", "线路设备检修"),
        unit=city.north,
        starts_at=start,
        ends_at=start + dt.timedelta(hours=hours),
        feeders=kw.pop("feeders", [city.north_net.feeder]),
        actor=city.dispatcher_north,
        now=NOW,
        **kw,
    )


def recipients(notice: Notice, channel: str = "inapp") -> set[int]:
    return set(Message.objects.filter(notice=notice, channel=channel).values_list("customer_id", flat=True))


def test_planned_outage_on_a_feeder_tells_exactly_the_customers_under_it_by_sms_and_email(
    city: City, smtp_server: SmtpSink, sms_gateway: Gateway, use_config: Any, tmp_path: Path
) -> None:
    use_config(make_config(tmp_path, smtp=smtp_server, gateway=sms_gateway))
    others = more_customers(city, 4)
    for i, c in enumerate([city.north_customer, *others]):
        services.preference_set(customer=c, channel="email", address=f"kehu{i}@example.cn", actor=None, now=NOW)
    outage = planned(city)
    notice = services.outage_publish(outage=outage, actor=city.dispatcher_north, channels=["sms", "email"], now=NOW)

    expected = set(customer_ids_under(feeder_ids=[city.north_net.feeder.pk]).values_list("id", flat=True))
    assert city.south_customer.pk not in expected and len(expected) == 5
    assert set(OutageCustomer.objects.filter(outage=outage).values_list("customer_id", flat=True)) == expected
    assert recipients(notice, "sms") == expected == recipients(notice, "email")
    outage.refresh_from_db()
    assert outage.status == OutageStatus.PUBLISHED and outage.affected_count == 5 and not outage.is_late

    assert delivery.deliver_all(NOW) == 10
    phones = {c.contacts.get().phone for c in Customer.objects.filter(pk__in=expected)}
    assert {call["phone"] for call in sms_gateway.calls} == phones
    assert all(call["auth"] == "test-key" for call in sms_gateway.calls)
    assert len(smtp_server.messages) == 5
    mail = next(m for m in smtp_server.messages if m["To"] == "kehu0@example.cn")
    body = mail.get_content()
    assert city.north_customer.name in body and city.north_customer.account_no in body
    assert "2026-10-18 10:00 至 18:00" in body and "95598" in body and "线路设备检修" in body
    assert Message.objects.filter(notice=notice, status=MessageStatus.SENT).count() == 10
    sent = Message.objects.get(notice=notice, channel="sms", customer=city.north_customer)
    assert sent.address == "13812345678" and "王小明" in sent.body and sent.sent_at == NOW


def test_planned_outage_three_days_ahead_is_refused_without_a_reason_and_flagged_with_one(city: City) -> None:
    outage = planned(city, days=3)
    with pytest.raises(ServiceError) as exc:
        services.outage_publish(outage=outage, actor=city.dispatcher_north, now=NOW)
    assert exc.value.field == "late_reason" and "7 天" in exc.value.message
    outage.refresh_from_db()
    assert outage.status == OutageStatus.DRAFT
    assert not Notice.objects.exists() and not OutageCustomer.objects.exists()

    services.outage_publish(outage=outage, actor=city.dispatcher_north, late_reason="配合市政施工临时调整", now=NOW)
    outage.refresh_from_db()
    assert outage.is_late and outage.late_reason == "配合市政施工临时调整"


def test_seven_day_rule_is_configurable(city: City, use_config: Any, tmp_path: Path) -> None:
    use_config(make_config(tmp_path, GRIDCARE_PLANNED_NOTICE_DAYS="3"))
    outage = planned(city, days=3)
    services.outage_publish(outage=outage, actor=city.dispatcher_north, now=NOW)
    outage.refresh_from_db()
    assert outage.status == OutageStatus.PUBLISHED and not outage.is_late


def test_temporary_maintenance_needs_24_hours_and_goes_out_even_in_quiet_hours(city: City) -> None:
    night = dt.datetime(2026, 10, 8, 23, 0, tzinfo=SH)
    outage = services.outage_create(
        kind="temporary",
        title="临时消缺",
        unit=city.north,
        starts_at=night + dt.timedelta(hours=10),
        ends_at=night + dt.timedelta(hours=12),
        areas=[city.north_net.areas[0]],
        actor=None,
        now=night,
    )
    with pytest.raises(ServiceError, match="24 小时"):
        services.outage_publish(outage=outage, actor=None, now=night)
    notice = services.outage_publish(outage=outage, actor=None, late_reason="设备缺陷需紧急处理", now=night)
    assert notice.urgent and notice.legally_required
    assert Message.objects.get(notice=notice).next_attempt_at == night


def test_changing_the_window_tells_the_same_customers_again_and_an_unrelated_edit_does_not(city: City) -> None:
    more_customers(city, 2)
    outage = planned(city)
    first = services.outage_publish(outage=outage, actor=None, now=NOW)
    told = recipients(first)

    assert (
        services.outage_update(outage=outage, title="10kV 线路检修（更正标题）", cause="更换开关", actor=None, now=NOW)
        == []
    )
    assert Notice.objects.count() == 1
    assert Event.objects.filter(action="outage.update", note="无需通知客户").exists()

    later = outage.starts_at + dt.timedelta(days=1)
    [changed] = services.outage_update(
        outage=outage, starts_at=later, ends_at=later + dt.timedelta(hours=6), actor=None, now=NOW
    )
    assert changed.kind == NoticeKind.OUTAGE_CHANGED and recipients(changed) == told
    assert "2026-10-19 10:00 至 16:00" in changed.context["window"]
    # Messages announcing the old window that had not gone out yet are held back.
    assert set(Message.objects.filter(notice=first).values_list("status", flat=True)) == {MessageStatus.SUPPRESSED}
    outage.refresh_from_db()
    assert outage.revision == 2


def test_a_scope_change_tells_new_customers_and_releases_the_old_ones(city: City) -> None:
    area0, area1 = city.north_net.areas
    in0 = city.north_customer
    in1 = f.make_customer(city.north, area1)
    outage = planned(city, feeders=[], areas=[area0])
    services.outage_publish(outage=outage, actor=None, now=NOW)
    notices = services.outage_update(outage=outage, areas=[area1], actor=None, now=NOW)
    by_kind = {n.kind: n for n in notices}
    assert set(by_kind) == {NoticeKind.OUTAGE_PUBLISHED, NoticeKind.OUTAGE_RELEASED}
    assert recipients(by_kind[NoticeKind.OUTAGE_PUBLISHED]) == {in1.pk}
    assert recipients(by_kind[NoticeKind.OUTAGE_RELEASED]) == {in0.pk}
    active = set(OutageCustomer.objects.filter(outage=outage, active=True).values_list("customer_id", flat=True))
    assert active == {in1.pk}


def test_cancelling_tells_everyone_who_was_told(city: City) -> None:
    outage = planned(city)
    first = services.outage_publish(outage=outage, actor=None, now=NOW)
    with pytest.raises(ServiceError):
        services.outage_cancel(outage=outage, reason=" ", actor=None, now=NOW)
    notice = services.outage_cancel(outage=outage, reason="天气原因推迟", actor=None, now=NOW)
    assert notice is not None and notice.kind == NoticeKind.OUTAGE_CANCELLED
    assert recipients(notice) == recipients(first)
    with pytest.raises(Conflict):
        services.outage_cancel(outage=outage, reason="again", actor=None, now=NOW)


def test_fault_outage_from_repair_calls_etr_and_restoration_reach_callers_and_affected(city: City) -> None:
    caller_elsewhere = city.south_customer  # topology says otherwise; the call still counts
    outage = services.outage_publish_fault(
        unit=city.north,
        title="城北线路故障",
        cause="树障导致跳闸",
        started_at=NOW,
        etr=NOW + dt.timedelta(hours=2),
        areas=[city.north_net.areas[0]],
        callers=[city.north_customer, caller_elsewhere],
        source_ref="repair-group:7",
        actor="抢修调度",
        now=NOW,
    )
    first = outage.notices.get()
    assert first.kind == NoticeKind.OUTAGE_ETR and first.urgent
    assert recipients(first) == {city.north_customer.pk, caller_elsewhere.pk}
    with pytest.raises(Conflict):
        services.outage_publish_fault(
            unit=city.north,
            title="x",
            cause="",
            started_at=NOW,
            etr=None,
            areas=[city.north_net.areas[0]],
            source_ref="repair-group:7",
            actor=None,
            now=NOW,
        )
    with pytest.raises(ServiceError) as exc:
        services.outage_update_etr(outage=outage, etr=NOW + dt.timedelta(hours=3), reason="", actor=None, now=NOW)
    assert exc.value.field == "reason"
    small = services.outage_update_etr(
        outage=outage, etr=NOW + dt.timedelta(hours=2, minutes=10), reason="微调", actor=None, now=NOW
    )
    assert small is None
    moved = services.outage_update_etr(
        outage=outage, etr=NOW + dt.timedelta(hours=4), reason="需更换电缆头", actor=None, now=NOW
    )
    assert moved is not None and moved.context["etr"] == "2026-10-08 14:00"
    restored = services.outage_restore(outage=outage, restored_at=NOW + dt.timedelta(hours=3), actor=None, now=NOW)
    assert restored.kind == NoticeKind.OUTAGE_RESTORED
    assert recipients(restored) == {city.north_customer.pk, caller_elsewhere.pk}
    outage.refresh_from_db()
    assert outage.status == OutageStatus.RESTORED
    # ETR messages not yet sent are moot once power is back.
    assert not Message.objects.filter(notice__kind=NoticeKind.OUTAGE_ETR, status=MessageStatus.QUEUED).exists()


def test_important_and_sensitive_customers_get_a_follow_up_task(city: City) -> None:
    vip = f.make_customer(
        city.north, city.north_net.areas[1], important_level="first", account_manager=city.dispatcher_north
    )
    touchy = f.make_customer(city.north, city.north_net.areas[1], is_sensitive=True)
    notice = services.outage_publish(outage=planned(city), actor=None, now=NOW)
    tasks = {t.customer_id: t for t in FollowUpTask.objects.filter(notice=notice)}
    assert set(tasks) == {vip.pk, touchy.pk}
    assert tasks[vip.pk].reason == "重要客户" and tasks[touchy.pk].reason == "敏感客户"
    assert tasks[vip.pk].due_at == notice.outage.starts_at - dt.timedelta(hours=24)
    assert tasks[vip.pk].unit == city.north
    # The VIP's account manager gets the task by name; without one it waits in the unit's queue.
    assert tasks[vip.pk].assignee == city.dispatcher_north and tasks[touchy.pk].assignee is None


def test_opt_out_is_respected_except_for_legally_required_notices(city: City) -> None:
    services.preference_set(customer=city.north_customer, channel="inapp", opted_out=True, actor=None, now=NOW)
    outage_notice = services.outage_publish(outage=planned(city), actor=None, now=NOW)
    assert Message.objects.get(notice=outage_notice, customer=city.north_customer).status == MessageStatus.QUEUED
    from gridcare.notices.audiences import Audience

    promo = services.announcement_send(
        title="电价调整公告",
        text="自11月1日起居民阶梯电价调整。",
        audience=Audience(feeders=[city.north_net.feeder]),
        actor=None,
        now=NOW,
    )
    assert Message.objects.get(notice=promo, customer=city.north_customer).status == MessageStatus.SUPPRESSED


def test_publishing_twice_or_with_an_unconfigured_channel_is_refused(city: City) -> None:
    outage = planned(city)
    with pytest.raises(ServiceError, match="GRIDCARE_SMS_URL"):
        services.outage_publish(outage=outage, actor=None, channels=["sms"], now=NOW)
    services.outage_publish(outage=outage, actor=None, now=NOW)
    with pytest.raises(Conflict):
        services.outage_publish(outage=outage, actor=None, now=NOW)


def test_window_must_end_after_it_starts(city: City) -> None:
    with pytest.raises(ServiceError) as exc:
        planned(city, hours=-1)
    assert exc.value.field == "ends_at"
    assert not Outage.objects.exists()
