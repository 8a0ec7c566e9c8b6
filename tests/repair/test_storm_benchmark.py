"""The storm benchmark's parts at a small size, and the rule's quality on our storms (a real check: it can fail)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import bench_storm as bench
from gridcare.repair import grouping
from gridcare.repair import stormgen as sg
from gridcare.repair.evidence import DEVICE, Evidence, Restoration
from gridcare.repair.prediction import predict


def test_the_bench_runs_small_and_reports_both_contenders_and_the_speed(tmp_path: Path) -> None:
    out = tmp_path / "storm.txt"
    argv = ["--seeds", "1,6", "--shapes", "typhoon,few-callers", "--meters", "0,0.3", "--feeders", "8"]
    argv += ["--perf-feeders", "30", "--perf-calls", "300", "--perf-meters", "60", "--runs", "1", "--out", str(out)]
    assert bench.main(argv) == 0
    text = out.read_text()
    rows = [line for line in text.splitlines() if line.startswith(("typhoon", "few-callers"))]
    # typhoon: seed 1 (tuning) and seed 6 (held out) apart; few-callers: both held out, one row; × two meter shares.
    assert len(rows) == 6 and sum(" 1  " in r for r in rows) == 2
    assert "online (one event at a time) = offline (predict) on every storm: yes" in text
    assert "speed: 300 calls + 60 meter events" in text and "predict() total CPU per run" in text
    assert "baseline group_calls() on the same evidence" in text


def test_a_small_perf_storm_has_exactly_the_asked_evidence_and_its_restorations() -> None:
    network, events, truth = bench.perf_storm(2, feeders=20, calls=200, meter_events=40)
    evidence = [e for e in events if isinstance(e, Evidence)]
    assert sum(e.source == "call" for e in evidence) == 200 and sum(e.source == "meter" for e in evidence) == 40
    assert set(truth) == {e.id for e in evidence} and {e.area for e in evidence} <= set(network.areas)
    assert any(isinstance(e, Restoration) for e in events)
    assert [e.at for e in events] == sorted(e.at for e in events)


def test_the_baseline_is_todays_rule_grouping_every_piece_of_evidence_once() -> None:
    network = sg.city(4, feeders=20)
    storm = sg.storm(network, 4, meters=0.3)
    predictions = bench.baseline(network, storm)
    held = [e for p in predictions for e in p.evidence]
    assert sorted(held) == sorted(storm.truth)  # a partition of the evidence
    # Its scores are grouping's own pair scores of the same groups: the conversion loses nothing.
    number = {e.id: i for i, e in enumerate(storm.evidence)}
    truth = {number[e]: f for e, f in storm.truth.items()}
    groups = [[number[e] for e in p.evidence] for p in predictions]
    assert sg.pairwise(predictions, storm.truth) == pytest.approx(grouping.pair_scores(groups, truth))
    # Feeder groups are predicted at the feeder's source breaker; a group ends no earlier than it began.
    for p in predictions:
        if p.level == DEVICE:
            assert network.devices[p.element].parent is None
        assert p.restored_at is None or p.restored_at >= p.first_at


def test_a_bench_row_scores_the_engine_far_above_the_baseline_on_calls_alone() -> None:
    row = bench.run_row("typhoon", 0.0, [2], feeders=20)
    assert row.online_equals_offline
    (engine,), (old,) = row.engine, row.baseline
    assert engine.recall > old.recall + 0.2
    assert 0.0 < engine.located <= 1.0 and engine.minutes_true == old.minutes_true > 0


@pytest.mark.parametrize("meters", [0.0, 0.3], ids=["calls-only", "meters-30pc"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_predict_finds_the_outages_of_our_storm(seed: int, meters: float) -> None:
    network = sg.city(seed)
    storm = sg.storm(network, seed, meters=meters)
    precision, recall = sg.pairwise(predict(network, storm.events), storm.truth)
    assert precision >= 0.95 and recall >= 0.95, (precision, recall)


def test_predict_holds_on_a_storm_shape_and_seed_it_was_not_tuned_on() -> None:
    shape, intensity = sg.SHAPES["all-hard"]
    network = sg.city(9)
    storm = sg.storm(network, 9, intensity=intensity, meters=0.0, shape=shape)
    precision, recall = sg.pairwise(predict(network, storm.events), storm.truth)
    assert precision >= 0.9 and recall >= 0.9, (precision, recall)
