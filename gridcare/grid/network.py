"""The network below the feeder as outage prediction sees it: a radial tree of protective devices with the
台区 hanging from them. Pure: no Django; the database model (gridcare.grid) is turned into this by
`grid.selectors.network_now`, a storm generator builds it directly.

A feeder starts at its substation breaker (a device with `feeder` set and no parent). Below it come
sectionalisers, reclosers and load switches on the main line, fuses at the head of branch lines (分支线),
and the 台区 at the leaves. Switching changes the tree: `energised()` walks the connectivity graph from every
feeder's source through closed devices only, so opening a sectionaliser and closing a tie switch moves the
台区 beyond it to the other feeder.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property

#: Protective and switching devices, from the substation down. A breaker or recloser trips on a fault anywhere
#: below it and recloses on a transient one; a sectionaliser opens while its upstream recloser is open; a fuse
#: blows for a fault on its branch; a load switch (and a normally open tie switch) is operated by hand.
DEVICE_KINDS = ("breaker", "recloser", "sectionaliser", "fuse", "switch")


@dataclass(frozen=True)
class Device:
    id: str
    kind: str  # one of DEVICE_KINDS
    parent: str | None = None  # the device upstream in the radial tree; None for a feeder's source breaker
    feeder: str | None = None  # set on a feeder's source breaker: the feeder it feeds


@dataclass(frozen=True)
class Area:
    """A 台区 (transformer area), hanging from the nearest device upstream of it."""

    id: str
    device: str
    customers: int = 1


@dataclass(frozen=True)
class Link:
    """A conductor between two devices (a section of main line or a branch line), for `energised`."""

    a: str
    b: str


class Network:
    """A radial tree: every device knows its parent, every 台区 its device; derived views are cached."""

    def __init__(self, devices: Iterable[Device], areas: Iterable[Area]):
        self.devices: dict[str, Device] = {d.id: d for d in devices}
        self.areas: dict[str, Area] = {a.id: a for a in areas}
        for d in self.devices.values():
            if d.kind not in DEVICE_KINDS:
                raise ValueError(f"device {d.id}: unknown kind {d.kind!r}; known: {', '.join(DEVICE_KINDS)}")
            if d.parent is not None and d.parent not in self.devices:
                raise ValueError(f"device {d.id}: parent {d.parent!r} is not a device of the network")
        for a in self.areas.values():
            if a.device not in self.devices:
                raise ValueError(f"台区 {a.id}: device {a.device!r} is not a device of the network")
        self._check_acyclic()

    def _check_acyclic(self) -> None:
        state: dict[str, int] = {}
        for start in self.devices:
            path = []
            node: str | None = start
            while node is not None and state.get(node) is None:
                state[node] = 1
                path.append(node)
                node = self.devices[node].parent
            if node is not None and state.get(node) == 1 and node in path:
                raise ValueError(f"device {node}: the tree loops back on itself")
            for p in path:
                state[p] = 2

    # ---- the tree ------------------------------------------------------------------------------------------------

    @cached_property
    def children(self) -> Mapping[str, tuple[str, ...]]:
        kids: dict[str, list[str]] = defaultdict(list)
        for d in self.devices.values():
            if d.parent is not None:
                kids[d.parent].append(d.id)
        return {k: tuple(sorted(v)) for k, v in kids.items()}

    @cached_property
    def areas_at(self) -> Mapping[str, tuple[str, ...]]:
        """The 台区 hanging directly from each device."""
        at: dict[str, list[str]] = defaultdict(list)
        for a in self.areas.values():
            at[a.device].append(a.id)
        return {k: tuple(sorted(v)) for k, v in at.items()}

    @cached_property
    def areas_below(self) -> Mapping[str, frozenset[str]]:
        """Every 台区 downstream of each device (its own and its descendants')."""
        below: dict[str, frozenset[str]] = {}
        for device in self._bottom_up():
            own = set(self.areas_at.get(device, ()))
            for child in self.children.get(device, ()):
                own |= below[child]
            below[device] = frozenset(own)
        return below

    @cached_property
    def customers_below(self) -> Mapping[str, int]:
        return {d: sum(self.areas[a].customers for a in areas) for d, areas in self.areas_below.items()}

    @cached_property
    def depth(self) -> Mapping[str, int]:
        depth: dict[str, int] = {}
        for device in self._top_down():
            parent = self.devices[device].parent
            depth[device] = 0 if parent is None else depth[parent] + 1
        return depth

    def _top_down(self) -> list[str]:
        order, queue = [], deque(sorted(d for d, dev in self.devices.items() if dev.parent is None))
        while queue:
            d = queue.popleft()
            order.append(d)
            queue.extend(self.children.get(d, ()))
        return order

    def _bottom_up(self) -> list[str]:
        return list(reversed(self._top_down()))

    def upstream(self, device: str) -> list[str]:
        """The device and every device above it, nearest first, up to the feeder's source."""
        chain: list[str] = []
        node: str | None = device
        while node is not None:
            chain.append(node)
            node = self.devices[node].parent
        return chain

    def feeder_of(self, device: str) -> str | None:
        return self.devices[self.upstream(device)[-1]].feeder

    def area_device(self, area: str) -> str:
        return self.areas[area].device


def energised(
    devices: Iterable[Device], links: Iterable[Link], areas: Iterable[Area], open_devices: Iterable[str]
) -> Network:
    """The radial tree the network forms now: walk from every feeder's source breaker through closed devices.

    `devices` give each device's kind (and `feeder` for sources; their `parent` is ignored: it is what this
    computes); `links` are the conductors; `open_devices` the devices open now (normally open tie switches and
    any opened by a switching operation). An open device is reached but passes nothing on. A device no source
    reaches is de-energised: it and its 台区 are left out (they cannot be predicted as an outage's cause
    until they are fed again)."""
    by_id = {d.id: d for d in devices}
    opened = set(open_devices)
    neighbours: dict[str, set[str]] = defaultdict(set)
    for link in links:
        for end in (link.a, link.b):
            if end not in by_id:
                raise ValueError(f"link {link.a}–{link.b}: {end!r} is not a device")
        neighbours[link.a].add(link.b)
        neighbours[link.b].add(link.a)
    parent: dict[str, str | None] = {}
    sources = sorted(d.id for d in by_id.values() if d.feeder)
    queue: deque[str] = deque()
    for s in sources:
        if s not in opened:
            parent[s] = None
            queue.append(s)
    while queue:
        node = queue.popleft()
        for nxt in sorted(neighbours[node]):
            if nxt in parent:
                continue
            parent[nxt] = node
            if nxt not in opened:
                queue.append(nxt)
    tree = [Device(d, by_id[d].kind, parent[d], by_id[d].feeder if parent[d] is None else None) for d in parent]
    # A 台区 whose device is open hangs from a de-energised stub: it is dark, not part of any feeder's tree.
    fed_areas = [a for a in areas if a.device in parent and a.device not in opened]
    return Network(tree, fed_areas)


@dataclass(frozen=True)
class Loop:
    """One way an arrangement is not radial: a ring (合环) closed by the link between `devices`, or `feeders` whose
    sources one closed path joins (parallel feeders); `devices` then names every source in that path."""

    kind: str  # "ring" or "parallel"
    devices: tuple[str, ...]
    feeders: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        if self.kind == "ring":
            return f"{self.devices[0]}–{self.devices[1]} closes a ring"
        return f"feeders {', '.join(self.feeders)} would run in parallel"


def loop_problems(devices: Iterable[Device], links: Iterable[Link], open_devices: Iterable[str]) -> list[Loop]:
    """`loops()` as data, for callers that name the devices in their own words (imports, the switching service)."""
    by_id = {d.id: d for d in devices}
    opened = set(open_devices)
    root = {d: d for d in by_id}

    def find(x: str) -> str:
        while root[x] != x:
            root[x] = root[root[x]]
            x = root[x]
        return x

    problems: list[Loop] = []
    for link in links:
        if link.a in opened or link.b in opened:
            continue  # an open device carries nothing between its sides
        ra, rb = find(link.a), find(link.b)
        if ra == rb:
            problems.append(Loop("ring", (link.a, link.b)))
            continue
        root[ra] = rb
    sources: dict[str, list[Device]] = defaultdict(list)
    for d in by_id.values():
        if d.feeder and d.id not in opened:
            sources[find(d.id)].append(d)
    for group in sources.values():
        if len(group) > 1:
            ordered = sorted(group, key=lambda d: str(d.feeder))
            problems.append(Loop("parallel", tuple(d.id for d in ordered), tuple(str(d.feeder) for d in ordered)))
    return problems


def loops(devices: Iterable[Device], links: Iterable[Link], open_devices: Iterable[str]) -> list[str]:
    """What closing devices would do wrong: a radial network must have no ring (合环) and no two feeders in
    parallel. Returns one message per problem, naming a device of it (empty: the arrangement is radial)."""
    return [p.message for p in loop_problems(devices, links, open_devices)]
