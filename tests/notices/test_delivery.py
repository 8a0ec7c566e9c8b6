"""Delivery by the worker: claims, retries, dead letters, rate limits, and never the same message twice."""

from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from gridcare.core.worker import discover, run_pass
from gridcare.notices import delivery, services
from gridcare.notices.audiences import Audience
from gridcare.notices.channels import Envelope, SendResult, SmsGatewayChannel
from gridcare.notices.config import NoticeConfig
from gridcare.notices.models import DeliveryAttempt, InAppMessage, Message, MessageStatus, Notice
from tests import factories as f
from tests.conftest import City
from tests.notices.conftest import Gateway, make_config

SH = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2026, 10, 8, 10, 0, tzinfo=SH)


def announce(city: City, n_extra: int, channels: list[str], **kw: Any) -> Notice:
    for i in range(n_extra):
        f.make_customer(city.north, city.north_net.areas[i % 2])
    return services.announcement_send(
        title="电价调整公告",
        text="自11月1日起执行新的分时电价。",
        audience=Audience(feeders=[city.north_net.feeder]),
        channels=channels,
        actor=None,
        now=NOW,
        **kw,
    )


class WorkerKilled(BaseException):
    """Stands for SIGKILL: not an Exception, so nothing in the worker catches it."""


class DyingSms(SmsGatewayChannel):
    """The real gateway channel, whose process 'dies' after `after` sends — before or after the HTTP call."""

    def __init__(self, config: NoticeConfig, *, after: int, during_call: bool):
        super().__init__(config)
        self.after, self.during_call, self.sent = after, during_call, 0

    def open(self) -> Any:
        real = super().open()
        outer = self

        class Sender:
            def send(self, envelope: Envelope) -> SendResult:
                if outer.sent == outer.after and not outer.during_call:
                    raise WorkerKilled
                result = real.send(envelope)
                outer.sent += 1
                if outer.sent == outer.after + 1 and outer.during_call:
                    raise WorkerKilled  # the gateway took it; the worker never recorded that
                return result

            def close(self) -> None:
                real.close()

        return Sender()


def statuses(notice: Notice) -> dict[str, int]:
    out: dict[str, int] = {}
    for s in Message.objects.filter(notice=notice).values_list("status", flat=True):
        out[s] = out.get(s, 0) + 1
    return out


def test_a_worker_killed_between_messages_leaves_the_rest_to_the_next_one_and_nothing_is_sent_twice(
    city: City, sms_gateway: Gateway, use_config: Any, tmp_path: Path
) -> None:
    config = use_config(make_config(tmp_path, gateway=sms_gateway))
    notice = announce(city, 9, ["sms"])
    assert notice.recipients == 10
    owner = "worker-that-dies"
    batch = delivery.claim(channel="sms", now=NOW, limit=100, owner=owner, lease=dt.timedelta(minutes=5))
    assert len(batch) == 10
    # The worker gets through four messages, then its process is gone.
    delivery.send_claimed(messages=batch[:4], channel=SmsGatewayChannel(config), now=NOW, owner=owner, config=config)
    assert len(sms_gateway.calls) == 4
    # Until its lease runs out, nobody else touches the dead worker's batch.
    assert delivery.deliver_all(NOW + dt.timedelta(seconds=30)) == 0
    later = NOW + dt.timedelta(minutes=5, seconds=1)
    assert delivery.reap_expired(later) == 6
    assert delivery.deliver_all(later) == 6
    assert len(sms_gateway.calls) == 10 and len(set(sms_gateway.refs())) == 10
    assert statuses(notice) == {"sent": 10}
    assert delivery.deliver_all(later + dt.timedelta(hours=1)) == 0 and len(sms_gateway.calls) == 10


def test_a_worker_killed_inside_the_gateway_call_parks_that_message_instead_of_sending_it_twice(
    city: City, sms_gateway: Gateway, use_config: Any, tmp_path: Path
) -> None:
    config = use_config(make_config(tmp_path, gateway=sms_gateway))
    notice = announce(city, 5, ["sms"])
    with pytest.raises(WorkerKilled):
        delivery.deliver_batch(channel="sms", now=NOW, channel_impl=DyingSms(config, after=2, during_call=True))
    assert len(sms_gateway.calls) == 3
    later = NOW + dt.timedelta(seconds=config.lease_seconds + 1)
    delivery.reap_expired(later)
    delivery.deliver_all(later)
    assert len(sms_gateway.calls) == 6 and len(set(sms_gateway.refs())) == 6
    assert statuses(notice) == {"sent": 5, "uncertain": 1}
    parked = Message.objects.get(notice=notice, status=MessageStatus.UNCERTAIN)
    assert parked.log.filter(outcome="uncertain").exists()


def test_an_idempotent_gateway_gets_the_interrupted_message_again_under_the_same_key(
    city: City, sms_gateway: Gateway, use_config: Any, tmp_path: Path
) -> None:
    sms_gateway.dedupe = True
    config = use_config(make_config(tmp_path, gateway=sms_gateway, GRIDCARE_SMS_IDEMPOTENT="yes"))
    notice = announce(city, 3, ["sms"])
    with pytest.raises(WorkerKilled):
        delivery.deliver_batch(channel="sms", now=NOW, channel_impl=DyingSms(config, after=1, during_call=True))
    later = NOW + dt.timedelta(seconds=config.lease_seconds + 1)
    delivery.reap_expired(later)
    delivery.deliver_all(later)
    assert statuses(notice) == {"sent": 4}
    assert len(sms_gateway.calls) == 4 and len(set(sms_gateway.refs())) == 4


def test_failures_are_retried_with_back_off_then_dead_lettered(
    city: City, sms_gateway: Gateway, use_config: Any, tmp_path: Path
) -> None:
    use_config(
        make_config(
            tmp_path, gateway=sms_gateway, GRIDCARE_NOTICE_MAX_ATTEMPTS="3", GRIDCARE_NOTICE_BACKOFF_SECONDS="60"
        )
    )
    notice = announce(city, 0, ["sms"])
    msg = Message.objects.get(notice=notice)
    sms_gateway.fail_next = [503, 503, 503]
    assert delivery.deliver_all(NOW) == 1
    msg.refresh_from_db()
    assert msg.status == MessageStatus.QUEUED and msg.attempts == 1
    assert msg.next_attempt_at == NOW + dt.timedelta(seconds=60) and "503" in msg.last_error
    assert delivery.deliver_all(NOW + dt.timedelta(seconds=59)) == 0  # still backing off
    delivery.deliver_all(NOW + dt.timedelta(seconds=60))
    msg.refresh_from_db()
    assert msg.next_attempt_at == NOW + dt.timedelta(seconds=180)  # 60 s, then 120 s
    delivery.deliver_all(NOW + dt.timedelta(seconds=180))
    msg.refresh_from_db()
    assert msg.status == MessageStatus.DEAD and msg.attempts == 3
    assert list(msg.log.values_list("outcome", flat=True)) == ["retry", "retry", "dead"]
    assert sms_gateway.calls == []


def test_a_refused_number_fails_at_once_with_the_gateways_answer(
    city: City, sms_gateway: Gateway, use_config: Any, tmp_path: Path
) -> None:
    use_config(make_config(tmp_path, gateway=sms_gateway))
    notice = announce(city, 0, ["sms"])
    sms_gateway.fail_next = [400]
    delivery.deliver_all(NOW)
    msg = Message.objects.get(notice=notice)
    assert msg.status == MessageStatus.FAILED and msg.attempts == 1 and '"ok": false' in msg.last_error


def test_rate_limit_per_channel_spreads_sending_over_minutes(
    city: City, sms_gateway: Gateway, use_config: Any, tmp_path: Path
) -> None:
    use_config(make_config(tmp_path, gateway=sms_gateway, GRIDCARE_SMS_RATE_PER_MINUTE="3"))
    announce(city, 6, ["sms"])
    assert sum(run_pass(NOW, {"notices.deliver"}).values()) == 3
    assert sum(run_pass(NOW + dt.timedelta(seconds=30), {"notices.deliver"}).values()) == 0
    assert sum(run_pass(NOW + dt.timedelta(seconds=60), {"notices.deliver"}).values()) == 3
    assert sum(run_pass(NOW + dt.timedelta(seconds=120), {"notices.deliver"}).values()) == 1
    assert len(sms_gateway.calls) == 7


def test_quiet_hours_hold_non_urgent_messages_until_morning(city: City) -> None:
    night = dt.datetime(2026, 10, 8, 22, 30, tzinfo=SH)
    notice = services.announcement_send(
        title="电费政策", text="说明", audience=Audience(feeders=[city.north_net.feeder]), actor=None, now=night
    )
    assert Message.objects.get(notice=notice).next_attempt_at == dt.datetime(2026, 10, 9, 7, 0, tzinfo=SH)
    assert delivery.deliver_all(night + dt.timedelta(hours=1)) == 0
    assert delivery.deliver_all(dt.datetime(2026, 10, 9, 7, 0, tzinfo=SH)) == 1


def test_two_workers_taking_turns_never_share_a_message(city: City, tmp_path: Path) -> None:
    notice = announce(city, 11, ["inapp"], urgent=True)
    a = delivery.claim(channel="inapp", now=NOW, limit=5, owner="A", lease=dt.timedelta(minutes=5))
    b = delivery.claim(channel="inapp", now=NOW, limit=50, owner="B", lease=dt.timedelta(minutes=5))
    assert len(a) == 5 and len(b) == 7 and not {m.pk for m in a} & {m.pk for m in b}
    config = make_config(tmp_path)
    from gridcare.notices.channels import InAppChannel

    delivery.send_claimed(messages=b, channel=InAppChannel(), now=NOW, owner="B", config=config)
    # A cannot finish B's rows, and B cannot finish A's.
    delivery.send_claimed(messages=b, channel=InAppChannel(), now=NOW, owner="A", config=config)
    delivery.send_claimed(messages=a, channel=InAppChannel(), now=NOW, owner="A", config=config)
    assert statuses(notice) == {"delivered": 12}
    assert InAppMessage.objects.count() == 12
    assert DeliveryAttempt.objects.count() == 12


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_worker_threads_send_every_message_exactly_once(
    city: City, sms_gateway: Gateway, use_config: Any, tmp_path: Path
) -> None:
    use_config(make_config(tmp_path, gateway=sms_gateway, GRIDCARE_NOTICE_BATCH="7"))
    notice = announce(city, 59, ["sms"], urgent=True)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            while delivery.deliver_all(NOW):
                pass
        except BaseException as exc:  # surfaced in the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert statuses(notice) == {"sent": 60}
    assert len(sms_gateway.calls) == 60 and len(set(sms_gateway.refs())) == 60
    workers = set(DeliveryAttempt.objects.values_list("worker", flat=True))
    assert len(workers) >= 2


def test_outbox_channel_writes_one_file_per_message(city: City, use_config: Any, tmp_path: Path) -> None:
    config = use_config(make_config(tmp_path))
    notice = announce(city, 1, ["outbox"], urgent=True)
    assert delivery.deliver_all(NOW) == 2
    files = sorted((config.outbox_dir / "20261008").glob("*.json"))
    assert len(files) == 2
    record = json.loads(files[0].read_text(encoding="utf-8"))
    assert record["subject"] == "电价调整公告" and "分时电价" in record["body"]
    assert statuses(notice) == {"delivered": 2}


def test_worker_registers_the_notice_jobs() -> None:
    assert {"notices.deliver", "notices.reap", "notices.reminders"} <= set(discover())
