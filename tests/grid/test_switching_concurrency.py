"""Two dispatchers closing two tie switches at the same moment, over real HTTP on PostgreSQL: each closing alone is
fine, both together would put the two neighbouring feeders in parallel. Exactly one may win, every time."""

from __future__ import annotations

import threading

import pytest

from gridcare.grid.models import GridDevice, SwitchingOperation
from gridcare.grid.services import device_switch
from gridcare.org.services import token_create
from tests import factories as f
from tests.conftest import City
from tests.grid.helpers import HEADER, table
from tests.repair.test_storm_concurrency import post_json, storm_server

__all__ = ["storm_server"]  # the live-server fixture, used by name below
ROUNDS = 6


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_ties_closed_at_once_onto_one_island_never_parallel_two_feeders(
    city: City, storm_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gridcare.grid import selectors
    from gridcare.grid.imports import network_import

    # Widen the race: a request that has checked for 合环 waits (up to a second) for the other one to have checked
    # too before it writes. Unserialised, both would pass the check; with the feeder locks, the second request is
    # still waiting for the lock, the first gives up waiting and commits, and the second then sees its tie closed.
    checked = threading.Barrier(2)
    real = selectors.closing_refusal

    def slow_refusal(**kwargs: object) -> str:
        answer = real(**kwargs)  # type: ignore[arg-type]
        try:
            checked.wait(timeout=1.0)
        except threading.BrokenBarrierError:
            pass
        return answer

    monkeypatch.setattr(selectors, "closing_refusal", slow_refusal)

    a = city.north_net.feeder.code
    b, c = f.make_network(city.north, areas=1).feeder.code, f.make_network(city.north, areas=1).feeder.code
    # The island beyond A-S1 can be fed from B or from C, through a tie switch on each of them: two operations
    # on two different feeders' devices, which nothing but the feeder locks serialises.
    rows = [
        ["A-CB", "A出口", "断路器", a, "", "", "否", "", ""],
        ["A-S1", "A分段", "分段开关", a, "A-CB", "", "否", "", ""],
        ["A-S2", "A末端分段", "分段开关", a, "A-S1", "", "否", "", ""],
        ["B-CB", "B出口", "断路器", b, "", "", "否", "", ""],
        ["B-T", "B-A联络", "负荷开关", b, "B-CB", "A-S2", "是", "", ""],
        ["C-CB", "C出口", "断路器", c, "", "", "否", "", ""],
        ["C-T", "C-A联络", "负荷开关", c, "C-CB", "A-S2", "是", "", ""],
    ]
    assert network_import(devices=table(HEADER, rows), areas=None, actor="test").ok
    device_switch(device=GridDevice.objects.get(code="A-S1"), opened=True, actor="test")  # A-S2 is an island now
    tokens = [token_create(user=city.dispatcher_north, actor=None)[1] for _ in range(2)]

    for _ in range(ROUNDS):
        checked.reset()
        barrier = threading.Barrier(2)
        answers: dict[str, int] = {}

        def close(
            tie: str, token: str, answers: dict[str, int] = answers, barrier: threading.Barrier = barrier
        ) -> None:
            barrier.wait()
            status, _ = post_json(f"{storm_server}/api/v1/grid/devices/{tie}/switch", token, {"open": False})
            answers[tie] = status

        threads = [threading.Thread(target=close, args=(tie, t)) for tie, t in zip(("B-T", "C-T"), tokens, strict=True)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(answers.values()) == [200, 409], answers
        closed = list(GridDevice.objects.filter(code__in=["B-T", "C-T"], is_open=False).values_list("code", flat=True))
        assert len(closed) == 1
        device_switch(device=GridDevice.objects.get(code=closed[0]), opened=True, actor="test")  # next round
    assert SwitchingOperation.objects.filter(opened=False).count() == ROUNDS
