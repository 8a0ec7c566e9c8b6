"""An independent storm generator for outage prediction, and the scores a prediction gets on it. Pure: no Django.

Why a separate generator: a benchmark built by the author of a rule ends up shaped like the rule (issue #13,
defect 4). This module knows nothing of `prediction` or `grouping`; it draws a city and a storm from what
distribution utilities' storm reports and the outage-management literature describe, and keeps the ground
truth (which fault caused each piece of evidence) so any prediction can be scored against it. The numbers are
plausible values chosen from that reading, not measurements of one utility: that is why a rule is also scored on
other `SHAPES`, and why docs/storm-benchmark.md lists each choice with its reason.

Every number below is a module constant, named where it is used, so a test or a reader can check it.

The city (`city`)
-----------------
* Feeders come in three classes (`FEEDER_CLASSES`): urban 35 %, suburban 35 %, rural 30 %. They differ in how
  many 台区 they feed, how big those are and how exposed their lines are to a storm.
* 台区 per feeder (`AREAS_PER_FEEDER`): urban 10–30, suburban 15–45, rural 25–60, uniform in the range (we know
  the range a 10 kV feeder's thermal limit and length allow, not the shape inside it, so no shape is assumed). A
  10 kV urban feeder carries a few large 台区 (400–800 kVA) before its thermal limit; a rural feeder is long
  and strings many small ones (50–200 kVA) along it.
* Customers per 台区 (`AREA_SIZE`): lognormal, because 台区 sizes are strongly skewed — a handful of large
  residential compounds, many middling ones, a long tail of tiny rural ones (a pump station, a hamlet of five
  houses); a size is the product of many independent factors (plot, density, transformer rating), which is what
  a lognormal describes. Urban median 220 (σ 0.5, 30–900), suburban median 100 (σ 0.7, 8–600), rural median 35
  (σ 0.9, 2–300). Rural 台区 of a few customers are where nobody calls in a storm.
* The tree: a source breaker (断路器, `feeder` set) heads the main line; 1–3 main-line devices follow in series
  (`MAIN_LINE_KINDS`: the first is a recloser 55 %, sectionaliser 30 % or load switch 15 %, later ones a
  sectionaliser or a load switch, half and half), splitting the main line into sections. Branch lines (分支线)
  hang from a section's head device, each headed by a fuse (跌落式熔断器), about one branch per
  `AREAS_PER_BRANCH` (5) 台区; `SUB_BRANCH_SHARE` (35 %) of branches carry 1–2 sub-branches with their own
  fuse. `MAIN_LINE_AREA_SHARE` (20 %) of 台区 hang directly on the main line, the rest on branches (every
  fuse feeds at least one 台区). Normally open tie switches are not drawn: the storm needs no switching.

The storm (`storm`)
-------------------
* Fault count: Poisson with mean `intensity` × hours × feeders (`intensity` = primary faults per feeder-hour
  at the storm's average; 0.15 over 12 h ≈ 1.8 per feeder, a strong typhoon; the companions, nested faults
  and repeats below add about a fifth more). Poisson because each span of line fails or not independently of the
  others at a rate the wind sets. Feeders are picked by exposure
  (`EXPOSURE`: rural overhead lines through trees ×1.6, suburban ×1.0, urban, largely cable, ×0.5).
* Fault times: the wind field passes over the city, so the fault rate rises, peaks about a third into the
  storm and tails off: start = hours × Beta(2, 3.5) (`STORM_PROFILE`; a Beta is the simplest bounded hump whose
  peak and skew can be set).
* Fault levels by count (`LEVEL_SHARES`): service drop 28 %, 台区 transformer 22 %, branch fuse 32 %, main-line
  recloser/sectionaliser 12 %, feeder breaker 6 %. Storm damage reports agree that most events are on taps and
  services (trees and branches on low lines), while feeder lockouts are few but carry most customer-minutes.
  A main-line fault is cleared by the nearest recloser or sectionaliser above its section (a load switch does
  not interrupt fault current), or by the breaker if there is none — so breakers end up near 8 % of primary
  faults. Fuses are picked in proportion to the 台区 below them (longer branches, more exposure), main-line
  sections by the 台区 they feed, drops in proportion to customers. A fault drawn on an element that is
  already faulted at that moment is dropped (one element, one fault at a time).
* On top of those primary faults:
  - companions (`COMPANION_SHARE` 15 % of fuse/台区/main-line faults): an independent fuse or 台区 fault on
    the same feeder within ±20 min, uniform, on an element neither above nor below the first — one gust, two
    trees; this is what tempts a rule to merge two outages into the device above both;
  - nested faults (`NESTED_SHARE` 30 % of device faults with a fuse or 台区 below): a fault below the element
    while it is dark (uniform over the first 80 % of its repair). Nobody can see it until the upstream fault is
    repaired, so its crew starts only then (the same rule holds for any fault that starts inside an area already
    dark);
  - repeats (`REPEAT_AREA_SHARE` 12 % of 台区 faults): the same 台区 fails again 1–6 h (uniform) after its
    restoration (cold-load pickup on a weakened transformer, a temporary repair that does not hold).
* Repair time (`REPAIR_MEDIAN_MIN`, lognormal σ `REPAIR_SIGMA` 0.6): service drop 60 min, 台区 90, fuse 120,
  recloser/sectionaliser 180, breaker 240 (a lockout needs the whole feeder patrolled). It includes the wait
  for a crew, which in a storm dominates. Lognormal because a repair is a chain of waits and tasks whose
  lengths multiply out (reliability studies fit restoration times with it). The crew's restoration is a
  `Restoration` naming the element.
* Who is off, and because of what: a customer is off while any fault above them (or on their own drop) is
  unrepaired. The fault that darkened them is responsible until it is repaired; then the next oldest fault
  still holding them takes over (a nested outage: the customer stays dark when the neighbours come back).
  `Fault.customers_off` lists the customers a fault was responsible for at some moment; evidence is attributed
  to the fault responsible when it is sent, so no evidence comes after its fault's restoration.
* Calls: each customer off decides alone whether to call (a Bernoulli draw, so calls per 台区 are binomial:
  a small 台区 is often silent). A small share of those off call (`CALL_SHARE` 4 %: most assume the utility
  knows or cannot get through), more in the evening and at night when lights are
  needed (`NIGHT_FACTOR` ×1.5, 18:00–06:00 local), more when the outage lasts beyond two hours
  (`LONG_FACTOR` ×1.4, they want an ETR), twice as often when they stay dark after their neighbours are back
  (`STILL_DARK_FACTOR`). A customer alone without power (a drop) almost always calls (`DROP_CALL_SHARE`
  90 %). The delay to the first call is lognormal, median `CALL_DELAY_MEDIAN_MIN` 12 min, σ
  `CALL_DELAY_SIGMA` 1.1 (p90 ≈ 50 min, p99 ≈ 2.6 h): most within a quarter of an hour, a few who were out or
  asleep hours later — a long right tail with no upper bound, which a lognormal has and a window-shaped rule
  does not expect; a call that would come after the power is back is never made. A caller calls again with
  `REPEAT_CALL_SHARE` 20 % (50 % for a drop) after a lognormal gap (median 30 min), again while still dark
  (so the number of calls per caller is geometric).
* Meters: a share `meters` of customers have a meter that reports a last gasp (停电事件主动上报); on a fault
  `METER_LOST` 12 % of them never arrive (the concentrator or the carrier path is down too), `METER_LATE` 8 %
  arrive late through store-and-forward (lognormal median 8 min), the rest within seconds (1 s plus an
  exponential wait, mean `METER_PROMPT_MEAN_S` 4 s: a radio queue). A meter only gasps when its power goes, so a
  customer kept dark by a nested fault sends nothing new.

Shapes (`Shape`, `SHAPES`)
--------------------------
The caller and meter behaviour and the share of simultaneous faults are fields of `Shape` (defaults: the
constants above), so a rule tuned on the default storm can be scored on others: `slow-callers` (call delay median
35 min, σ 1.4: p90 ≈ 3.5 h), `few-callers` (1.3 % call, 10 % call again), `many-at-once` (0.40 faults per
feeder-hour and half of them with a companion) and `all-hard` (all three at once).

Scoring
-------
`pairwise`: over pairs of evidence items; `customer_minutes`: customers below the predicted element × its
duration; `score`: both, with counts. The storm's end (for predictions still open) is its last restoration;
restorations run past `hours`, as they do after a real storm. `perfect` turns the truth into predictions and
`baseline_by_area` is a deliberately naive predictor, both to check the scores themselves.

`python -m gridcare.repair.stormgen --seed 1 [--shape few-callers]` prints a storm's shape.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import math
import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from gridcare.repair.evidence import AREA, CALL, CUSTOMER, DEVICE, METER, Evidence, Prediction, Restoration
from gridcare.repair.network import Area, Device, Network

# ---- the city ------------------------------------------------------------------------------------------------------

FEEDER_CLASSES = (("urban", 0.35), ("suburban", 0.35), ("rural", 0.30))
AREAS_PER_FEEDER = {"urban": (10, 30), "suburban": (15, 45), "rural": (25, 60)}
#: class: (median customers, lognormal sigma, min, max)
AREA_SIZE = {"urban": (220, 0.5, 30, 900), "suburban": (100, 0.7, 8, 600), "rural": (35, 0.9, 2, 300)}
MAIN_LINE_KINDS = (("recloser", 0.55), ("sectionaliser", 0.30), ("switch", 0.15))
LATER_MAIN_LINE_KINDS = (("sectionaliser", 0.5), ("switch", 0.5))
AREAS_PER_BRANCH = 5
SUB_BRANCH_SHARE = 0.35
MAIN_LINE_AREA_SHARE = 0.20

# ---- the storm -----------------------------------------------------------------------------------------------------

EXPOSURE = {"urban": 0.5, "suburban": 1.0, "rural": 1.6}
STORM_PROFILE = (2.0, 3.5)  # Beta(a, b) over the storm's hours: peak about a third in
#: Fault levels by count. "mainline" is a recloser/sectionaliser (or the breaker if the line has none).
LEVEL_SHARES = (("customer", 0.28), ("area", 0.22), ("fuse", 0.32), ("mainline", 0.12), ("breaker", 0.06))
COMPANION_SHARE = 0.15
COMPANION_WINDOW_MIN = 20.0
NESTED_SHARE = 0.30
REPEAT_AREA_SHARE = 0.12
REPEAT_AREA_GAP_MIN = (60.0, 360.0)
REPAIR_MEDIAN_MIN = {"customer": 60.0, "area": 90.0, "fuse": 120.0, "recloser": 180.0, "sectionaliser": 180.0,
                     "breaker": 240.0}  # fmt: skip
REPAIR_SIGMA = 0.6

CALL_SHARE = 0.04
NIGHT_FACTOR = 1.5
NIGHT_HOURS = (18, 6)  # local hours [18:00, 06:00)
LONG_FACTOR = 1.4
LONG_OUTAGE_MIN = 120.0
STILL_DARK_FACTOR = 2.0
DROP_CALL_SHARE = 0.90
CALL_DELAY_MEDIAN_MIN = 12.0
CALL_DELAY_SIGMA = 1.1
REPEAT_CALL_SHARE = 0.20
DROP_REPEAT_CALL_SHARE = 0.50
REPEAT_GAP_MEDIAN_MIN = 30.0
REPEAT_GAP_SIGMA = 0.8

METER_LOST = 0.12
METER_LATE = 0.08
METER_LATE_MEDIAN_MIN = 8.0
METER_LATE_SIGMA = 1.0
METER_PROMPT_MEAN_S = 4.0


@dataclass(frozen=True)
class Shape:
    """How customers, meters and the weather behave in one storm; the defaults are the constants above, and
    other shapes test a rule on storms it was not tuned on (`SHAPES`, docs/storm-benchmark.md)."""

    call_share: float = CALL_SHARE
    call_delay_median_min: float = CALL_DELAY_MEDIAN_MIN
    call_delay_sigma: float = CALL_DELAY_SIGMA
    repeat_call_share: float = REPEAT_CALL_SHARE
    companion_share: float = COMPANION_SHARE
    nested_share: float = NESTED_SHARE
    meter_lost: float = METER_LOST
    meter_late: float = METER_LATE


#: The default storm and others, each (shape, faults per feeder-hour): callers who wait for hours (asleep, out,
#: phone lines down: median 35 min, p90 ≈ 3.5 h), a district that calls three times less (used to outages, or
#: told by the media) and calls again half as often, a gust front that breaks many things at once (2.7× the
#: faults, half of them with an independent companion nearby), and all three together.
SHAPES: dict[str, tuple[Shape, float]] = {
    "typhoon": (Shape(), 0.15),
    "slow-callers": (Shape(call_delay_median_min=35.0, call_delay_sigma=1.4), 0.15),
    "few-callers": (Shape(call_share=0.013, repeat_call_share=0.10), 0.15),
    "many-at-once": (Shape(companion_share=0.5), 0.40),
    "all-hard": (
        Shape(call_delay_median_min=35.0, call_delay_sigma=1.4, call_share=0.013, repeat_call_share=0.10,
              companion_share=0.5),
        0.40,
    ),
}  # fmt: skip

#: A typhoon making landfall in the afternoon, so the storm runs into the evening (Beijing time).
DEFAULT_START = dt.datetime(2026, 7, 15, 15, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def _pick(rng: random.Random, shares: Sequence[tuple[str, float]]) -> str:
    return rng.choices([k for k, _ in shares], weights=[w for _, w in shares])[0]


def _lognormal(rng: random.Random, median: float, sigma: float) -> float:
    return median * math.exp(rng.gauss(0.0, sigma))


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam < 30:  # Knuth: exact, and cheap for small means
        limit, k, p = math.exp(-lam), 0, 1.0
        while True:
            p *= rng.random()
            if p <= limit:
                return k
            k += 1
    return max(0, round(rng.gauss(lam, math.sqrt(lam))))  # normal approximation, fine for large means


def customer_id(area: str, k: int) -> str:
    """The k-th customer (0-based) of a 台区; also the id of its meter's events."""
    return f"{area}-{k:04d}"


def customers_of(network: Network, area: str) -> list[str]:
    return [customer_id(area, k) for k in range(network.areas[area].customers)]


# ---- the city ------------------------------------------------------------------------------------------------------


def feeder_class(feeder_breaker: str) -> str:
    """The class a generated feeder was drawn as, read back from its breaker's id (`F001u-CB`); a network not
    drawn by `city` has no class: its feeders count as suburban (exposure 1)."""
    return {"u": "urban", "s": "suburban", "r": "rural"}.get(feeder_breaker.split("-")[0][-1:], "suburban")


def city(seed: int, feeders: int = 50) -> Network:
    """A city of `feeders` radial feeders, drawn as the module docstring describes."""
    rng = random.Random(f"city:{seed}")  # noqa: S311 - a seeded, reproducible draw, not a secret
    devices: list[Device] = []
    areas: list[Area] = []
    for i in range(1, feeders + 1):
        cls = _pick(rng, FEEDER_CLASSES)
        name = f"F{i:03d}{cls[0]}"
        cb = Device(f"{name}-CB", "breaker", None, name)
        devices.append(cb)
        # The main line: its sections are headed by the breaker and each main-line device in turn.
        heads = [cb.id]
        for k in range(rng.randint(1, 3)):
            kind = _pick(rng, MAIN_LINE_KINDS if k == 0 else LATER_MAIN_LINE_KINDS)
            devices.append(Device(f"{name}-M{k + 1}", kind, heads[-1]))
            heads.append(devices[-1].id)
        n_areas = rng.randint(*AREAS_PER_FEEDER[cls])
        on_main = [rng.random() < MAIN_LINE_AREA_SHARE for _ in range(n_areas)]
        n_branch_areas = n_areas - sum(on_main)
        fuses: list[str] = []
        for b in range(max(1, round(n_branch_areas / AREAS_PER_BRANCH)) if n_branch_areas else 0):
            fuse = Device(f"{name}-B{b + 1:02d}", "fuse", rng.choice(heads))
            devices.append(fuse)
            fuses.append(fuse.id)
            if rng.random() < SUB_BRANCH_SHARE:
                for s in range(rng.randint(1, 2)):
                    devices.append(Device(f"{fuse.id}-S{s + 1}", "fuse", fuse.id))
                    fuses.append(devices[-1].id)
        median, sigma, lo, hi = AREA_SIZE[cls]
        branch_slots = list(fuses)  # every fuse feeds at least one 台区, the rest go anywhere on the branches
        rng.shuffle(branch_slots)
        for a in range(n_areas):
            if on_main[a] or not fuses:
                device = rng.choice(heads)
            elif branch_slots:
                device = branch_slots.pop()
            else:
                device = rng.choice(fuses)
            size = min(hi, max(lo, round(_lognormal(rng, median, sigma))))
            areas.append(Area(f"{name}-T{a + 1:02d}", device, size))
    return Network(devices, areas)


# ---- the storm -----------------------------------------------------------------------------------------------------


@dataclass
class Fault:
    """A true fault: `element` at `level` (a device id, a 台区 id or a customer), from `start` to `end`."""

    id: str
    level: str  # DEVICE, AREA or CUSTOMER
    kind: str  # the device kind, "area" or "customer"
    element: str
    start: dt.datetime
    end: dt.datetime
    origin: str = "primary"  # primary | companion | nested | repeat
    customers_off: list[str] = field(default_factory=list)  # customers this fault held dark at some moment
    customer_minutes: float = 0.0  # minutes those customers were dark because of this fault
    dark_at: dt.datetime | None = None  # when it first held a customer dark: its start, or later if it was hidden
    evidence: list[str] = field(default_factory=list)  # the evidence ids it caused, in time order


@dataclass
class Storm:
    start: dt.datetime
    end: dt.datetime  # the last restoration (or start + hours if nothing failed)
    faults: list[Fault]
    events: list[Evidence | Restoration]  # in time order; evidence before a restoration at the same instant
    truth: dict[str, str]  # evidence id -> fault id

    @property
    def evidence(self) -> list[Evidence]:
        return [e for e in self.events if isinstance(e, Evidence)]

    @property
    def restorations(self) -> list[Restoration]:
        return [e for e in self.events if isinstance(e, Restoration)]


@dataclass
class _F:  # a fault while the storm is drawn: minutes from the storm's start
    id: str
    level: str
    kind: str
    element: str
    feeder: str
    start: float
    repair: float
    origin: str
    end: float = 0.0


class _Drawer:
    def __init__(self, network: Network, rng: random.Random):
        self.net, self.rng = network, rng
        self.feeders = sorted(d.id for d in network.devices.values() if d.parent is None)
        self.devices_of: dict[str, list[str]] = defaultdict(list)
        for d in sorted(network.devices):
            self.devices_of[network.upstream(d)[-1]].append(d)
        self.areas_of: dict[str, list[str]] = defaultdict(list)
        for a in sorted(network.areas):
            self.areas_of[network.upstream(network.areas[a].device)[-1]].append(a)
        self.faults: list[_F] = []
        self.busy: dict[str, list[tuple[float, float]]] = defaultdict(list)  # element -> drawn (start, start+repair)

    def _repair(self, kind: str) -> float:
        return _lognormal(self.rng, REPAIR_MEDIAN_MIN[kind], REPAIR_SIGMA)

    def add(self, level: str, kind: str, element: str, feeder: str, start: float, origin: str) -> _F | None:
        repair = self._repair(kind)
        # One element cannot fail twice at once; a clash is dropped (rare, and redrawing would bias the time).
        if any(s - 1 < start < e + 1 for s, e in self.busy[element]):
            return None
        self.busy[element].append((start, start + repair))
        f = _F(f"f{len(self.faults) + 1:05d}", level, kind, element, feeder, start, repair, origin)
        self.faults.append(f)
        return f

    def protective_above(self, device: str) -> str:
        for d in self.net.upstream(device):
            if self.net.devices[d].kind != "switch":
                return d
        raise AssertionError("a feeder's source is a breaker")  # pragma: no cover

    def primary(self, start: float) -> _F | None:
        rng, net = self.rng, self.net
        weights = [EXPOSURE[feeder_class(f)] for f in self.feeders]
        feeder = rng.choices(self.feeders, weights=weights)[0]
        level = _pick(rng, LEVEL_SHARES)
        devices = self.devices_of[feeder]
        areas = self.areas_of[feeder]
        if level == "breaker":
            return self.add(DEVICE, "breaker", feeder, feeder, start, "primary")
        if level == "mainline":
            heads = [d for d in devices if net.devices[d].kind != "fuse" and d != feeder]
            if not heads:
                return self.add(DEVICE, "breaker", feeder, feeder, start, "primary")
            # A section's exposure is the 台区 it feeds itself (on it and on its branches), not those beyond the
            # next main-line device; +1 for the line itself.
            weights = []
            for h in heads:
                beyond = sum(len(net.areas_below[k]) for k in net.children.get(h, ()) if k in heads)
                weights.append(1 + len(net.areas_below[h]) - beyond)
            section = rng.choices(heads, weights=weights)[0]
            element = self.protective_above(section)
            return self.add(DEVICE, net.devices[element].kind, element, feeder, start, "primary")
        if level == "fuse":
            fuses = [d for d in devices if net.devices[d].kind == "fuse"]
            if not fuses:
                return None
            fuse = rng.choices(fuses, weights=[len(net.areas_below[f]) for f in fuses])[0]
            return self.add(DEVICE, "fuse", fuse, feeder, start, "primary")
        if level == "area":
            return self.add(AREA, "area", rng.choice(areas), feeder, start, "primary")
        area = rng.choices(areas, weights=[net.areas[a].customers for a in areas])[0]
        customer = customer_id(area, rng.randrange(net.areas[area].customers))
        return self.add(CUSTOMER, "customer", customer, feeder, start, "primary")

    def areas_under(self, f: _F) -> frozenset[str]:
        if f.level == DEVICE:
            return self.net.areas_below[f.element]
        if f.level == AREA:
            return frozenset([f.element])
        return frozenset([f.element.rsplit("-", 1)[0]])

    def companion(self, f: _F) -> None:
        rng, net = self.rng, self.net
        mine = self.areas_under(f)
        fuses = [d for d in self.devices_of[f.feeder] if net.devices[d].kind == "fuse"]
        # Independent: neither above nor below the first fault, so its 台区 are disjoint from the first's.
        fuses = [d for d in fuses if not (net.areas_below[d] & mine)]
        areas = [a for a in self.areas_of[f.feeder] if a not in mine]
        start = max(0.0, f.start + rng.uniform(-COMPANION_WINDOW_MIN, COMPANION_WINDOW_MIN))
        if fuses and rng.random() < 0.5:
            self.add(DEVICE, "fuse", rng.choice(fuses), f.feeder, start, "companion")
        elif areas:
            self.add(AREA, "area", rng.choice(areas), f.feeder, start, "companion")

    def nested(self, f: _F) -> None:
        rng, net = self.rng, self.net
        below = [d for d in self.devices_of[f.feeder] if net.devices[d].kind == "fuse" and d != f.element]
        below = [d for d in below if f.element in net.upstream(d)]
        start = f.start + rng.uniform(0.0, 0.8) * f.repair
        if below and rng.random() < 0.7:
            self.add(DEVICE, "fuse", rng.choice(below), f.feeder, start, "nested")
        elif net.areas_below[f.element]:
            self.add(AREA, "area", rng.choice(sorted(net.areas_below[f.element])), f.feeder, start, "nested")

    def settle(self) -> None:
        """Set each fault's end. A fault that starts where an older unrepaired fault already holds all its
        customers dark cannot be seen: its crew starts when that fault is repaired (the nested outage is found on
        re-energising), so its end is the latest such end plus its own repair time."""
        above: dict[str, list[_F]] = defaultdict(list)  # area -> the device/台区 faults covering it, by start
        for f in sorted(self.faults, key=lambda x: (x.start, x.id)):
            mine = self.areas_under(f)
            hidden_until = 0.0
            for u in above[min(mine)] if mine else ():
                if u.start <= f.start < u.end and self.areas_under(u) >= mine:
                    hidden_until = max(hidden_until, u.end)
            f.end = max(f.start, hidden_until) + f.repair
            if f.level != CUSTOMER:
                for area in mine:
                    above[area].append(f)

    def drop_overlaps(self) -> None:
        """Keep one fault per element at a time: a hidden fault's end moves after it is drawn, so a later fault
        on the same element can land inside it; the later one goes (it would be the same repair)."""
        kept: list[_F] = []
        last_end: dict[str, float] = {}
        for f in sorted(self.faults, key=lambda x: (x.start, x.id)):
            if f.start < last_end.get(f.element, -1.0):
                continue
            last_end[f.element] = f.end
            kept.append(f)
        self.faults = kept


def _segments(intervals: list[tuple[float, float, str]]) -> list[tuple[float, float, str, bool]]:
    """The stretches of darkness of one customer, each with the fault responsible (the oldest unrepaired one) and
    whether the customer lost power at its start (`fresh`) or was already dark (the previous fault was repaired
    while this one still held them)."""
    cuts = sorted({t for s, e, _ in intervals for t in (s, e)})
    order = {fid: (s, fid) for s, _, fid in intervals}
    out: list[tuple[float, float, str, bool]] = []
    dark_before = False
    for a, b in itertools.pairwise(cuts):
        active = [fid for s, e, fid in intervals if s <= a < e]
        if not active:
            dark_before = False
            continue
        fid = min(active, key=lambda x: order[x])
        if out and out[-1][2] == fid and out[-1][1] == a:
            out[-1] = (out[-1][0], b, fid, out[-1][3])
        else:
            out.append((a, b, fid, not dark_before))
        dark_before = True
    return out


def _is_night(t: dt.datetime) -> bool:
    h = t.hour
    return h >= NIGHT_HOURS[0] or h < NIGHT_HOURS[1]


def storm(
    network: Network,
    seed: int,
    hours: float = 12.0,
    intensity: float = 0.15,
    meters: float = 0.1,
    start: dt.datetime = DEFAULT_START,
    shape: Shape = Shape(),
) -> Storm:
    """A storm over `network`: faults start within `hours`; `intensity` faults per feeder-hour on average;
    `meters` the share of customers whose meter reports a last gasp (0: calls only); `shape` how callers,
    meters and simultaneous faults behave."""
    rng = random.Random(f"storm:{seed}")  # noqa: S311 - a seeded, reproducible draw, not a secret
    drawer = _Drawer(network, rng)
    n = _poisson(rng, intensity * hours * len(drawer.feeders))
    for _ in range(n):
        drawer.primary(hours * 60 * rng.betavariate(*STORM_PROFILE))
    for f in list(drawer.faults):
        if f.kind in ("fuse", "area", "recloser", "sectionaliser") and rng.random() < shape.companion_share:
            drawer.companion(f)
        if f.level == DEVICE and rng.random() < shape.nested_share:
            drawer.nested(f)
    drawer.settle()
    for f in list(drawer.faults):
        if f.level == AREA and f.origin == "primary" and rng.random() < REPEAT_AREA_SHARE:
            drawer.add(AREA, "area", f.element, f.feeder, f.end + rng.uniform(*REPEAT_AREA_GAP_MIN), "repeat")
    drawer.settle()  # the repeats start after every end settled so far, so those ends do not move
    drawer.drop_overlaps()
    return _assemble(network, rng, drawer.faults, hours, meters, start, shape)


def _assemble(
    network: Network,
    rng: random.Random,
    drawn: list[_F],
    hours: float,
    meters: float,
    start: dt.datetime,
    shape: Shape,
) -> Storm:
    def at(minutes: float) -> dt.datetime:
        return start + dt.timedelta(minutes=minutes)

    # Who is dark, when, because of what: per 台区 for the faults that cover it whole, per customer for drops.
    covering: dict[str, list[tuple[float, float, str]]] = defaultdict(list)
    drops: dict[str, list[tuple[float, float, str]]] = defaultdict(list)
    for f in drawn:
        if f.level == DEVICE:
            for area in network.areas_below[f.element]:
                covering[area].append((f.start, f.end, f.id))
        elif f.level == AREA:
            covering[f.element].append((f.start, f.end, f.id))
        else:
            drops[f.element].append((f.start, f.end, f.id))
    by_id = {f.id: f for f in drawn}
    off: dict[str, list[str]] = defaultdict(list)
    minutes_off: dict[str, float] = defaultdict(float)
    dark_at: dict[str, float] = {}
    raw: list[tuple[float, str, str, str, str]] = []  # (minutes, source, area, customer, fault id)
    has_meter: dict[str, bool] = {}
    shares: dict[tuple[float, float, str, bool], tuple[float, float]] = {}
    drop_areas: dict[str, list[str]] = defaultdict(list)
    for c in drops:
        drop_areas[c.rsplit("-", 1)[0]].append(c)
    for area in sorted(set(covering) | set(drop_areas)):
        area_segments = _segments(covering[area]) if covering[area] else []
        special = set(drop_areas.get(area, ()))
        for c in customers_of(network, area):
            segs = _segments(covering[area] + drops[c]) if c in special else area_segments
            if not segs:
                continue
            if c not in has_meter:
                has_meter[c] = rng.random() < meters
            for seg in segs:
                a, b, fid, fresh = seg
                if not off[fid] or off[fid][-1] != c:
                    off[fid].append(c)
                minutes_off[fid] += b - a
                dark_at[fid] = min(a, dark_at.get(fid, a))
                if seg not in shares:  # the same for every customer of the stretch: worked out once
                    shares[seg] = _call_share(by_id[fid].level, at(a), b - a, fresh, shape)
                _customer_evidence(rng, raw, a, b, fid, fresh, has_meter[c], shares[seg], area, c, shape)

    raw.sort(key=lambda r: (r[0], r[3], r[1]))
    events: list[Evidence | Restoration] = []
    truth: dict[str, str] = {}
    evidence_of: dict[str, list[str]] = defaultdict(list)
    timed: list[tuple[float, int, int, Evidence | Restoration]] = []
    for i, (m, source, area, c, fid) in enumerate(raw):
        eid = f"e{i + 1:06d}"
        truth[eid] = fid
        evidence_of[fid].append(eid)
        timed.append((m, 0, i, Evidence(eid, at(m), area, c, source)))
    for j, f in enumerate(sorted(drawn, key=lambda x: (x.end, x.id))):
        r = {DEVICE: Restoration(at(f.end), device=f.element), AREA: Restoration(at(f.end), area=f.element)}.get(
            f.level, Restoration(at(f.end), customer=f.element)
        )
        timed.append((f.end, 1, j, r))  # at the same instant evidence comes first: it was sent while still dark
    timed.sort(key=lambda x: (x[0], x[1], x[2]))
    events = [x[3] for x in timed]
    faults = [
        Fault(
            f.id,
            f.level,
            f.kind,
            f.element,
            at(f.start),
            at(f.end),
            f.origin,
            customers_off=off[f.id],
            customer_minutes=minutes_off[f.id],
            dark_at=at(dark_at[f.id]) if f.id in dark_at else None,
            evidence=evidence_of[f.id],
        )
        for f in sorted(drawn, key=lambda x: (x.start, x.id))
    ]
    end = max((f.end for f in drawn), default=hours * 60)
    return Storm(start, at(end), faults, events, truth)


def _call_share(level: str, dark_from: dt.datetime, minutes: float, fresh: bool, shape: Shape) -> tuple[float, float]:
    """(chance to call, chance to call again after each call) for one customer of one stretch of darkness."""
    if level == CUSTOMER:
        return DROP_CALL_SHARE, DROP_REPEAT_CALL_SHARE
    p = shape.call_share
    if _is_night(dark_from):
        p *= NIGHT_FACTOR
    if minutes > LONG_OUTAGE_MIN:
        p *= LONG_FACTOR
    if not fresh:
        p *= STILL_DARK_FACTOR
    return p, shape.repeat_call_share


def _customer_evidence(
    rng: random.Random,
    raw: list[tuple[float, str, str, str, str]],
    a: float,
    b: float,
    fid: str,
    fresh: bool,
    meter: bool,
    share: tuple[float, float],
    area: str,
    c: str,
    shape: Shape,
) -> None:
    """The calls and the meter event of customer `c` for one stretch [a, b) of darkness caused by fault `fid`."""
    if meter and fresh:  # a meter gasps when its power goes, not while it stays off
        u = rng.random()
        if u >= shape.meter_lost:
            if u < shape.meter_lost + shape.meter_late:
                t = a + _lognormal(rng, METER_LATE_MEDIAN_MIN, METER_LATE_SIGMA)
            else:
                t = a + (1.0 + rng.expovariate(1.0 / METER_PROMPT_MEAN_S)) / 60.0
            if t < b:
                raw.append((t, METER, area, c, fid))
    p, again = share
    if rng.random() >= p:
        return
    t = a + _lognormal(rng, shape.call_delay_median_min, shape.call_delay_sigma)
    while t < b:  # nobody calls once the power is back
        raw.append((t, CALL, area, c, fid))
        if rng.random() >= again:
            break
        t += _lognormal(rng, REPEAT_GAP_MEDIAN_MIN, REPEAT_GAP_SIGMA)


# ---- scoring -------------------------------------------------------------------------------------------------------


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def pairwise(predictions: Iterable[Prediction], truth: dict[str, str]) -> tuple[float, float]:
    """Pairwise precision and recall over the evidence in `truth`.

    Two evidence items are a true pair when the same fault caused them, a predicted pair when one prediction
    holds both. Precision = true predicted pairs / predicted pairs, recall = true predicted pairs / true pairs.
    With no predicted pairs precision is 1.0 (nothing was claimed, nothing is wrong); with no true pairs recall
    is 1.0 (nothing to find). Evidence unknown to `truth` is ignored. An item held by several predictions counts
    every pair it is in once."""
    groups = [[e for e in dict.fromkeys(p.evidence) if e in truth] for p in predictions]
    true_pairs = sum(_pairs(n) for n in Counter(truth.values()).values())
    seen: Counter[str] = Counter(e for g in groups for e in g)
    if all(n == 1 for n in seen.values()):  # a partition: count pairs per group, no pair is counted twice
        predicted = sum(_pairs(len(g)) for g in groups)
        correct = sum(_pairs(n) for g in groups for n in Counter(truth[e] for e in g).values())
    else:
        pairs = {(x, y) for g in groups for i, x in enumerate(sorted(g)) for y in sorted(g)[i + 1 :]}
        predicted = len(pairs)
        correct = sum(truth[x] == truth[y] for x, y in pairs)
    precision = correct / predicted if predicted else 1.0
    recall = correct / true_pairs if true_pairs else 1.0
    return precision, recall


def _customers_at(network: Network, level: str, element: str) -> int:
    if level == DEVICE:
        return network.customers_below.get(element, 0)
    if level == AREA:
        return network.areas[element].customers if element in network.areas else 0
    return 1


def customer_minutes(predictions: Iterable[Prediction], storm: Storm, network: Network) -> tuple[float, float]:
    """(predicted, true) customer-minutes off. A prediction counts the customers below its element times
    (restored_at, or the storm's end while open) − first_at; a true fault the same with its own start and end,
    so a perfect prediction scores exactly the true figure. (Overlapping faults count their overlap twice on
    both sides; `Fault.customer_minutes` has what customers actually lived through.)"""
    predicted = 0.0
    for p in predictions:
        end = p.restored_at or storm.end
        predicted += _customers_at(network, p.level, p.element) * max(0.0, (end - p.first_at).total_seconds() / 60)
    true = sum(
        _customers_at(network, f.level, f.element) * (f.end - f.start).total_seconds() / 60 for f in storm.faults
    )
    return predicted, true


def score(predictions: Sequence[Prediction], storm: Storm, network: Network) -> dict[str, float]:
    precision, recall = pairwise(predictions, storm.truth)
    predicted_cm, true_cm = customer_minutes(predictions, storm, network)
    return {
        "precision": precision,
        "recall": recall,
        "customer_minutes_predicted": predicted_cm,
        "customer_minutes_true": true_cm,
        "customer_minutes_ratio": predicted_cm / true_cm if true_cm else 1.0,
        "faults": len(storm.faults),
        "faults_with_evidence": sum(1 for f in storm.faults if f.evidence),
        "predictions": len(predictions),
        "evidence": len(storm.truth),
    }


def perfect(storm: Storm) -> list[Prediction]:
    """The truth as predictions: one per fault, holding all its evidence (none for a fault nobody reported),
    from its start to its restoration."""
    return [
        Prediction(i, f.level, f.element, f.start, list(f.evidence), restored_at=f.end)
        for i, f in enumerate(storm.faults, start=1)
    ]


def baseline_by_area(storm: Storm) -> list[Prediction]:
    """A naive predictor for checking the scores: one 台区-level prediction per 台区 per clock hour of evidence."""
    groups: dict[tuple[str, int], list[Evidence]] = defaultdict(list)
    for e in storm.evidence:
        groups[(e.area, int((e.at - storm.start).total_seconds() // 3600))].append(e)
    return [
        Prediction(i, AREA, area, items[0].at, [e.id for e in items])
        for i, ((area, _), items) in enumerate(sorted(groups.items(), key=lambda kv: kv[1][0].at), start=1)
    ]


# ---- command line --------------------------------------------------------------------------------------------------


def _percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def first_call_delays(storm: Storm) -> list[float]:
    """Minutes from the moment a fault first held customers dark to each customer's first call about it, for
    faults above a drop: the delay the caller model draws (customers it took over from a repaired older fault
    count from that moment too, so the tail is a little longer than drawn)."""
    by_id = {e.id: e for e in storm.evidence}
    out: list[float] = []
    for f in storm.faults:
        if f.level == CUSTOMER:
            continue
        seen: set[str] = set()
        for eid in f.evidence:
            e = by_id[eid]
            if e.source == CALL and e.customer not in seen:
                seen.add(e.customer)
                out.append((e.at - (f.dark_at or f.start)).total_seconds() / 60)
    return out


def summary(network: Network, s: Storm) -> str:
    lines = [
        f"city: {len([d for d in network.devices.values() if d.parent is None])} feeders, "
        f"{len(network.devices)} devices, {len(network.areas)} 台区, "
        f"{sum(a.customers for a in network.areas.values())} customers",
        f"storm: {s.start:%Y-%m-%d %H:%M} → {s.end:%Y-%m-%d %H:%M}, {len(s.faults)} faults, "
        f"{len(s.truth)} evidence, {len(s.restorations)} restorations",
    ]
    lines.append(
        "faults by kind:   " + ", ".join(f"{k} {n}" for k, n in Counter(f.kind for f in s.faults).most_common())
    )
    lines.append(
        "faults by origin: " + ", ".join(f"{k} {n}" for k, n in Counter(f.origin for f in s.faults).most_common())
    )
    silent = sum(1 for f in s.faults if not f.evidence)
    lines.append(f"faults with no evidence at all: {silent}")
    ev = s.evidence
    lines.append("evidence by source: " + ", ".join(f"{k} {n}" for k, n in Counter(e.source for e in ev).most_common()))
    wide = [f for f in s.faults if f.level != CUSTOMER]
    off = sum(len(f.customers_off) for f in wide)
    by_id = {e.id: e for e in ev}
    callers = sum(len({by_id[x].customer for x in f.evidence if by_id[x].source == CALL}) for f in wide)
    calls = sum(1 for e in ev if e.source == CALL)
    distinct = len({(s.truth[e.id], e.customer) for e in ev if e.source == CALL})
    lines.append(
        f"callers: {callers} of {off} customers off above a drop ({callers / off if off else 0:.1%}); "
        f"repeat calls {calls - distinct}"
    )
    d = first_call_delays(s)
    lines.append(
        "first-call delay (min): "
        + ", ".join(f"p{int(q * 100)} {_percentile(d, q):.1f}" for q in (0.1, 0.5, 0.75, 0.9, 0.99))
    )
    sc = score(baseline_by_area(s), s, network)
    lines.append(
        f"baseline (one per 台区 per hour): precision {sc['precision']:.3f} recall {sc['recall']:.3f}, "
        f"customer-minutes {sc['customer_minutes_ratio']:.2f}× true"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Draw a city and a storm and print the storm's shape.")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--feeders", type=int, default=50)
    parser.add_argument("--hours", type=float, default=12.0)
    parser.add_argument("--intensity", type=float, default=None, help="faults per feeder-hour (default: the shape's)")
    parser.add_argument("--meters", type=float, default=0.1)
    parser.add_argument("--shape", choices=sorted(SHAPES), default="typhoon", help="caller and fault behaviour")
    args = parser.parse_args(argv)
    network = city(args.seed, feeders=args.feeders)
    shape, shape_intensity = SHAPES[args.shape]
    intensity = shape_intensity if args.intensity is None else args.intensity
    s = storm(network, args.seed, hours=args.hours, intensity=intensity, meters=args.meters, shape=shape)
    print(summary(network, s))


if __name__ == "__main__":
    main()
