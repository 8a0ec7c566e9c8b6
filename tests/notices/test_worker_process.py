"""A real `gridcare worker` process killed (SIGKILL) in the middle of a batch, then a fresh one started:
every remaining message goes out once and none twice. PostgreSQL only: the worker processes need to see the
test's committed data, which SQLite's in-memory test database cannot share."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from gridcare.notices import services
from gridcare.notices.audiences import Audience
from gridcare.notices.models import DeliveryAttempt, Message, MessageStatus
from tests import factories as f
from tests.conftest import City
from tests.notices.conftest import Gateway

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
TOTAL = 40


def worker_env(gateway: Gateway, tmp_path: Path, **extra: str) -> dict[str, str]:
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": url,  # the test database this test filled and committed
        "GRIDCARE_VAR_DIR": str(tmp_path / "var"),
        "LOG_LEVEL": "WARNING",
        "GRIDCARE_SMS_URL": gateway.url,
        "GRIDCARE_SMS_AUTH_HEADER": "X-Api-Key: test-key",
        "GRIDCARE_SMS_RATE_PER_MINUTE": "0",
        "GRIDCARE_NOTICE_BATCH": "10",
        "GRIDCARE_NOTICE_LEASE_SECONDS": "5",  # the shortest lease allowed: the restart does not wait long
        "GRIDCARE_NOTICE_CHANNELS": "sms",
        **extra,
    }


@contextmanager
def worker(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gridcare.cli", "worker", "--job", "notices.deliver", "--job", "notices.reap",
             "--interval", "0.3"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=30)


def wait_for(what: Callable[[], bool], proc: subprocess.Popen[bytes], log: Path, limit: float = 120) -> None:
    """Poll until `what` holds (a safety limit, not a measurement); a worker that died early fails the test."""
    deadline = time.monotonic() + limit
    while not what():
        assert proc.poll() is None, f"worker exited with {proc.returncode}:\n{log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"gave up waiting; worker log:\n{log.read_text()[-3000:]}"
        time.sleep(0.05)


def by_status(notice_id: int) -> dict[str, int]:
    out: dict[str, int] = {}
    for s in Message.objects.filter(notice_id=notice_id).values_list("status", flat=True):
        out[s] = out.get(s, 0) + 1
    return out


@pytest.mark.parametrize("idempotent", [False, True], ids=["plain-gateway", "deduping-gateway"])
def test_a_worker_process_killed_mid_batch_and_a_fresh_one_send_every_message_once_and_none_twice(
    city: City, sms_gateway: Gateway, tmp_path: Path, use_config: Any, idempotent: bool
) -> None:
    for i in range(TOTAL - 1):
        f.make_customer(city.north, city.north_net.areas[i % 2])
    from tests.notices.conftest import make_config

    use_config(make_config(tmp_path, gateway=sms_gateway))
    notice = services.announcement_send(
        title="电价调整公告",
        text="自11月1日起执行新的分时电价。",
        audience=Audience(feeders=[city.north_net.feeder]),
        channels=["sms"],
        urgent=True,  # not held by quiet hours, whatever the time of day the suite runs
        actor=None,
    )
    assert notice.recipients == TOTAL
    sms_gateway.delay = 0.05
    sms_gateway.dedupe = idempotent
    env = worker_env(sms_gateway, tmp_path, GRIDCARE_SMS_IDEMPOTENT="yes" if idempotent else "no")
    log = tmp_path / "worker.log"

    # First worker: let it get into its second batch of ten, then kill it without warning.
    with worker(env, log) as first:
        wait_for(lambda: len(sms_gateway.calls) >= 15, first, log)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    done_before = len(sms_gateway.calls)
    left = Message.objects.filter(
        notice=notice, status__in=[MessageStatus.QUEUED, MessageStatus.CLAIMED, MessageStatus.SENDING]
    ).count()
    assert 0 < left < TOTAL and done_before < TOTAL  # it really died halfway
    stranded = Message.objects.filter(notice=notice, status__in=[MessageStatus.CLAIMED, MessageStatus.SENDING])
    assert stranded.exists()  # its batch was still leased to it

    # A fresh worker: once the dead worker's lease runs out, its batch is reaped and the rest is sent.
    sms_gateway.delay = 0.0
    with worker(env, log) as second:
        wait_for(
            lambda: (
                not Message.objects.filter(
                    notice=notice, status__in=[MessageStatus.QUEUED, MessageStatus.CLAIMED, MessageStatus.SENDING]
                ).exists()
            ),
            second,
            log,
        )
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=30) == 0

    statuses = by_status(notice.pk)
    keys = dict(Message.objects.filter(notice=notice).values_list("id", "customer_id"))
    sent_keys = {m.idempotency_key for m in Message.objects.filter(notice=notice, status=MessageStatus.SENT)}
    refs = sms_gateway.refs()
    assert len(refs) == len(set(refs)), "a customer got the same SMS twice"
    assert len(keys) == TOTAL
    if idempotent:
        # The gateway drops repeats of a key, so an interrupted message is simply sent again.
        assert statuses == {"sent": TOTAL} and set(refs) == sent_keys
    else:
        # Never twice: a message caught inside the gateway call is parked for a person, not re-sent.
        assert set(statuses) <= {"sent", "uncertain"} and statuses.get("uncertain", 0) <= 1
        assert statuses["sent"] + statuses.get("uncertain", 0) == TOTAL
        assert sent_keys <= set(refs) and len(set(refs) - sent_keys) <= statuses.get("uncertain", 0)
    # Every message that was sent has exactly one "sent" entry in the delivery log.
    sent_logs = DeliveryAttempt.objects.filter(message__notice=notice, outcome="sent")
    assert sent_logs.count() == statuses["sent"]
    assert len(set(sent_logs.values_list("worker", flat=True))) >= 2  # both processes did part of the work
