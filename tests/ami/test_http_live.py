"""Meter events over real HTTP to a live server: the simulator as the head-end, concurrent resends of one batch
storing each event once, and the consumers called in the server after commit."""

from __future__ import annotations

import json
import threading
import urllib.request
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from gridcare.ami import selectors, simulate
from gridcare.ami.models import MeterEvent
from tests.ami.conftest import TOKEN, Recorder, event

pytestmark = pytest.mark.django_db(transaction=True)


def post(url: str, body: Any, token: str = TOKEN) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(  # noqa: S310 - the live server's http:// URL
        url + "/api/v1/ami/events",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "X-GridCare-Token": token},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_the_simulator_sends_a_last_gasp_cluster_through_the_api_and_a_resend_stores_nothing(
    live_server, meters, ami_cfg, recorder: Recorder, capsys
) -> None:
    area = next(iter(meters))
    below = selectors.meters_below(area=area)  # the fixture's four, and the city's customer there
    assert set(meters[area]) < set(below)
    args = ["ami", "simulate", "--area", area, "--kind", "last_gasp", "--at", "2026-06-01T08:00:00+08:00"]
    call_command(*args, "--url", live_server.url, "--token", TOKEN)
    assert f"stored={len(below)}," in capsys.readouterr().out
    stored = MeterEvent.objects.filter(service_point__transformer_area__code=area)
    assert sorted(stored.values_list("meter_no", flat=True)) == below
    assert set(stored.values_list("channel", "kind")) == {("http", "last_gasp")}
    assert sorted(recorder.delivered) == sorted(stored.values_list("event_id", flat=True))
    assert not stored.filter(processed_at__isnull=True).exists()

    call_command(*args, "--url", live_server.url, "--token", TOKEN)
    assert f"stored=0, duplicates={len(below)}," in capsys.readouterr().out
    assert MeterEvent.objects.count() == len(below) and len(recorder.delivered) == len(below)


def test_the_simulator_reports_a_refused_token_and_an_unreachable_server(live_server, meters, ami_cfg) -> None:
    area = next(iter(meters))
    with pytest.raises(CommandError, match=r"HTTP 403.*令牌无效"):
        call_command("ami", "simulate", "--area", area, "--kind", "restored", "--url", live_server.url, "--token", "x")
    with pytest.raises(CommandError, match="无法连接"):
        call_command(
            "ami", "simulate", "--area", area, "--kind", "restored", "--url", "http://127.0.0.1:9", "--token", "x"
        )
    with pytest.raises(simulate.SendError, match="http://"):
        simulate.send_http([event("E1", "M1")], url="file:///etc/passwd", token=TOKEN)
    assert not MeterEvent.objects.exists()


# SQLite's shared in-memory test database locks whole tables between threads ("database table is locked"); the
# race between writers of one event id is PostgreSQL's to show (CI's second leg, or DATABASE_URL=postgres://…).
@pytest.mark.postgres
@pytest.mark.parametrize("senders", [6])
def test_one_batch_resent_by_several_connections_at_once_is_stored_once(
    live_server, meters, ami_cfg, recorder: Recorder, senders: int
) -> None:
    """What a head-end does after a timeout on a slow link: the same batch again on new connections while the first
    is still being written. Every event is stored and delivered once; the answers add up."""
    numbers = [m for ms in meters.values() for m in ms]
    body = {"events": [event(f"E-{m}", m) for m in numbers]}
    start = threading.Barrier(senders)
    answers: list[tuple[int, dict[str, Any]]] = []

    def send() -> None:
        start.wait()
        answers.append(post(live_server.url, body))

    threads = [threading.Thread(target=send) for _ in range(senders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert [status for status, _ in answers] == [200] * senders
    assert sum(a["stored"] for _, a in answers) == len(numbers)
    assert sum(a["duplicates"] for _, a in answers) == len(numbers) * (senders - 1)
    assert MeterEvent.objects.count() == len(numbers)
    assert sorted(recorder.delivered) == sorted(f"E-{m}" for m in numbers)
