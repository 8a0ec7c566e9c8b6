"""Estimated restoration times (ETR) from history: how long past outages like this one took from the first evidence
to power back, as a median and an 80 % interval, with the published targets as a wide prior when there is no
history. What callers are told: "预计 18:40 恢复（80% 在 18:10–19:30 之间，依据 42 次同类故障）".

Pure: the past outages, the outage's features and the time are arguments; `gridcare.repair.storm_selectors` reads
them from the database and `gridcare.repair.services.estimates` stores the result. See docs/storm-mode.md.
"""

from __future__ import annotations

import datetime as dt
import math
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from statistics import NormalDist

# Where the repair of an outage stands; each is estimated from what is known at that point.
OPEN, ASSIGNED, ON_SITE = "open", "assigned", "on_site"
PHASES = (OPEN, ASSIGNED, ON_SITE)

#: Local hour at which each time-of-day band starts. Night repairs are slower (fewer crews, darkness, driving),
#: and the evening peak is when storms and calls pile up.
TIME_BANDS: tuple[tuple[int, str], ...] = ((0, "night"), (6, "morning"), (12, "afternoon"), (18, "evening"))

#: The smallest number of past outages a cell must hold before its distribution is trusted; below it the next,
#: coarser key of FALLBACK is tried. Ten gives a p10/p90 that is not just the extreme sample.
MIN_SAMPLES = 10

#: The keys tried in turn, from the finest cell to all history. The kind of fault (a fuse, a transformer, a whole
#: feeder) decides most of the repair time, so it is kept longest; the area class decides the driving; time of
#: day and the crews free come after. An empty key is the whole history.
FALLBACK: tuple[tuple[str, ...], ...] = (
    ("kind", "area_class", "time_band", "crews"),
    ("kind", "area_class", "time_band"),
    ("kind", "area_class", "crews"),
    ("kind", "area_class"),
    ("kind",),
    ("area_class",),
    (),
)


def time_band(local: dt.datetime) -> str:
    """The band of a local (Beijing) time: night 0–6, morning 6–12, afternoon 12–18, evening 18–24."""
    band = TIME_BANDS[0][1]
    for start, name in TIME_BANDS:
        if local.hour >= start:
            band = name
    return band


def crews_band(idle: int | None) -> str:
    """Idle vehicles of the repair centre, banded: none, 1–2 (few), 3–5 (some), 6+ (many); unknown when not
    recorded (outages from before estimates were stored)."""
    if idle is None:
        return "unknown"
    if idle <= 0:
        return "none"
    if idle <= 2:
        return "few"
    if idle <= 5:
        return "some"
    return "many"


@dataclass(frozen=True)
class Features:
    """What an outage is keyed by: its kind (the device kind, else the outage level), the area class
    (urban/rural/remote), the time-of-day band of its first evidence, and the crews free when it opened."""

    kind: str
    area_class: str
    time_band: str
    crews: str

    def cell(self, key: Sequence[str]) -> tuple[str, ...]:
        return tuple(getattr(self, name) for name in key)


@dataclass(frozen=True)
class Sample:
    """One restored outage of the past."""

    features: Features
    total_minutes: float  # first evidence → power restored
    on_site_minutes: float | None = None  # the crew's arrival → power restored (None: no arrival recorded)


@dataclass(frozen=True)
class Prior:
    """The published commitments (AreaTarget): crew on site within `arrive_minutes` of the call, power back within
    `restore_minutes` of arrival. Used as a median with a wide, log-symmetric spread: p90 = median × spread and
    p10 = median ÷ spread, since a commitment says what is typical, not how far a storm's repairs scatter."""

    arrive_minutes: float
    restore_minutes: float
    spread: float = 2.0

    def median(self, phase: str) -> float:
        return self.restore_minutes if phase == ON_SITE else self.arrive_minutes + self.restore_minutes


@dataclass(frozen=True)
class Estimate:
    etr: dt.datetime  # the median
    low: dt.datetime  # p10
    high: dt.datetime  # p90
    samples: int  # past outages the estimate rests on (0: the prior)
    key: tuple[str, ...]  # the FALLBACK key whose cell was used; empty with samples = 0 means the prior
    features: Features
    phase: str

    @property
    def from_history(self) -> bool:
        return self.samples > 0


class History:
    """Past restored outages indexed by every FALLBACK key, each cell's durations sorted (built once, read often)."""

    def __init__(self, samples: Iterable[Sample]):
        total: dict[tuple[tuple[str, ...], tuple[str, ...]], list[float]] = defaultdict(list)
        on_site: dict[tuple[tuple[str, ...], tuple[str, ...]], list[float]] = defaultdict(list)
        self.size = 0
        for sample in samples:
            if not math.isfinite(sample.total_minutes) or sample.total_minutes < 0:
                continue  # a restoration stamped before its first call is a data error, not a fast repair
            self.size += 1
            for key in FALLBACK:
                cell = (key, sample.features.cell(key))
                total[cell].append(sample.total_minutes)
                if sample.on_site_minutes is not None and sample.on_site_minutes >= 0:
                    on_site[cell].append(sample.on_site_minutes)
        self._total = {cell: sorted(values) for cell, values in total.items()}
        self._on_site = {cell: sorted(values) for cell, values in on_site.items()}

    def durations(self, key: tuple[str, ...], features: Features, *, on_site: bool) -> list[float]:
        cells = self._on_site if on_site else self._total
        return cells.get((key, features.cell(key)), [])


def quantile(values: Sequence[float], q: float) -> float:
    """The q-quantile of sorted values, interpolating linearly between closest ranks (R's and NumPy's default)."""
    if not values:
        raise ValueError("no values")
    position = q * (len(values) - 1)
    below = math.floor(position)
    above = min(below + 1, len(values) - 1)
    return values[below] + (values[above] - values[below]) * (position - below)


_Z90 = NormalDist().inv_cdf(0.9)


def _prior_quantiles(median: float, spread: float, elapsed: float) -> tuple[float, float, float]:
    """p10, p50, p90 of a log-normal with this median and p90/p50 = spread, given that it has lasted `elapsed`.
    Worked on the survival side (P(T > t) = (1 − q)·P(T > elapsed)), which stays exact far in the tail where
    1 − cdf would round to 0: an outage dark ten times longer than the commitment still gets a time ahead."""
    sigma = math.log(max(spread, 1.0001)) / _Z90
    mu = math.log(max(median, 1.0))
    unit = NormalDist()
    # erfc, not 1 − erf (as NormalDist.cdf computes it), keeps its precision down to 1e-300.
    survives = 0.5 * math.erfc((math.log(elapsed) - mu) / sigma / math.sqrt(2)) if elapsed > 0 else 1.0

    def at(q: float) -> float:
        tail = (1.0 - q) * survives
        if not 0.0 < tail < 1.0:
            return elapsed
        return math.exp(mu - sigma * unit.inv_cdf(tail))

    return at(0.1), at(0.5), at(0.9)


def _ceil(t: dt.datetime, step: int) -> dt.datetime:
    """Up to the next whole `step` minutes (in UTC minutes: every zone GridCare runs in is whole hours)."""
    seconds = step * 60
    stamp = t.timestamp()
    return dt.datetime.fromtimestamp(math.ceil(stamp / seconds) * seconds, tz=t.tzinfo)


def _floor(t: dt.datetime, step: int) -> dt.datetime:
    seconds = step * 60
    return dt.datetime.fromtimestamp(math.floor(t.timestamp() / seconds) * seconds, tz=t.tzinfo)


def estimate(
    history: History,
    features: Features,
    *,
    phase: str,
    origin: dt.datetime,
    now: dt.datetime,
    prior: Prior,
    min_samples: int = MIN_SAMPLES,
    step_minutes: int = 5,
) -> Estimate:
    """The ETR of an outage with these features. `origin` is its first evidence (phases open and assigned) or the
    crew's arrival (on_site). Only past outages that lasted longer than this one already has are counted: an
    outage dark for two hours is not going to be one of the quick ones. Times are rounded to `step_minutes`
    (callers are told "18:40", not "18:37:12"): the median and p90 up, the p10 down but never before now."""
    if phase not in PHASES:
        raise ValueError(f"unknown phase {phase!r}")
    elapsed = max(0.0, (now - origin).total_seconds() / 60)
    chosen: tuple[tuple[str, ...], list[float]] | None = None
    for key in FALLBACK:
        durations = history.durations(key, features, on_site=phase == ON_SITE)
        longer = durations[bisect_right(durations, elapsed) :]
        if len(longer) >= min_samples:
            chosen = (key, longer)
            break
    if chosen is not None:
        key, longer = chosen
        p10, p50, p90 = (quantile(longer, q) for q in (0.1, 0.5, 0.9))
        samples = len(longer)
    else:
        key, samples = (), 0
        p10, p50, p90 = _prior_quantiles(prior.median(phase), prior.spread, elapsed)
    # Never before now, whatever rounding in the tails of the prior does.
    p10, p50, p90 = (max(p, elapsed) for p in (p10, p50, p90))
    etr = _ceil(origin + dt.timedelta(minutes=p50), step_minutes)
    high = max(_ceil(origin + dt.timedelta(minutes=p90), step_minutes), etr)
    low = min(max(_floor(origin + dt.timedelta(minutes=p10), step_minutes), _ceil(now, 1)), etr)
    return Estimate(etr=etr, low=low, high=high, samples=samples, key=key, features=features, phase=phase)


def _clock(t: dt.datetime, today: dt.date) -> str:
    if t.date() == today:
        return f"{t:%H:%M}"
    if t.date() == today + dt.timedelta(days=1):
        return f"明天 {t:%H:%M}"
    return f"{t.month}月{t.day}日 {t:%H:%M}"


def describe(estimate: Estimate, *, now: dt.datetime, tz: dt.tzinfo) -> str:
    """The sentence a caller hears: the median, the 80 % interval and what it rests on."""
    return sentence(estimate.etr, estimate.low, estimate.high, estimate.samples, now=now, tz=tz)


def sentence(
    etr: dt.datetime, low: dt.datetime, high: dt.datetime, samples: int, *, now: dt.datetime, tz: dt.tzinfo
) -> str:
    """`describe` for an estimate as stored (its median, interval and number of past outages; 0: the prior)."""
    today = now.astimezone(tz).date()
    at, early, late = (_clock(t.astimezone(tz), today) for t in (etr, low, high))
    basis = f"依据 {samples} 次同类故障" if samples > 0 else "尚无足够的同类故障记录，依据供电服务承诺时限估计"
    return f"预计 {at} 恢复（80% 在 {early}–{late} 之间，{basis}）"


def describe_manual(etr: dt.datetime | None, *, now: dt.datetime, tz: dt.tzinfo) -> str:
    """An ETR given by a dispatcher (no interval: it is a person's judgement), or none yet."""
    if etr is None:
        return "预计恢复时间正在评估中"
    return f"预计 {_clock(etr.astimezone(tz), now.astimezone(tz).date())} 恢复（抢修指挥人员评估）"
