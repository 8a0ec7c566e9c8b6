"""ETR from history, pure (gridcare.repair.etr): cells and their fallback, the interval, outages already long dark,
the prior from the published targets, and the sentence callers hear."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from gridcare.repair import etr

BJ = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 11, 3, 18, 0, tzinfo=BJ)
URBAN_PRIOR = etr.Prior(arrive_minutes=45, restore_minutes=180)
FEEDER_NIGHT = etr.Features(kind="feeder", area_class="urban", time_band="night", crews="few")


def samples(features: etr.Features, minutes: list[float], on_site: list[float] | None = None) -> list[etr.Sample]:
    return [etr.Sample(features, m, (on_site or [None] * len(minutes))[i]) for i, m in enumerate(minutes)]  # type: ignore[list-item]


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def test_time_bands_start_at_6_12_and_18_local_time() -> None:
    assert [etr.time_band(T0.replace(hour=h, minute=m)) for h, m in [(0, 0), (5, 59), (6, 0), (11, 59), (12, 0)]] == [
        "night",
        "night",
        "morning",
        "morning",
        "afternoon",
    ]
    assert etr.time_band(T0.replace(hour=17, minute=59)) == "afternoon"
    assert etr.time_band(T0.replace(hour=18, minute=0)) == etr.time_band(T0.replace(hour=23, minute=59)) == "evening"


def test_idle_crews_are_banded_and_unknown_when_not_recorded() -> None:
    assert [etr.crews_band(n) for n in (None, 0, 1, 2, 3, 5, 6, 40)] == [
        "unknown",
        "none",
        "few",
        "few",
        "some",
        "some",
        "many",
        "many",
    ]


def test_quantile_interpolates_between_ranks_like_numpy() -> None:
    values = [float(v) for v in range(1, 11)]
    assert [round(etr.quantile(values, q), 6) for q in (0.1, 0.5, 0.9)] == [1.9, 5.5, 9.1]
    assert etr.quantile([7.0], 0.9) == 7.0


def test_without_history_the_published_targets_are_a_wide_prior() -> None:
    est = etr.estimate(etr.History([]), FEEDER_NIGHT, phase=etr.OPEN, origin=T0, now=T0, prior=URBAN_PRIOR)
    # Median 45 + 180 = 225 minutes after the first call; p90 twice that, p10 half (rounded to 5 minutes).
    assert (est.etr, est.high, est.low) == (at(225), at(450), at(110))
    assert est.samples == 0 and est.key == () and not est.from_history
    assert "依据供电服务承诺时限" in etr.describe(est, now=T0, tz=BJ)


def test_a_full_cell_gives_its_own_median_and_80_percent_interval() -> None:
    history = etr.History(samples(FEEDER_NIGHT, [60, 70, 80, 90, 100, 110, 120, 130, 140, 150]))
    est = etr.estimate(history, FEEDER_NIGHT, phase=etr.OPEN, origin=T0, now=T0, prior=URBAN_PRIOR)
    assert est.key == ("kind", "area_class", "time_band", "crews") and est.samples == 10
    # p50 = 105 min → 19:45; p10 = 69 → down to 19:05; p90 = 141 → up to 20:25 (5-minute steps).
    assert (est.etr, est.low, est.high) == (at(105), at(65), at(145))
    assert etr.describe(est, now=T0, tz=BJ) == "预计 19:45 恢复（80% 在 19:05–20:25 之间，依据 10 次同类故障）"


def test_a_thin_cell_falls_back_to_a_coarser_key_and_says_which() -> None:
    crews_many = etr.Features("feeder", "urban", "night", "many")
    evening = etr.Features("feeder", "urban", "evening", "few")
    history = etr.History(
        samples(FEEDER_NIGHT, [30, 30, 30])  # the exact cell: three outages, too few to trust
        + samples(crews_many, [200] * 6)  # same kind, area and time of day, other crews
        + samples(evening, [200] * 6)
    )
    est = etr.estimate(history, FEEDER_NIGHT, phase=etr.OPEN, origin=T0, now=T0, prior=URBAN_PRIOR)
    # (kind, area, time band) holds the 3 + 6 night outages: 9 < 10; (kind, area, crews) 3 + 6 evening: 9;
    # (kind, area) holds all 15.
    assert est.key == ("kind", "area_class") and est.samples == 15
    assert est.etr == at(200)


def test_other_kinds_and_areas_are_used_only_as_the_last_resort() -> None:
    rural_fuse = etr.Features("fuse", "rural", "night", "few")
    history = etr.History(samples(rural_fuse, [50] * 12))
    est = etr.estimate(history, FEEDER_NIGHT, phase=etr.OPEN, origin=T0, now=T0, prior=URBAN_PRIOR)
    assert est.key == () and est.samples == 12 and est.etr == at(50)  # the whole history, said as such (key ())


def test_an_outage_already_long_dark_is_compared_with_the_outages_that_lasted_longer() -> None:
    history = etr.History(samples(FEEDER_NIGHT, [float(m) for m in range(10, 310, 10)]))  # 10 … 300 minutes
    now = at(100)
    est = etr.estimate(history, FEEDER_NIGHT, phase=etr.ASSIGNED, origin=T0, now=now, prior=URBAN_PRIOR)
    assert est.samples == 20  # 110 … 300: the 10 that were over by 100 minutes are no longer possible
    assert est.etr == at(205) and est.low > now and est.high == at(285)


def test_on_site_the_estimate_runs_from_the_arrival_with_the_arrival_to_restoration_times() -> None:
    history = etr.History(samples(FEEDER_NIGHT, [300] * 10, on_site=[40.0] * 10))
    arrived = at(90)
    est = etr.estimate(history, FEEDER_NIGHT, phase=etr.ON_SITE, origin=arrived, now=arrived, prior=URBAN_PRIOR)
    assert est.etr == at(130) and est.samples == 10


def test_the_prior_also_moves_on_when_the_outage_outlasts_it() -> None:
    now = at(400)  # well past the 225-minute median
    est = etr.estimate(etr.History([]), FEEDER_NIGHT, phase=etr.OPEN, origin=T0, now=now, prior=URBAN_PRIOR)
    assert now < est.etr <= est.high and now <= est.low <= est.etr
    # Far in the tail (a month dark) the estimate still lies ahead rather than collapsing onto "now".
    month = at(30 * 24 * 60)
    est = etr.estimate(etr.History([]), FEEDER_NIGHT, phase=etr.OPEN, origin=T0, now=month, prior=URBAN_PRIOR)
    assert est.etr - month > dt.timedelta(hours=1)


def test_restorations_before_the_first_call_are_ignored_as_data_errors() -> None:
    history = etr.History(samples(FEEDER_NIGHT, [-5.0, float("nan")] + [60.0] * 10))
    assert history.size == 10


def test_the_sentence_names_tomorrow_and_the_number_of_outages() -> None:
    late = T0.replace(hour=23, minute=0)
    est = etr.Estimate(
        etr=late + dt.timedelta(hours=2),
        low=late + dt.timedelta(minutes=40),
        high=late + dt.timedelta(hours=4),
        samples=42,
        key=("kind",),
        features=FEEDER_NIGHT,
        phase=etr.OPEN,
    )
    assert (
        etr.describe(est, now=late, tz=BJ) == "预计 明天 01:00 恢复（80% 在 23:40–明天 03:00 之间，依据 42 次同类故障）"
    )
    assert etr.describe_manual(None, now=late, tz=BJ) == "预计恢复时间正在评估中"
    assert (
        etr.describe_manual(late + dt.timedelta(minutes=30), now=late, tz=BJ) == "预计 23:30 恢复（抢修指挥人员评估）"
    )


@settings(max_examples=200, deadline=None)
@given(
    durations=st.lists(st.floats(min_value=0, max_value=3000, allow_nan=False), max_size=40),
    elapsed=st.floats(min_value=0, max_value=4000, allow_nan=False),
    phase=st.sampled_from(etr.PHASES),
)
def test_the_interval_always_holds_the_median_and_never_starts_in_the_past(
    durations: list[float], elapsed: float, phase: str
) -> None:
    history = etr.History(samples(FEEDER_NIGHT, durations, on_site=durations))
    now = T0 + dt.timedelta(minutes=elapsed)
    est = etr.estimate(history, FEEDER_NIGHT, phase=phase, origin=T0, now=now, prior=URBAN_PRIOR)
    assert now <= est.low <= est.etr <= est.high
    assert est.etr > now - dt.timedelta(seconds=1)
    assert est.samples == 0 or est.samples >= etr.MIN_SAMPLES
