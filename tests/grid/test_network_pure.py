"""Pure parts of the network below the feeder: loop problems as data, and the schematic's layout."""

from __future__ import annotations

from gridcare.grid.network import Device, Link, loop_problems, loops
from gridcare.grid.schematic import COL, ROW, AreaIn, DeviceIn, TieIn, layout


def test_loop_problems_name_the_devices_and_feeders_that_loops_reports() -> None:
    devices = [Device("B1", "breaker", feeder="F1"), Device("T", "switch"), Device("B2", "breaker", feeder="F2")]
    links = [Link("B1", "T"), Link("T", "B2")]
    (parallel,) = loop_problems(devices, links, open_devices=set())
    assert (parallel.kind, parallel.devices, parallel.feeders) == ("parallel", ("B1", "B2"), ("F1", "F2"))
    assert [parallel.message] == loops(devices, links, open_devices=set())
    ring = [Device("B1", "breaker", feeder="F1"), Device("S1", "switch"), Device("S2", "switch")]
    ring_links = [Link("B1", "S1"), Link("S1", "S2"), Link("S2", "B1")]
    (closed,) = loop_problems(ring, ring_links, open_devices=set())
    assert (closed.kind, closed.devices) == ("ring", ("S2", "B1"))
    assert loop_problems(ring, ring_links, open_devices={"S2"}) == []


def _dev(code: str, up: str | None, kind: str = "sectionaliser", **kw: object) -> DeviceIn:
    return DeviceIn(code, f"{code}名", kind, kind, up, False, False, True, **kw)  # type: ignore[arg-type]


def test_the_main_line_runs_straight_and_branches_drop_below() -> None:
    devices = [
        _dev("CB", None, "breaker"),
        _dev("S1", "CB"),
        _dev("S2", "S1"),
        _dev("S3", "S2"),
        _dev("FU", "S1", "fuse"),
        _dev("ORPHAN", "ELSEWHERE", "switch"),  # upstream not on this feeder: drawn, on a tree of its own
    ]
    areas = [AreaIn("TA1", "一号台区", "FU", 80, True), AreaIn("TA2", "二号台区", None, 5, False)]
    ties = [TieIn("X-T", "负荷开关", "F9", "九线", "S3", True)]
    sch = layout(devices, areas, ties)
    at = {n.key: (n.x, n.y) for n in sch.nodes}
    main = [at[f"device:{c}"] for c in ("CB", "S1", "S2", "S3")]
    assert len({y for _, y in main}) == 1  # the longest line is the top row
    assert [x for x, _ in main] == [main[0][0] + i * COL for i in range(4)]
    fu_x, fu_y = at["device:FU"]
    assert fu_x == main[1][0] + COL and fu_y >= main[0][1] + ROW
    assert at["area:TA1"][0] == fu_x + COL  # a 台区 is a leaf right of its device
    assert at["area:TA2"][0] == main[0][0] + COL  # no device given: it hangs from the outlet
    assert "device:ORPHAN" in at and "tie:S3:F9:负荷开关 X-T 分" in at
    assert len(set(at.values())) == len(at)  # nothing drawn on top of anything else
    assert all(0 < x < sch.width and 0 < y < sch.height for x, y in at.values())
    dead = next(n for n in sch.nodes if n.key == "area:TA2")
    assert not dead.energised and "失电" in dead.sub
    # One line per child, none for the roots.
    assert len(sch.edges) == len(sch.nodes) - 2


def test_a_feeder_without_devices_hangs_its_areas_from_the_outlet() -> None:
    sch = layout([], [AreaIn("TA1", "一号", None, 3, True)])
    assert [n.kind for n in sch.nodes] == ["outlet", "area"]
