"""The independent storm generator and the scores (pure: no database)."""

from __future__ import annotations

import datetime as dt
import itertools
import statistics
from collections import Counter, defaultdict
from functools import cache

import pytest

from gridcare.repair import stormgen as sg
from gridcare.repair.evidence import AREA, CALL, CUSTOMER, DEVICE, METER, Evidence, Prediction, Restoration
from gridcare.repair.network import DEVICE_KINDS, Area, Device, Network


@cache
def small() -> tuple[Network, sg.Storm]:
    net = sg.city(3, feeders=30)
    return net, sg.storm(net, 3)


def big(meters: float = 0.3) -> tuple[Network, sg.Storm]:
    """A big storm, so the documented shares can be checked as shares."""
    return _big(meters)


@cache
def _big(meters: float) -> tuple[Network, sg.Storm]:
    net = sg.city(11, feeders=150)
    return net, sg.storm(net, 11, intensity=0.2, meters=meters)


# ---- the city ------------------------------------------------------------------------------------------------------


def test_city_is_a_radial_tree_with_every_area_fed_from_a_breaker() -> None:
    net = sg.city(5, feeders=40)
    sources = [d for d in net.devices.values() if d.parent is None]
    assert len(sources) == 40
    assert all(d.kind == "breaker" and d.feeder for d in sources)
    assert all(d.kind in DEVICE_KINDS for d in net.devices.values())
    for area in net.areas.values():
        assert net.devices[net.upstream(area.device)[-1]].kind == "breaker"
        assert net.feeder_of(area.device) is not None
    # Breakers only at the source; main-line devices under the breaker or each other; fuses under anything.
    for d in net.devices.values():
        if d.parent is None:
            continue
        assert d.kind != "breaker"
        if d.kind in ("recloser", "sectionaliser", "switch"):
            assert net.devices[d.parent].kind in ("breaker", "recloser", "sectionaliser", "switch")
    # Every fuse feeds at least one 台区; 台区 per feeder in the documented 10–60.
    assert all(net.areas_below[d] for d, dev in net.devices.items() if dev.kind == "fuse")
    per_feeder = Counter(net.upstream(a.device)[-1] for a in net.areas.values())
    assert min(per_feeder.values()) >= 10 and max(per_feeder.values()) <= 60
    # Sub-branches exist (a fuse below a fuse), and 1–3 main-line devices per feeder.
    assert any(net.devices[d.parent].kind == "fuse" for d in net.devices.values() if d.kind == "fuse" and d.parent)
    main = Counter(net.upstream(d.id)[-1] for d in net.devices.values() if d.kind not in ("fuse", "breaker"))
    assert set(main.values()) <= {1, 2, 3}


def test_area_sizes_are_skewed_from_a_few_customers_to_several_hundred() -> None:
    sizes = [a.customers for a in sg.city(5, feeders=100).areas.values()]
    assert min(sizes) < 10 and max(sizes) > 400
    assert statistics.mean(sizes) > statistics.median(sizes)  # a long right tail


def test_the_same_seed_gives_the_same_storm_and_another_seed_another() -> None:
    net = sg.city(2, feeders=20)
    assert sg.city(2, feeders=20).devices == net.devices and sg.city(2, feeders=20).areas == net.areas
    a, b, c = sg.storm(net, 1), sg.storm(net, 1), sg.storm(net, 2)
    assert a.events == b.events and a.truth == b.truth and a.faults == b.faults
    assert a.events != c.events
    assert sg.city(3, feeders=20).areas != net.areas


# ---- the storm -----------------------------------------------------------------------------------------------------


def test_events_are_in_time_order_and_evidence_lies_within_its_fault() -> None:
    net, s = small()
    times = [e.at for e in s.events]
    assert times == sorted(times)
    faults = {f.id: f for f in s.faults}
    for e in s.evidence:
        f = faults[s.truth[e.id]]
        assert f.start <= e.at < f.end, (e, f)
        # The evidence comes from below the faulted element.
        if f.level == DEVICE:
            assert e.area in net.areas_below[f.element]
        elif f.level == AREA:
            assert e.area == f.element
        else:
            assert e.customer == f.element
    ids = {e.id for e in s.evidence}
    assert set(s.truth) == ids
    assert sorted(eid for f in s.faults for eid in f.evidence) == sorted(ids)


def test_every_fault_is_restored_by_its_element_at_its_end() -> None:
    _, s = small()
    restorations = Counter((r.at, r.device, r.area, r.customer) for r in s.restorations)
    for f in s.faults:
        key = (
            f.end,
            f.element if f.level == DEVICE else None,
            f.element if f.level == AREA else None,
            f.element if f.level == CUSTOMER else None,
        )
        assert restorations[key] == 1, f
    assert sum(restorations.values()) == len(s.faults)
    assert all(f.customers_off for f in s.faults if f.evidence)
    assert s.end == max(f.end for f in s.faults)


def test_one_element_never_has_two_faults_at_once() -> None:
    _, s = big()
    by_element = defaultdict(list)
    for f in s.faults:
        by_element[f.element].append(f)
    for faults in by_element.values():
        faults.sort(key=lambda f: f.start)
        assert all(x.end <= y.start for x, y in itertools.pairwise(faults))


def test_faults_at_every_level_and_the_hard_shapes_occur() -> None:
    net, s = big()
    kinds = Counter(f.kind for f in s.faults)
    assert {"breaker", "recloser", "sectionaliser", "fuse", "area", "customer"} <= set(kinds)
    origins = Counter(f.origin for f in s.faults)
    assert origins["companion"] and origins["nested"] and origins["repeat"]
    # A repeat: the same 台区 again, hours after its first fault was restored.
    for again in (f for f in s.faults if f.origin == "repeat"):
        first = max((f for f in s.faults if f.element == again.element and f.end <= again.start), key=lambda f: f.end)
        assert dt.timedelta(hours=1) <= again.start - first.end <= dt.timedelta(hours=6)
    # A hidden nested fault: found only when the fault above it is repaired, its customers dark from then on.
    hidden = [f for f in s.faults if f.dark_at and f.dark_at > f.start]
    assert hidden
    for f in hidden:
        assert any(r.at == f.dark_at for r in s.restorations)
    # Two faults on one feeder at once, on disjoint parts of it.
    feeder = {f.id: net.feeder_of(_device(net, f)) for f in s.faults}
    assert any(
        feeder[x.id] == feeder[y.id]
        and x.start < y.end
        and y.start < x.end
        and not set(x.customers_off) & set(y.customers_off)
        for x in s.faults
        for y in s.faults
        if x.id < y.id and x.customers_off and y.customers_off
    )


def _device(net: Network, f: sg.Fault) -> str:
    if f.level == DEVICE:
        return f.element
    area = f.element if f.level == AREA else f.element.rsplit("-", 1)[0]
    return net.areas[area].device


def test_a_small_area_can_go_dark_with_nobody_calling() -> None:
    _, s = big(meters=0.0)
    silent = [f for f in s.faults if f.level == AREA and f.customers_off and not f.evidence]
    assert silent and min(len(f.customers_off) for f in silent) < 30


def test_a_dropped_customer_calls_and_calls_again() -> None:
    _, s = big()
    by_id = {e.id: e for e in s.evidence}
    drops = [f for f in s.faults if f.level == CUSTOMER]
    called = [f for f in drops if f.evidence]
    assert len(called) >= 0.7 * len(drops)
    assert any(len(f.evidence) >= 2 for f in called)
    assert all(by_id[e].customer == f.element for f in called for e in f.evidence)  # calls, and its meter if any


def test_a_storm_runs_on_any_network_and_on_none_at_all() -> None:
    net = Network(
        [Device("CB", "breaker", None, "F1"), Device("R", "recloser", "CB"), Device("FU", "fuse", "R")],
        [Area("A1", "CB", 40), Area("A2", "R", 80), Area("A3", "FU", 5)],
    )
    s = sg.storm(net, 1, intensity=2.0)
    assert s.faults and s.evidence
    assert all(e.customer.startswith(e.area + "-") for e in s.evidence)
    calm = sg.storm(net, 1, intensity=0.0, hours=6)
    assert (calm.faults, calm.events, calm.end - calm.start) == ([], [], dt.timedelta(hours=6))
    assert sg.score([], calm, net)["precision"] == 1.0


# ---- the documented shares -----------------------------------------------------------------------------------------


def test_a_few_percent_of_those_off_call_and_some_call_again() -> None:
    _, s = big()
    by_id = {e.id: e for e in s.evidence}
    off = callers = calls = 0
    for f in s.faults:
        if f.level == CUSTOMER:
            continue
        mine = [by_id[e] for e in f.evidence if by_id[e].source == CALL]
        off += len(f.customers_off)
        callers += len({e.customer for e in mine})
        calls += len(mine)
    assert 0.03 <= callers / off <= 0.10
    assert 1.1 <= calls / callers <= 1.4  # repeats: 20 % call again, geometrically


def test_meters_gasp_for_the_documented_share_within_seconds() -> None:
    _, s = big(meters=0.3)
    faults = {f.id: f for f in s.faults}
    fresh_off = sum(len(f.customers_off) for f in s.faults if f.dark_at == f.start)
    gasps = [e for e in s.evidence if e.source == METER]
    # 30 % of meters, 12 % lost; customers a fault took over from another send nothing, so a little under.
    assert 0.22 <= len(gasps) / fresh_off <= 0.28
    delays = sorted((e.at - faults[s.truth[e.id]].start).total_seconds() for e in gasps)
    assert statistics.median(delays) < 30
    late = sum(d > 60 for d in delays) / len(delays)
    assert 0.04 <= late <= 0.10  # store-and-forward through the concentrator


def test_no_meter_events_when_the_meter_share_is_zero() -> None:
    _, s = big(meters=0.0)
    assert s.evidence and all(e.source == CALL for e in s.evidence)


def test_caller_delay_has_a_median_near_a_quarter_hour_and_a_long_tail() -> None:
    _, s = big()
    delays = sg.first_call_delays(s)
    assert 8 <= statistics.median(delays) <= 16
    q = statistics.quantiles(delays, n=100)
    assert q[89] > 35  # p90: a good share call well after the first quarter hour
    assert max(delays) > 180  # and some hours later


# ---- scoring -------------------------------------------------------------------------------------------------------


def test_the_truth_scores_one_and_its_customer_minutes_are_the_true_figure() -> None:
    net, s = small()
    truth = sg.perfect(s)
    assert sg.pairwise(truth, s.truth) == (1.0, 1.0)
    predicted, true = sg.customer_minutes(truth, s, net)
    assert predicted == pytest.approx(true) and true > 0
    # Left open, the same predictions run to the storm's end: more customer-minutes than true.
    still_open = [Prediction(p.id, p.level, p.element, p.first_at, p.evidence) for p in truth]
    assert sg.customer_minutes(still_open, s, net)[0] > true
    sc = sg.score(truth, s, net)
    assert sc["precision"] == sc["recall"] == 1.0 and sc["evidence"] == len(s.truth)


def test_one_prediction_holding_everything_has_low_precision_and_full_recall() -> None:
    _, s = small()
    lump = [Prediction(1, DEVICE, "anything", s.start, list(s.truth))]
    precision, recall = sg.pairwise(lump, s.truth)
    assert precision < 0.3 and recall == 1.0


def test_singletons_find_no_pairs() -> None:
    _, s = small()
    singles = [Prediction(i, AREA, "x", s.start, [e]) for i, e in enumerate(s.truth)]
    assert sg.pairwise(singles, s.truth) == (1.0, 0.0)
    assert sg.pairwise([], s.truth) == (1.0, 0.0)
    assert sg.pairwise([], {}) == (1.0, 1.0)


def test_pairwise_by_hand_including_an_item_in_two_predictions() -> None:
    truth = {"a": "f1", "b": "f1", "c": "f1", "d": "f2"}
    t = dt.datetime(2026, 7, 15, tzinfo=dt.UTC)
    # True pairs: ab ac bc. Predicted {a, b, d}: ab (right), ad, bd (wrong).
    assert sg.pairwise([Prediction(1, AREA, "x", t, ["a", "b", "d"])], truth) == (1 / 3, 1 / 3)
    # b in two predictions: pairs ab, bc, (ab again: counted once) -> 2 right of 2, 2 of 3 found.
    two = [Prediction(1, AREA, "x", t, ["a", "b"]), Prediction(2, AREA, "y", t, ["b", "c", "a"])]
    assert sg.pairwise(two, truth) == (1.0, 1.0)
    two = [Prediction(1, AREA, "x", t, ["a", "b"]), Prediction(2, AREA, "y", t, ["b", "c"])]
    assert sg.pairwise(two, truth) == (1.0, 2 / 3)
    # Unknown evidence ids are ignored.
    assert sg.pairwise([Prediction(1, AREA, "x", t, ["a", "b", "zz"])], truth) == (1.0, 1 / 3)


def test_the_area_baseline_is_not_trivially_right() -> None:
    net, s = big()
    sc = sg.score(sg.baseline_by_area(s), s, net)
    assert sc["recall"] < 0.5  # a feeder fault split into its 台区 and hours
    assert sc["predictions"] > sc["faults"]
    assert sc["customer_minutes_predicted"] != pytest.approx(sc["customer_minutes_true"])


def test_evidence_and_restorations_are_the_shared_types() -> None:
    _, s = small()
    assert all(isinstance(e, Evidence | Restoration) for e in s.events)
    assert {e.source for e in s.evidence} == {CALL, METER}


def test_the_command_line_prints_the_storm_shape(capsys: pytest.CaptureFixture[str]) -> None:
    sg.main(["--seed", "1", "--feeders", "10"])
    out = capsys.readouterr().out
    for heading in ("faults by kind", "evidence by source", "callers:", "first-call delay"):
        assert heading in out


# ---- shapes --------------------------------------------------------------------------------------------------------


def test_shapes_change_how_customers_call_and_the_default_shape_is_the_documented_storm() -> None:
    net, s = small()
    assert sg.storm(net, 3, shape=sg.Shape()).events == s.events
    assert sg.SHAPES["typhoon"] == (sg.Shape(), 0.15)

    def callers(storm: sg.Storm) -> int:
        return len({(storm.truth[e.id], e.customer) for e in storm.evidence if e.source == CALL})

    slow = sg.storm(net, 3, shape=sg.SHAPES["slow-callers"][0])
    assert statistics.median(sg.first_call_delays(slow)) > 2 * statistics.median(sg.first_call_delays(s))
    few = sg.storm(net, 3, shape=sg.SHAPES["few-callers"][0])
    assert callers(few) < 0.5 * callers(s)
    shape, intensity = sg.SHAPES["many-at-once"]
    busy = sg.storm(net, 3, intensity=intensity, shape=shape)
    companions = Counter(f.origin for f in busy.faults)["companion"]
    assert len(busy.faults) > 2 * len(s.faults) and companions > 3 * Counter(f.origin for f in s.faults)["companion"]


def test_the_command_line_draws_a_named_shape(capsys: pytest.CaptureFixture[str]) -> None:
    sg.main(["--seed", "2", "--feeders", "10", "--shape", "few-callers", "--meters", "0"])
    assert "evidence by source: call" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        sg.main(["--shape", "drizzle"])
