"""The demo city's network below each feeder, as numbers: devices and which device each 台区 hangs from.

Pure (numpy and plain Python, no database). Each feeder gets what a Chinese 10 kV distribution feeder usually has:
the outlet breaker in the substation, a recloser on about half the rural feeders and a few urban ones, one to
three sectionalisers splitting the main line, two to four branch lines (分支线) each protected by a fuse at its
head, and the 台区 hanging from the main-line devices (about a third) and the fuses (the rest, every fuse at least
one). Feeders of one substation are paired, and each pair gets a normally open tie switch (联络开关) from the end
of one main line to the end of the other, as urban "hand-in-hand" (手拉手) wiring does, so a dispatcher can move
the far end of a feeder onto its neighbour.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Protocol

import numpy as np


class Topology(Protocol):
    """What this module reads of `gridcare.demo.plan.Topology` (which imports this module, so not imported here)."""

    ss_lat: np.ndarray
    ss_lon: np.ndarray
    fd_ss: np.ndarray
    fd_code: list[str]
    fd_name: list[str]
    ta_fd: np.ndarray
    ta_district: np.ndarray
    ta_lat: np.ndarray
    ta_lon: np.ndarray
    ta_code: list[str]
    ta_place: list[str]


RECLOSER_SHARE = {"urban": 0.15, "rural": 0.5, "remote": 0.5}
MAIN_SHARE = 0.35  # 台区 tapped straight off the main line; the rest sit on branch lines


@dataclass
class Network:
    """One row per device, every device after its upstream (a tie switch may name a device of a later feeder)."""

    code: list[str]
    name: list[str]
    kind: list[str]
    feeder: np.ndarray  # feeder index
    upstream: np.ndarray  # device index, -1 for an outlet breaker
    tie_to: np.ndarray  # device index, -1 for none
    normally_open: np.ndarray  # bool
    lat: np.ndarray
    lon: np.ndarray
    ta_device: np.ndarray  # per 台区: the device it hangs from


def plan_network(rng: np.random.Generator, topo: Topology, area_class: list[str]) -> Network:
    """`area_class` per district index (urban, rural, remote)."""
    n_fd = len(topo.fd_code)
    areas_of: dict[int, list[int]] = defaultdict(list)
    for t, fd in enumerate(topo.ta_fd.tolist()):
        areas_of[fd].append(t)
    code: list[str] = []
    name: list[str] = []
    kind: list[str] = []
    feeder: list[int] = []
    upstream: list[int] = []
    lat: list[float] = []
    lon: list[float] = []
    ta_device = np.full(len(topo.ta_code), -1, dtype=np.int32)
    main_end: list[int] = []  # per feeder: the last device of its main line, where a tie switch attaches

    def add(c: str, n: str, k: str, fd: int, up: int, at: tuple[float, float]) -> int:
        code.append(c)
        name.append(n)
        kind.append(k)
        feeder.append(fd)
        upstream.append(up)
        lat.append(at[0])
        lon.append(at[1])
        return len(code) - 1

    ss_lat, ss_lon = topo.ss_lat.tolist(), topo.ss_lon.tolist()
    ta_lat, ta_lon = topo.ta_lat, topo.ta_lon
    for fd in range(n_fd):
        ss = int(topo.fd_ss[fd])
        fcode, short = topo.fd_code[fd], topo.fd_name[fd].removeprefix("10kV ")
        mine = areas_of[fd]
        klass = area_class[int(topo.ta_district[mine[0]])] if mine else "urban"
        start = (ss_lat[ss], ss_lon[ss])
        end = (float(ta_lat[mine].mean()), float(ta_lon[mine].mean())) if mine else start

        def along(f: float, start: tuple[float, float] = start, end: tuple[float, float] = end) -> tuple[float, float]:
            return start[0] + (end[0] - start[0]) * f, start[1] + (end[1] - start[1]) * f

        main = [add(f"{fcode}-CB", f"{short}出口断路器", "breaker", fd, -1, start)]
        if rng.random() < RECLOSER_SHARE[klass]:
            main.append(add(f"{fcode}-RC", f"{short}重合器", "recloser", fd, main[-1], along(0.25)))
        n_sec = int(rng.integers(1, 4))
        for i in range(n_sec):
            at = along(0.35 + 0.65 * (i + 1) / n_sec)
            main.append(add(f"{fcode}-S{i + 1}", f"{short}{i + 1}号分段开关", "sectionaliser", fd, main[-1], at))
        main_end.append(main[-1])
        order = [mine[i] for i in rng.permutation(len(mine))]
        n_branch = min(int(rng.integers(2, 5)), max(1, len(order) - 1)) if order else 0
        # The first areas go one to each fuse, so no branch line is empty; the rest split between main and branches.
        fuses: list[int] = []
        for b in range(n_branch):
            head = main[int(rng.integers(1, len(main)))] if len(main) > 1 else main[0]
            first = order[b]
            place = topo.ta_place[first]
            fuses.append(
                add(
                    f"{fcode}-F{b + 1}",
                    f"{short}{place}支线熔断器",
                    "fuse",
                    fd,
                    head,
                    (float(ta_lat[first]), float(ta_lon[first])),
                )
            )
            ta_device[first] = fuses[-1]
        for t in order[n_branch:]:
            if not fuses or rng.random() < MAIN_SHARE:
                ta_device[t] = main[int(rng.integers(0, len(main)))]
            else:
                ta_device[t] = fuses[int(rng.integers(0, len(fuses)))]

    tie_to = [-1] * len(code)
    normally_open = [False] * len(code)
    by_ss: dict[int, list[int]] = defaultdict(list)
    for fd in range(n_fd):
        by_ss[int(topo.fd_ss[fd])].append(fd)
    for feeders in by_ss.values():
        for a, b in zip(feeders[0::2], feeders[1::2], strict=False):
            ea, eb = main_end[a], main_end[b]
            short_a = topo.fd_name[a].removeprefix("10kV ")
            short_b = topo.fd_name[b].removeprefix("10kV ")
            mid = ((lat[ea] + lat[eb]) / 2, (lon[ea] + lon[eb]) / 2)
            add(f"{topo.fd_code[a]}-T1", f"{short_a}-{short_b}联络开关", "switch", a, ea, mid)
            tie_to.append(eb)
            normally_open.append(True)
    return Network(
        code=code,
        name=name,
        kind=kind,
        feeder=np.asarray(feeder, dtype=np.int32),
        upstream=np.asarray(upstream, dtype=np.int32),
        tie_to=np.asarray(tie_to, dtype=np.int32),
        normally_open=np.asarray(normally_open, dtype=bool),
        lat=np.asarray(lat),
        lon=np.asarray(lon),
        ta_device=ta_device,
    )
