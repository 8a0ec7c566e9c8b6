"""Concurrent delivery per channel: provider calls overlap up to the channel's concurrency, every message is sent
once, and a worker killed mid-batch leaves at most that many messages uncertain — never one sent twice."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from gridcare.notices import delivery
from gridcare.notices.channels import Envelope, SendResult, SmsGatewayChannel
from gridcare.notices.models import Message, MessageStatus
from tests.conftest import City
from tests.notices.conftest import Gateway, make_config
from tests.notices.test_delivery import NOW, DyingSms, WorkerKilled, announce, statuses


class CountingSms(SmsGatewayChannel):
    """The real gateway channel, counting how many of its calls are in flight at once."""

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        self.lock = threading.Lock()
        self.in_flight = self.peak = 0
        self.threads: set[int] = set()

    def open(self) -> Any:
        real = super().open()
        outer = self

        class Sender:
            def send(self, envelope: Envelope) -> SendResult:
                with outer.lock:
                    outer.in_flight += 1
                    outer.peak = max(outer.peak, outer.in_flight)
                    outer.threads.add(threading.get_ident())
                try:
                    return real.send(envelope)
                finally:
                    with outer.lock:
                        outer.in_flight -= 1

            def close(self) -> None:
                real.close()

        return Sender()


def test_sends_overlap_up_to_the_channels_concurrency_and_each_message_goes_once(
    city: City, sms_gateway: Gateway, use_config: Any, tmp_path: Path
) -> None:
    config = use_config(make_config(tmp_path, gateway=sms_gateway, GRIDCARE_SMS_CONCURRENCY="4"))
    sms_gateway.delay = 0.05  # a slow gateway: one call at a time would leave the others waiting
    notice = announce(city, 11, ["sms"])
    counting = CountingSms(config)
    assert delivery.deliver_batch(channel="sms", now=NOW, channel_impl=counting) == 12
    assert 1 < counting.peak <= 4
    assert len(counting.threads) > 1 and threading.get_ident() not in counting.threads
    assert statuses(notice) == {"sent": 12}
    assert len(sms_gateway.calls) == 12 and len(set(sms_gateway.refs())) == 12
    sent = Message.objects.filter(notice=notice)
    assert all(m.log.filter(outcome="sent").count() == 1 for m in sent)  # the log written once per message


def test_a_worker_killed_mid_batch_with_concurrent_sends_parks_at_most_that_many_and_sends_none_twice(
    city: City, sms_gateway: Gateway, use_config: Any, tmp_path: Path
) -> None:
    config = use_config(make_config(tmp_path, gateway=sms_gateway, GRIDCARE_SMS_CONCURRENCY="3"))
    notice = announce(city, 9, ["sms"])
    with pytest.raises(WorkerKilled):
        delivery.deliver_batch(channel="sms", now=NOW, channel_impl=DyingSms(config, after=4, during_call=True))
    later = NOW + dt.timedelta(seconds=config.lease_seconds + 1)
    delivery.reap_expired(later)
    delivery.deliver_all(later)
    counts = statuses(notice)
    assert 1 <= counts.get("uncertain", 0) <= 3
    assert counts.get("sent", 0) + counts["uncertain"] == 10 and set(counts) <= {"sent", "uncertain"}
    assert len(sms_gateway.refs()) == len(set(sms_gateway.refs()))  # no message reached the gateway twice


def test_an_idempotent_channel_sends_concurrently_and_records_every_result(
    city: City, use_config: Any, tmp_path: Path
) -> None:
    use_config(make_config(tmp_path, GRIDCARE_OUTBOX_CONCURRENCY="3"))
    notice = announce(city, 5, ["outbox"])
    assert delivery.deliver_all(NOW) == 6
    assert statuses(notice) == {"delivered": 6}
    assert len(list((tmp_path / "outbox").rglob("*.json"))) == 6
    assert not Message.objects.filter(notice=notice, status=MessageStatus.SENDING).exists()


def test_a_concurrency_below_one_is_refused_naming_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ImproperlyConfigured, match="GRIDCARE_SMS_CONCURRENCY"):
        make_config(tmp_path, GRIDCARE_SMS_CONCURRENCY="0")
