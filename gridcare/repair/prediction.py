"""Outage prediction on the network below the feeder: trouble-call analysis as an outage-management system does it.

Every piece of evidence (a repair call, a meter's last gasp) is placed at its 台区. The engine then names the most
likely faulted element, from the smallest up:

1. **A customer**: one customer without power, however often they call, is their own service drop.
2. **A 台区** (its transformer): two or more different customers of one 台区 dark within the window.
3. **A device** on the feeder (fuse, sectionaliser, recloser, load switch, the source breaker): walking up from the
   台区, a device is predicted when the 台区 with evidence below it, first seen within the window of each other,
   explain it better than its children would: at least `min_areas[kind]` of its 台区 have evidence, and the 台区
   below it that stayed silent are plausibly silent. If the device were out, its silent 台区 would be dark too and
   their customers would report at the rate the dark ones do (evidence per customer, measured on the evidence
   itself, so it adapts to a storm with or without smart meters and to how long it has been going); the device is
   predicted when the evidence expected from its silent 台区 at that rate is at most `max_silent[kind]`. So a dead
   branch whose small 台区 have no caller is found, while independent faults in a few 台区 of a long feeder, with
   big silent 台区 between them, stay apart. The predicted outage absorbs the predictions below it; evidence
   arriving later from anywhere below it joins it.

Predictions move up as evidence arrives (a customer becomes a 台区 becomes a fuse becomes a recloser) and are cut
back down when a crew restores what it actually found: the evidence that restoration explains closes with it,
and the rest is predicted afresh (a second fault under the same device, a nested outage). A dispatcher may
confirm, move or split a prediction by hand; a confirmed prediction is no longer moved by evidence.

The engine is pure — the network and the time are arguments — and the same object runs online (the repair
services feed it one event at a time) and offline (`predict`: storm replays, benchmarks), so both give the same
outages. Each add walks one path up the tree and looks only at predictions below each device on it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import count

from gridcare.repair.evidence import AREA, CUSTOMER, DEVICE, Evidence, Prediction, Restoration
from gridcare.repair.network import Network


def _kinds(**values: float) -> Mapping[str, float]:
    return dict(values)


@dataclass(frozen=True)
class Rules:
    """The thresholds of each step; see docs/repair.md for how they were chosen."""

    #: Evidence first seen further apart than this belongs to different faults (a fault darkens everything
    #: below it at once; the first caller of a 台区 rarely waits longer).
    window: dt.timedelta = dt.timedelta(minutes=30)
    #: Different customers of one 台区 before its transformer is predicted instead of their service drops.
    area_min_customers: int = 2
    #: Per device kind: the 台区 with evidence needed below it …
    min_areas: Mapping[str, float] = field(
        default_factory=lambda: _kinds(fuse=2, switch=2, sectionaliser=2, recloser=2, breaker=3)
    )
    #: … and at most this much evidence expected from its silent 台区, were it out (see the module docstring).
    max_silent: Mapping[str, float] = field(
        default_factory=lambda: _kinds(fuse=2.0, switch=2.0, sectionaliser=2.0, recloser=2.0, breaker=2.0)
    )


class Predictor:
    """The open and closed predictions of one network, moved by one event at a time."""

    def __init__(self, network: Network, rules: Rules | None = None):
        self.network = network
        self.rules = rules or Rules()
        self.predictions: dict[int, Prediction] = {}
        self.evidence: dict[str, Evidence] = {}
        self._ids = count(1)
        self._open_element: dict[tuple[str, str], int] = {}  # (level, element) → open prediction
        self._below: dict[str, set[int]] = defaultdict(set)  # device → open predictions at or below it
        self._customer_of: dict[int, str] = {}  # customer-level prediction → its 台区

    # ---- reading -------------------------------------------------------------------------------------------------

    def open(self) -> list[Prediction]:
        return [p for p in self.predictions.values() if p.open]

    def areas_of(self, p: Prediction) -> frozenset[str]:
        """The 台区 a prediction says are (at least partly) dark."""
        if p.level == DEVICE:
            return self.network.areas_below[p.element]
        if p.level == AREA:
            return frozenset({p.element})
        return frozenset({self._customer_of[p.id]})

    def _device_of(self, p: Prediction) -> str:
        if p.level == DEVICE:
            return p.element
        area = p.element if p.level == AREA else self._customer_of[p.id]
        return self.network.area_device(area)

    # ---- bookkeeping ---------------------------------------------------------------------------------------------

    def _new(self, level: str, element: str, first_at: dt.datetime, evidence: list[str], area: str = "") -> Prediction:
        p = Prediction(next(self._ids), level, element, first_at, list(evidence))
        self.predictions[p.id] = p
        if level == CUSTOMER:
            self._customer_of[p.id] = area
        self._index(p)
        return p

    def _index(self, p: Prediction) -> None:
        self._open_element[(p.level, p.element)] = p.id
        for d in self.network.upstream(self._device_of(p)):
            self._below[d].add(p.id)

    def _unindex(self, p: Prediction) -> None:
        if self._open_element.get((p.level, p.element)) == p.id:
            del self._open_element[(p.level, p.element)]
        for d in self.network.upstream(self._device_of(p)):
            self._below[d].discard(p.id)

    def _drop(self, p: Prediction) -> None:
        """Forget a prediction whose evidence has moved into another one."""
        self._unindex(p)
        del self.predictions[p.id]
        self._customer_of.pop(p.id, None)

    def _merge(self, level: str, element: str, parts: list[Prediction]) -> Prediction:
        """One prediction at `element` holding the evidence of `parts` (an open one there is kept and grown)."""
        existing = self._open_element.get((level, element))
        target = self.predictions[existing] if existing is not None else None
        evidence = sorted({e for p in parts for e in p.evidence}, key=lambda e: (self.evidence[e].at, e))
        first = min(p.first_at for p in parts)
        for p in parts:
            if target is None or p.id != target.id:
                self._drop(p)
        if target is None:
            return self._new(level, element, first, evidence)
        target.evidence = sorted(set(target.evidence) | set(evidence), key=lambda e: (self.evidence[e].at, e))
        target.first_at = min(target.first_at, first)
        return target

    # ---- evidence ------------------------------------------------------------------------------------------------

    def covering(self, area: str) -> Prediction | None:
        """The smallest open prediction of a 台区 or device that says this 台区 is dark."""
        found = self._open_element.get((AREA, area))
        if found is not None:
            return self.predictions[found]
        for d in self.network.upstream(self.network.area_device(area)):
            found = self._open_element.get((DEVICE, d))
            if found is not None:
                return self.predictions[found]
        return None

    def add(self, e: Evidence) -> Prediction:
        """Place one piece of evidence; returns the prediction that holds it afterwards."""
        if e.id in self.evidence:
            return self._holding(e.id)
        if e.area not in self.network.areas:
            raise ValueError(f"evidence {e.id}: 台区 {e.area!r} is not in the network (or not fed now)")
        self.evidence[e.id] = e
        covering = self.covering(e.area)
        if covering is not None:
            covering.evidence.append(e.id)
            # More evidence under a prediction may now explain the device above it better: look again.
            return covering if covering.confirmed else self._roll_up(covering)
        own = self._open_element.get((CUSTOMER, e.customer))
        if own is not None:
            p = self.predictions[own]
            p.evidence.append(e.id)
            return p
        p = self._new(CUSTOMER, e.customer, e.at, [e.id], area=e.area)
        p = self._promote_area(e.area, p)
        return self._roll_up(p)

    def _holding(self, evidence_id: str) -> Prediction:
        return next(p for p in self.predictions.values() if evidence_id in p.evidence)

    def _near(self, p: Prediction, anchor: dt.datetime) -> bool:
        return abs(p.first_at - anchor) <= self.rules.window and not p.confirmed

    def _promote_area(self, area: str, p: Prediction) -> Prediction:
        device = self.network.area_device(area)
        customers = [
            self.predictions[i]
            for i in self._below[device]
            if self.predictions[i].level == CUSTOMER and self._customer_of[i] == area
        ]
        near = [c for c in customers if self._near(c, p.first_at)]
        if len(near) < self.rules.area_min_customers:
            return p
        return self._merge(AREA, area, near)

    def _roll_up(self, p: Prediction) -> Prediction:
        anchor = p.first_at
        start = self.network.area_device(self._customer_of[p.id]) if p.level == CUSTOMER else self._device_of(p)
        for d in self.network.upstream(start):
            if p.level == DEVICE and p.element == d:
                continue
            kind = self.network.devices[d].kind
            candidates = [self.predictions[i] for i in self._below[d]]
            near = [c for c in candidates if self._near(c, anchor)]
            # The 台区 that reported, not all the 台区 a prediction below already assumes dark: each step up is
            # judged on the evidence itself, so an assumption made one level down is not counted as evidence here.
            areas = {self.evidence[e].area for c in near for e in c.evidence}
            if len(areas) < self.rules.min_areas[kind]:
                continue
            dark = sum(self.network.areas[a].customers for a in areas)
            reporting = len({self.evidence[e].customer for c in near for e in c.evidence})
            silent = self.network.customers_below[d] - dark
            if dark == 0 or reporting / dark * silent > self.rules.max_silent[kind]:
                continue
            p = self._merge(DEVICE, d, near)
            anchor = p.first_at
        return p

    # ---- restoration ---------------------------------------------------------------------------------------------

    def restore(self, r: Restoration) -> list[Prediction]:
        """A crew restored power by repairing one element. Predictions it explains close; evidence of a prediction
        it explains only in part closes with it, and the rest is predicted afresh. Returns the closed ones."""
        if r.device is not None:
            level, element, explained = DEVICE, r.device, self.network.areas_below.get(r.device, frozenset())
        elif r.area is not None:
            level, element, explained = AREA, r.area, frozenset({r.area})
        else:
            level, element, explained = CUSTOMER, str(r.customer), frozenset()
        closed: list[Prediction] = []
        leftovers: list[str] = []
        for p in sorted(self.open(), key=lambda x: x.id):
            if p.first_at > r.at:
                continue
            if level == CUSTOMER:
                mine = [e for e in p.evidence if self.evidence[e].customer == element]
            else:
                mine = [e for e in p.evidence if self.evidence[e].area in explained]
            if not mine:
                continue
            if len(mine) == len(p.evidence):
                self._close(p, r.at)
                closed.append(p)
                continue
            # The restoration explains part of what this prediction holds: that part closes as its own outage …
            rest = [e for e in p.evidence if e not in mine]
            self._unindex(p)
            p.evidence = mine
            p.level, p.element = level, element
            if level == CUSTOMER:
                self._customer_of[p.id] = self.evidence[mine[0]].area
            p.first_at = min(self.evidence[e].at for e in mine)
            p.restored_at = r.at
            closed.append(p)
            leftovers.extend(rest)
        # … and what it does not explain is another fault: placed again, in the order it arrived.
        for e in sorted(leftovers, key=lambda x: (self.evidence[x].at, x)):
            item = self.evidence.pop(e)
            self.add(item)
        return closed

    def _close(self, p: Prediction, at: dt.datetime) -> None:
        self._unindex(p)
        p.restored_at = at

    # ---- by hand -------------------------------------------------------------------------------------------------

    def confirm(self, prediction_id: int, *, level: str | None = None, element: str | None = None) -> Prediction:
        """A dispatcher confirms a prediction (optionally moving it to another element); evidence no longer moves
        it, and evidence from below its new element joins it."""
        p = self.predictions[prediction_id]
        if level is not None and element is not None and (level, element) != (p.level, p.element):
            if level == DEVICE and element not in self.network.devices:
                raise ValueError(f"{element!r} is not a device of the network")
            if level == AREA and element not in self.network.areas:
                raise ValueError(f"{element!r} is not a 台区 of the network")
            self._unindex(p)
            if level == CUSTOMER:
                self._customer_of[p.id] = self.evidence[p.evidence[0]].area
            p.level, p.element = level, element
            self._index(p)
        p.confirmed = True
        return p

    def split(self, prediction_id: int, evidence_ids: Iterable[str]) -> Prediction:
        """A dispatcher takes some evidence out of a prediction: it is predicted afresh on its own."""
        p = self.predictions[prediction_id]
        moving = [e for e in p.evidence if e in set(evidence_ids)]
        if not moving or len(moving) == len(p.evidence):
            raise ValueError("split takes some, not none or all, of a prediction's evidence")
        p.evidence = [e for e in p.evidence if e not in moving]
        p.first_at = min(self.evidence[e].at for e in p.evidence)
        items = [self.evidence.pop(e) for e in moving]
        held = self._isolated(items)
        return held

    def _isolated(self, items: list[Evidence]) -> Prediction:
        """Predict `items` as one outage of their own, at the smallest element holding them all."""
        for e in items:
            self.evidence[e.id] = e
        first = min(e.at for e in items)
        ids = [e.id for e in sorted(items, key=lambda e: (e.at, e.id))]
        areas = {e.area for e in items}
        customers = {e.customer for e in items}
        if len(customers) == 1:
            area = items[0].area
            p = self._new(CUSTOMER, items[0].customer, first, ids, area=area)
        elif len(areas) == 1:
            p = self._new(AREA, next(iter(areas)), first, ids)
        else:
            paths = [self.network.upstream(self.network.area_device(a)) for a in areas]
            common = next(d for d in paths[0] if all(d in path for path in paths[1:]))
            p = self._new(DEVICE, common, first, ids)
        p.confirmed = True
        return p

    # ---- kept elsewhere (the online path) ------------------------------------------------------------------------

    def load(self, predictions: Iterable[tuple[Prediction, str]], evidence: Iterable[Evidence]) -> None:
        """Take up open predictions kept outside the engine (the repair services keep them in the database), each
        with the 台区 of its customer for customer-level ones, and the evidence they hold. Predictions made from
        here on get negative ids, for the keeper to give them its own keys."""
        for e in evidence:
            self.evidence[e.id] = e
        for p, area in predictions:
            self.predictions[p.id] = p
            if p.level == CUSTOMER:
                self._customer_of[p.id] = area
            if p.open:
                self._index(p)
        self._ids = count(-1, -1)

    def area_of(self, p: Prediction) -> str | None:
        """The 台区 of a customer- or 台区-level prediction (None for a device)."""
        if p.level == CUSTOMER:
            return self._customer_of[p.id]
        return p.element if p.level == AREA else None


def predict(network: Network, events: Iterable[Evidence | Restoration], rules: Rules | None = None) -> list[Prediction]:
    """Replay `events` in time order (restorations before evidence of the same instant) through the online engine;
    returns every prediction that holds evidence."""
    engine = Predictor(network, rules)
    ordered = sorted(events, key=lambda x: (x.at, 0 if isinstance(x, Restoration) else 1))
    for event in ordered:
        if isinstance(event, Restoration):
            engine.restore(event)
        else:
            engine.add(event)
    return [p for p in engine.predictions.values() if p.evidence]
