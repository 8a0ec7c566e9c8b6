"""A feeder's single-line schematic, laid out for SVG: the tree below the outlet breaker, left to right.

Pure: it takes the feeder's devices and 台区 with their states and returns positioned shapes; the template
draws them (and escapes every text). The main line runs straight along the top: at each device the child with
the largest subtree (a fuse only when nothing else) continues on the same row, other branches and the 台区 drop
to rows below, so a feeder reads like the one-line diagrams dispatchers know. Depth sets the column; a phone
scrolls the drawing sideways.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

COL = 150  # px between columns (one level of the tree)
ROW = 58  # px between rows: a device has its code above and its name below
MARGIN_X, MARGIN_Y = 70, 34  # room for the outlet's centred label
NAME_CHARS = 14  # longer names are shortened on the drawing (the full name is in the tooltip and the table)

OUTLET = "__outlet__"  # the node 台区 hang from when the feeder has no outlet breaker entered


@dataclass(frozen=True)
class DeviceIn:
    code: str
    name: str
    kind: str  # grid.network.DEVICE_KINDS
    kind_label: str
    upstream: str | None
    is_open: bool
    normally_open: bool
    energised: bool
    fed_by: str | None = None  # the feeder that feeds it now, when another one does
    tie_to: str | None = None  # "device code" on the other feeder, for a tie switch
    tie_feeder: str | None = None
    tie_feeder_name: str = ""


@dataclass(frozen=True)
class AreaIn:
    code: str
    name: str
    device: str | None
    customers: int
    energised: bool
    fed_by: str | None = None


@dataclass(frozen=True)
class TieIn:
    """A tie switch on another feeder that reaches one of this feeder's devices."""

    code: str
    kind_label: str
    feeder: str
    feeder_name: str
    device: str  # this feeder's device it ties to
    is_open: bool


@dataclass
class Node:
    key: str
    kind: str  # a device kind, "area", "outlet" or "tie"
    x: int
    y: int
    code: str
    title: str  # full text for the tooltip
    label: str  # first line under the symbol
    sub: str  # second line
    energised: bool
    is_open: bool = False
    state: str = ""  # 合 / 分 for devices
    href: str = ""  # a feeder page (ties)
    device: bool = False


@dataclass
class Edge:
    path: str
    energised: bool
    tie: bool = False


@dataclass
class Schematic:
    width: int
    height: int
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)


def _short(text: str) -> str:
    return text if len(text) <= NAME_CHARS else text[: NAME_CHARS - 1] + "…"


def layout(
    devices: Iterable[DeviceIn],
    areas: Iterable[AreaIn],
    ties_in: Iterable[TieIn] = (),
    *,
    feeder_href: dict[str, str] | None = None,
) -> Schematic:
    """Place every device and 台区 of one feeder. Devices whose upstream is not on the feeder (incomplete data)
    start trees of their own below the outlet's, so nothing entered is ever left off the drawing."""
    devs = {d.code: d for d in devices}
    area_list = list(areas)
    hrefs = feeder_href or {}
    kids: dict[str, list[str]] = defaultdict(list)
    roots: list[str] = []
    for d in devs.values():
        if d.upstream is not None and d.upstream in devs:
            kids[d.upstream].append(d.code)
        else:
            roots.append(d.code)
    roots.sort(key=lambda c: (devs[c].kind != "breaker", c))
    outlet = roots[0] if roots else OUTLET
    area_kids: dict[str, list[AreaIn]] = defaultdict(list)
    for a in area_list:
        area_kids[a.device if a.device in devs else outlet].append(a)
    if not roots:
        roots = [OUTLET]
    ties_at: dict[str, list[TieIn]] = defaultdict(list)
    for t in ties_in:
        if t.device in devs:
            ties_at[t.device].append(t)

    size: dict[str, int] = {}

    def measure(code: str) -> int:
        n = 1 + len(area_kids.get(code, ())) + sum(measure(k) for k in kids.get(code, ()))
        size[code] = n
        return n

    for r in roots:
        measure(r)

    sch = Schematic(width=0, height=0)
    row = 0
    pos: dict[str, tuple[int, int]] = {}

    def xy(depth: int, r: int) -> tuple[int, int]:
        return MARGIN_X + depth * COL, MARGIN_Y + r * ROW

    def link(parent: tuple[int, int], child: tuple[int, int], live: bool, tie: bool = False) -> None:
        (px, py), (cx, cy) = parent, child
        if py == cy:
            path = f"M{px},{py} H{cx}"
        else:
            mid = px + COL // 3
            path = f"M{px},{py} H{mid} V{cy} H{cx}"
        sch.edges.append(Edge(path, live, tie))

    def place(code: str, depth: int) -> int:
        """Place a device and everything below it; returns its row."""
        nonlocal row
        # The main line continues through the largest subtree; a fuse heads a branch line, never the main line.
        children = sorted(kids.get(code, ()), key=lambda k: (devs[k].kind == "fuse", -size[k], k))
        first_row = row
        my_row: int | None = None
        below: list[tuple[str, int]] = []
        for i, child in enumerate(children):
            r = place(child, depth + 1)
            below.append((child, r))
            if i == 0:
                my_row = r
        if my_row is None:
            my_row = first_row
            row += 1
        extra: list[tuple[Node, bool, bool]] = []
        for a in sorted(area_kids.get(code, ()), key=lambda a: a.code):
            ax, ay = xy(depth + 1, row)
            row += 1
            note = f" · 由 {a.fed_by} 转供" if a.fed_by else ("" if a.energised else " · 失电")
            extra.append(
                (
                    Node(
                        key=f"area:{a.code}",
                        kind="area",
                        x=ax,
                        y=ay,
                        code=a.code,
                        title=f"台区 {a.code} {a.name}：{a.customers} 户{note}",
                        label=_short(a.name),
                        sub=f"{a.customers} 户{note}",
                        energised=a.energised,
                    ),
                    a.energised,
                    False,
                )
            )
        d = devs.get(code)
        ties: list[tuple[str, str, str, bool]] = []  # (label, sub, feeder, open)
        if d is not None and d.tie_to:
            other = d.tie_feeder_name or d.tie_feeder or ""
            ties.append((f"联络 → {other}", f"至 {d.tie_to}", d.tie_feeder or "", d.is_open))
        for t in ties_at.get(code, ()):
            state = "分" if t.is_open else "合"
            ties.append(
                (f"联络 ← {t.feeder_name or t.feeder}", f"{t.kind_label} {t.code} {state}", t.feeder, t.is_open)
            )
        for label, sub, feeder, opened in ties:
            tx, ty = xy(depth + 1, row)
            row += 1
            node = Node(
                key=f"tie:{code}:{feeder}:{sub}",
                kind="tie",
                x=tx,
                y=ty,
                code="",
                title=f"{label}（{sub}）",
                label=_short(label),
                sub=sub,
                energised=not opened,
                is_open=opened,
                href=hrefs.get(feeder, ""),
            )
            extra.append((node, not opened, True))
        x, y = xy(depth, my_row)
        pos[code] = (x, y)
        if d is None:
            sch.nodes.append(Node(OUTLET, "outlet", x, y, "", "线路出口（未录入出口断路器）", "出口", "", True))
        else:
            state = "分" if d.is_open else "合"
            fed = f" · 由 {d.fed_by} 供电" if d.fed_by else ""
            dead = "" if d.energised else " · 失电"
            normal = "（常开）" if d.normally_open else ""
            sch.nodes.append(
                Node(
                    key=f"device:{code}",
                    kind=d.kind,
                    x=x,
                    y=y,
                    code=code,
                    title=f"{d.kind_label} {code} {d.name}：{state}{normal}{fed}{dead}",
                    label=f"{code} {state}",
                    sub=_short(d.name) + (" · 失电" if not d.energised else ""),
                    energised=d.energised,
                    is_open=d.is_open,
                    state=state,
                    device=True,
                )
            )
        for child, _r in below:
            link((x, y), pos[child], devs[child].energised)
        for node, live, tie in extra:
            sch.nodes.append(node)
            link((x, y), (node.x, node.y), live, tie)
        return my_row

    for r in roots:
        place(r, 0)
    max_depth = max((n.x for n in sch.nodes), default=MARGIN_X)
    sch.width = max_depth + COL + MARGIN_X
    sch.height = MARGIN_Y + max(row, 1) * ROW
    # Lines first, symbols on top of them.
    sch.nodes.sort(key=lambda n: (n.y, n.x))
    return sch
