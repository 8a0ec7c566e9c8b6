"""Simultaneous calls from one 台区, posted over real HTTP at the same moment, make one probable outage and one
main ticket: several crews must never be sent to one fault (issue #13, defect 3)."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from django.core.servers.basehttp import ThreadedWSGIServer
from django.db import connection
from django.test.testcases import LiveServerThread, _StaticFilesHandler

from gridcare.org.services import token_create
from gridcare.repair.models import ProbableOutage, RepairTicket
from gridcare.workorders.models import WorkOrder
from tests import factories as f
from tests.conftest import City

CALLERS = 48


class _StormServer(ThreadedWSGIServer):
    # A switchboard's burst: the default listen backlog (5) would reset most of 48 simultaneous connections
    # before the application saw them, and the test would measure the socket, not the grouping.
    request_queue_size = 128


class _StormServerThread(LiveServerThread):
    server_class = _StormServer


@pytest.fixture
def storm_server(transactional_db: None) -> Iterator[str]:
    """A real threaded HTTP server on the test database, one thread and one database connection per call."""
    thread = _StormServerThread("127.0.0.1", _StaticFilesHandler)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    yield f"http://127.0.0.1:{thread.port}"
    thread.terminate()


def post_json(url: str, token: str, body: dict[str, str]) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(  # noqa: S310 - http to the test's own server
        url,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - the test's own live server
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_calls_from_one_area_open_one_outage(city: City, storm_server: str) -> None:
    area = city.north_net.areas[0]
    customers = [f.make_customer(city.north, area) for _ in range(CALLERS)]
    _, token = token_create(user=city.agent, actor=None)
    barrier = threading.Barrier(CALLERS)
    answers: list[tuple[int, dict[str, object]]] = []

    def call(account_no: str) -> None:
        barrier.wait()  # every caller gets through at the same moment
        answers.append(
            post_json(
                f"{storm_server}/api/v1/workorders",
                token,
                {"category": "repair", "account_no": account_no, "description": "家里停电了"},
            )
        )

    threads = [threading.Thread(target=call, args=(c.account_no,)) for c in customers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    connection.close()
    assert sorted(code for code, _ in answers) == [201] * CALLERS, [a for a in answers if a[0] != 201][:3]
    live = ProbableOutage.objects.exclude(state__in=["merged", "cancelled"])
    assert live.count() == 1, [(o.pk, o.level, o.call_count) for o in live]
    outage = live.get()
    assert outage.call_count == CALLERS
    mains = RepairTicket.objects.filter(outage=outage, is_main=True)
    assert mains.count() == 1
    main_order = mains.get().workorder
    assert main_order.call_count == CALLERS  # every call counted once, on the order answering for the fault
    assert WorkOrder.objects.filter(main=main_order).count() == CALLERS - 1
