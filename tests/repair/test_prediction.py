"""Outage prediction on a small hand-drawn feeder: each rule, moving up and being cut back down. No database."""

from __future__ import annotations

import datetime as dt

import pytest

from gridcare.repair.evidence import AREA, CUSTOMER, DEVICE, METER, Evidence, Restoration
from gridcare.repair.network import Area, Device, Link, Network, energised, loops
from gridcare.repair.prediction import Predictor, Rules, predict

T0 = dt.datetime(2026, 7, 20, 18, 0, tzinfo=dt.UTC)


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def feeder() -> Network:
    r"""F1: breaker B1 ─ recloser R1 ─┬─ fuse FA ─ 台区 A1 (100), A2 (80), A3 (5)
                                     ├─ fuse FB ─ 台区 B1 (120), B2 (60)
                                     └─ sectionaliser S1 ─ 台区 C1 (200), C2 (150)
    and 台区 M1 (300) hanging from the breaker itself."""
    devices = [
        Device("B1", "breaker", feeder="F1"),
        Device("R1", "recloser", "B1"),
        Device("FA", "fuse", "R1"),
        Device("FB", "fuse", "R1"),
        Device("S1", "sectionaliser", "R1"),
    ]
    areas = [
        Area("A1", "FA", 100),
        Area("A2", "FA", 80),
        Area("A3", "FA", 5),
        Area("B1a", "FB", 120),
        Area("B2", "FB", 60),
        Area("C1", "S1", 200),
        Area("C2", "S1", 150),
        Area("M1", "B1", 300),
    ]
    return Network(devices, areas)


def call(i: int, minutes: float, area: str, customer: str | None = None, source: str = "call") -> Evidence:
    return Evidence(f"e{i}", at(minutes), area, customer or f"{area}-c{i}", source)


def test_one_customer_calling_again_and_again_is_their_service_drop() -> None:
    engine = Predictor(feeder())
    for i in range(3):
        p = engine.add(call(i, i * 10, "A1", customer="A1-7"))
    assert (p.level, p.element, p.evidence) == (CUSTOMER, "A1-7", ["e0", "e1", "e2"])
    assert len(engine.open()) == 1


def test_two_customers_of_one_area_are_its_transformer() -> None:
    engine = Predictor(feeder())
    engine.add(call(1, 0, "C1"))
    p = engine.add(call(2, 5, "C1"))
    assert (p.level, p.element) == (AREA, "C1") and sorted(p.evidence) == ["e1", "e2"]
    assert engine.add(call(3, 50, "C1")).id == p.id  # later callers of a dark 台区 join it


def test_calls_from_two_areas_of_a_branch_make_its_fuse_and_a_silent_small_area_does_not_matter() -> None:
    engine = Predictor(feeder())
    engine.add(call(1, 0, "A1"))
    p = engine.add(call(2, 4, "A2"))  # A3 (5 customers) is silent: A1+A2 hold 180 of 185
    assert (p.level, p.element) == (DEVICE, "FA")
    assert engine.add(call(3, 90, "A3")).id == p.id  # a late caller below the fuse joins it


def test_independent_faults_in_two_branches_stay_apart() -> None:
    engine = Predictor(feeder())
    engine.add(call(1, 0, "A1"))
    engine.add(call(2, 1, "A2"))
    engine.add(call(3, 2, "B2"))
    engine.add(call(4, 3, "B2"))
    # Were the recloser out, its silent 475 customers would report at the rate FA and B2 do (4 of 245): about 8
    # reports expected, none came. Two faults, not the recloser.
    elements = sorted((p.level, p.element) for p in engine.open())
    assert elements == [(AREA, "B2"), (DEVICE, "FA")]


def test_evidence_across_most_of_the_recloser_moves_the_prediction_up() -> None:
    engine = Predictor(feeder())
    engine.add(call(1, 0, "A1"))
    engine.add(call(2, 1, "A2"))
    engine.add(call(3, 2, "C1"))
    p = engine.add(call(4, 3, "C2"))
    assert (p.level, p.element) == (DEVICE, "R1") and len(engine.open()) == 1
    assert sorted(p.evidence) == ["e1", "e2", "e3", "e4"]


def test_calls_from_three_branches_at_once_are_the_recloser_above_them() -> None:
    engine = Predictor(feeder())
    engine.add(call(1, 0, "A1"))
    engine.add(call(2, 2, "B1a"))
    p = engine.add(call(3, 4, "C1"))
    # Silent A2, A3, B2, C2 (295 customers) at 3 reports per 420 dark customers: about 2 reports expected and none
    # came — but the alternative is three faults on three branches in the same four minutes.
    assert (p.level, p.element) == (DEVICE, "R1") and len(engine.open()) == 1
    # One caller each from two 台区 of one branch are that branch's fuse, never the recloser above it.
    engine = Predictor(feeder())
    engine.add(call(1, 0, "C1"))
    assert engine.add(call(2, 1, "C2")).element == "S1"


def test_a_branch_already_dark_is_not_silence_against_the_device_above() -> None:
    engine = Predictor(feeder())
    fuse = engine.add(call(1, 0, "A1"))
    fuse = engine.add(call(2, 1, "A2"))
    assert fuse.element == "FA"
    # Forty minutes later nine customers below S1 report, then one below FB. Were R1 out, FA's 185 customers could
    # not have told us: they were dark already. Counted as silent (7 reports expected, at 10 per 410 dark
    # customers) they would keep R1 from being predicted.
    for i in range(9):
        engine.add(call(10 + i, 40 + i, ("C1", "C2")[i % 2]))
    p = engine.add(call(19, 50, "B2"))
    assert (p.level, p.element) == (DEVICE, "R1")
    assert engine.predictions[fuse.id].open and engine.predictions[fuse.id].element == "FA"
    assert engine.add(call(30, 60, "A3")).id == fuse.id  # FA's late callers still join the older fault


def test_meters_that_gasp_later_are_another_fault_than_the_calls_before_them() -> None:
    engine = Predictor(feeder())
    engine.add(call(1, 0, "A1"))
    fuse = engine.add(call(2, 1, "A2"))
    # Twenty minutes later meters gasp across S1 and FB: within the call window of FA's callers, but a meter gasps
    # within seconds, so that outage began twenty minutes after FA's customers were already calling.
    for i, area in enumerate(["C1", "C2", "B1a", "B2", "C1", "C2"]):
        p = engine.add(call(10 + i, 20 + i * 0.05, area, source=METER))
    assert (p.level, p.element) == (DEVICE, "R1") and sorted(p.evidence) == [f"e{10 + i}" for i in range(6)]
    assert (fuse.level, fuse.element, sorted(fuse.evidence)) == (DEVICE, "FA", ["e1", "e2"])


def test_calls_an_hour_apart_are_not_one_fault() -> None:
    engine = Predictor(feeder())
    engine.add(call(1, 0, "A1"))
    engine.add(call(2, 70, "A2"))
    assert sorted(p.level for p in engine.open()) == [CUSTOMER, CUSTOMER]


def test_meters_find_a_fault_before_anyone_calls() -> None:
    engine = Predictor(feeder())
    for i, area in enumerate(["C1", "C1", "C2", "C2"]):
        p = engine.add(call(i, 0.1 * i, area, source=METER))
    assert (p.level, p.element) == (DEVICE, "S1")


def test_restoring_the_real_fault_closes_what_it_explains_and_predicts_the_rest_again() -> None:
    engine = Predictor(feeder())
    for i, area in enumerate(["A1", "A2", "C1", "C2"]):
        engine.add(call(i, i, area))
    (up,) = engine.open()
    assert up.element == "R1"
    # The crew finds the fuse FA blown and the sectionaliser S1 open on a second fault.
    closed = engine.restore(Restoration(at(60), device="FA"))
    assert [(p.level, p.element, sorted(p.evidence)) for p in closed] == [(DEVICE, "FA", ["e0", "e1"])]
    (rest,) = engine.open()
    assert (rest.level, rest.element, sorted(rest.evidence)) == (DEVICE, "S1", ["e2", "e3"])


def test_a_nested_outage_shows_after_the_upstream_restoration() -> None:
    engine = Predictor(feeder())
    for i, area in enumerate(["A1", "A2", "C1", "C2"]):
        engine.add(call(i, i, area))
    engine.restore(Restoration(at(60), device="R1"))
    assert engine.open() == []
    engine.add(call(10, 61, "B2"))
    p = engine.add(call(11, 62, "B2"))
    assert (p.level, p.element) == (AREA, "B2") and p.first_at == at(61)


def test_a_dispatcher_confirms_moves_and_splits() -> None:
    engine = Predictor(feeder())
    engine.add(call(1, 0, "A1"))
    p = engine.add(call(2, 1, "A1"))
    engine.confirm(p.id, level=DEVICE, element="FA")
    assert engine.add(call(3, 2, "A3")).id == p.id  # below the confirmed fuse
    for i, area in enumerate(["C1", "C2", "B1a", "B2", "M1"]):
        engine.add(call(10 + i, 3, area))
    assert engine.predictions[p.id].element == "FA"  # confirmed: not moved up into the breaker
    other = engine.split(p.id, ["e3"])
    assert (other.level, other.element, other.evidence) == (CUSTOMER, "A3-c3", ["e3"])
    with pytest.raises(ValueError, match="some, not none or all"):
        engine.split(p.id, ["e1", "e2"])


def test_offline_replay_equals_online_one_event_at_a_time() -> None:
    net = feeder()
    events = [call(i, i * 3, a) for i, a in enumerate(["A1", "C1", "A2", "C2", "B2", "B2", "M1"])]
    events.append(Restoration(at(40), device="R1"))
    events += [call(20 + i, 41 + i, a) for i, a in enumerate(["M1", "M1"])]
    online = Predictor(net)
    for e in events:
        online.restore(e) if isinstance(e, Restoration) else online.add(e)
    offline = predict(net, reversed(events))
    shape = sorted((p.level, p.element, tuple(p.evidence)) for p in offline)
    assert shape == sorted((p.level, p.element, tuple(p.evidence)) for p in online.predictions.values() if p.evidence)


def test_thresholds_are_rules_not_constants() -> None:
    net = feeder()
    events = [call(1, 0, "A1"), call(2, 1, "A2")]
    strict = Rules(min_areas={**Rules().min_areas, "fuse": 3})
    quiet = Rules(max_silent={**Rules().max_silent, "fuse": 0.0}, silent_per_branch=0.0)
    assert {p.level for p in predict(net, events, quiet)} == {CUSTOMER}
    assert {p.level for p in predict(net, events, strict)} == {CUSTOMER}
    assert {p.element for p in predict(net, events)} == {"FA"}


def test_switching_moves_areas_to_the_other_feeder() -> None:
    devices = [
        Device("B1", "breaker", feeder="F1"),
        Device("S1", "sectionaliser"),
        Device("T", "switch"),
        Device("B2", "breaker", feeder="F2"),
    ]
    links = [Link("B1", "S1"), Link("S1", "T"), Link("T", "B2")]
    areas = [Area("X", "S1", 50), Area("Y", "B1", 10)]
    normal = energised(devices, links, areas, open_devices={"T"})
    assert normal.feeder_of("S1") == "F1" and normal.upstream("S1") == ["S1", "B1"]
    # Open the breaker side, close the tie: S1 and its 台区 are fed from F2, the breaker's own 台区 is dark.
    switched = energised(devices, links, areas, open_devices={"B1"})
    assert switched.feeder_of("S1") == "F2" and switched.upstream("S1") == ["S1", "T", "B2"]
    assert "Y" not in switched.areas and "X" in switched.areas


def test_a_network_refuses_unknown_kinds_loops_and_dangling_areas() -> None:
    with pytest.raises(ValueError, match="unknown kind"):
        Network([Device("B", "transformer", feeder="F")], [])
    with pytest.raises(ValueError, match="loops back"):
        Network([Device("A", "fuse", "B"), Device("B", "fuse", "A")], [])
    with pytest.raises(ValueError, match="not a device"):
        Network([Device("B", "breaker", feeder="F")], [Area("X", "nope")])


def test_closing_a_tie_between_two_fed_feeders_is_refused_as_parallel_and_a_ring_is_named() -> None:
    devices = [Device("B1", "breaker", feeder="F1"), Device("T", "switch"), Device("B2", "breaker", feeder="F2")]
    links = [Link("B1", "T"), Link("T", "B2")]
    assert loops(devices, links, open_devices={"T"}) == []
    assert loops(devices, links, open_devices=set()) == ["feeders F1, F2 would run in parallel"]
    ring = [Device("B1", "breaker", feeder="F1"), Device("S1", "switch"), Device("S2", "switch")]
    assert loops(ring, [Link("B1", "S1"), Link("S1", "S2"), Link("S2", "B1")], open_devices=set()) == [
        "S2–B1 closes a ring"
    ]
