"""Pure trouble-call analysis: which repair calls belong to one probable outage.

Industry practice: one call is a probable service outage; calls under the same transformer area (台区)
within a window roll up to a probable device outage; calls spread over enough transformer areas of
one feeder roll up to the feeder. The same rule runs online (at intake, one call at a time, in
repair.services) and offline here (replays, the storm benchmark).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Rule:
    window: dt.timedelta = dt.timedelta(minutes=30)  # calls further apart than this start a new outage
    feeder_min_areas: int = 3  # at least this many 台区 with calls …
    # … and most of the feeder's 台区: a dead feeder darkens all of them, while in a storm several 台区 of one
    # feeder often fail on their own (a fifth of all 台区 in our storm replay) and must stay separate outages.
    feeder_min_share: float = 0.8

    def feeder_threshold(self, areas_on_feeder: int) -> int:
        n = max(areas_on_feeder, 1)
        return max(min(self.feeder_min_areas, n), math.ceil(self.feeder_min_share * n))


@dataclass(frozen=True)
class Call:
    id: int
    at: dt.datetime
    area: int | None  # transformer area id
    feeder: int | None


@dataclass
class Group:
    level: str  # service_point | transformer_area | feeder
    area: int | None
    feeder: int | None
    first_at: dt.datetime
    last_at: dt.datetime
    calls: list[int] = field(default_factory=list)
    areas: set[int] = field(default_factory=set)


def group_calls(calls: Iterable[Call], areas_per_feeder: Mapping[int, int], rule: Rule = Rule()) -> list[Group]:
    """Replay calls in time order through the online rule; returns the probable outages."""
    feeder_open: dict[int, Group] = {}
    area_open: dict[int, Group] = {}
    groups: list[Group] = []
    for call in sorted(calls, key=lambda c: (c.at, c.id)):
        if call.area is None:
            g = Group("service_point", None, call.feeder, call.at, call.at, [call.id])
            groups.append(g)
            continue
        fg = feeder_open.get(call.feeder) if call.feeder is not None else None
        if fg is not None and call.at - fg.last_at <= rule.window:
            fg.calls.append(call.id)
            fg.areas.add(call.area)
            fg.last_at = call.at
            continue
        ag = area_open.get(call.area)
        if ag is None or call.at - ag.last_at > rule.window:
            ag = Group("service_point", call.area, call.feeder, call.at, call.at, [], {call.area})
            area_open[call.area] = ag
            groups.append(ag)
        ag.calls.append(call.id)
        ag.last_at = call.at
        if len(ag.calls) >= 2:
            ag.level = "transformer_area"
        if call.feeder is None:
            continue
        live = [g for g in area_open.values() if g.feeder == call.feeder and call.at - g.last_at <= rule.window]
        # Only device outages (台区 with two calls or more) count towards the feeder: single calls are
        # probable service outages, and in a storm they are sprinkled over every feeder.
        devices = {g.area for g in live if g.level == "transformer_area"}
        if len(devices) >= rule.feeder_threshold(areas_per_feeder.get(call.feeder, 1)):
            merged = Group("feeder", None, call.feeder, min(g.first_at for g in live), call.at)
            for g in live:
                merged.calls += g.calls
                merged.areas |= g.areas
                groups.remove(g)
                area_open.pop(g.area, None)  # type: ignore[arg-type]
            groups.append(merged)
            feeder_open[call.feeder] = merged
    return groups


def pair_scores(predicted: Iterable[Iterable[int]], truth: Mapping[int, int]) -> tuple[float, float]:
    """Pairwise precision and recall of a grouping against the true outage of each call."""
    pred_of: dict[int, int] = {}
    for gi, ids in enumerate(predicted):
        for i in ids:
            pred_of[i] = gi

    def pairs(label: Mapping[int, int]) -> int:
        sizes: dict[int, int] = defaultdict(int)
        for v in label.values():
            sizes[v] += 1
        return sum(n * (n - 1) // 2 for n in sizes.values())

    joint: dict[tuple[int, int], int] = defaultdict(int)
    for call, t in truth.items():
        joint[(pred_of.get(call, -call - 1), t)] += 1
    both = sum(n * (n - 1) // 2 for n in joint.values())
    pred_pairs = pairs({c: pred_of.get(c, -c - 1) for c in truth})
    true_pairs = pairs(truth)
    precision = both / pred_pairs if pred_pairs else 1.0
    recall = both / true_pairs if true_pairs else 1.0
    return precision, recall
