"""A small network below two feeders of the north repair centre, entered through the network import.

  feeder A:  A-CB ── A-S1 ── A-S2 ── A-T (tie, normally open) ┄┄ B-S1 (feeder B)
                      └── A-FU1 (fuse at the head of a branch line)
  feeder B:  B-CB ── B-S1

台区: A's first hangs from A-S2 (beyond A-S1), A's second from the fuse, B's from B-S1.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from gridcare.core.tables import Table
from gridcare.grid.imports import network_import
from gridcare.grid.models import Feeder, GridDevice, TransformerArea
from tests import factories as f
from tests.conftest import City

HEADER = ["code", "name", "kind", "feeder", "upstream", "tie_to", "normally_open", "lat", "lon"]


@dataclass
class TwoFeeders:
    a: Feeder
    b: Feeder
    a_beyond: TransformerArea  # hangs from A-S2, beyond the sectionaliser A-S1
    a_branch: TransformerArea  # hangs from the fuse A-FU1
    b_area: TransformerArea

    def device(self, code: str) -> GridDevice:
        return GridDevice.objects.get(code=code)


def device_rows(a: str, b: str) -> list[list[str]]:
    return [
        ["A-CB", "A线出口断路器", "断路器", a, "", "", "否", "30.2", "120.1"],
        ["A-S1", "A线1号分段开关", "分段开关", a, "A-CB", "", "否", "", ""],
        ["A-S2", "A线2号分段开关", "sectionaliser", a, "A-S1", "", "否", "", ""],
        ["A-T", "A-B线联络开关", "负荷开关", a, "A-S2", "B-S1", "是", "", ""],
        ["A-FU1", "A线解放支线熔断器", "熔断器", a, "A-S1", "", "否", "", ""],
        ["B-CB", "B线出口断路器", "breaker", b, "", "", "0", "", ""],
        ["B-S1", "B线1号分段开关", "分段开关", b, "B-CB", "", "0", "", ""],
    ]


def table(header: list[str], rows: list[list[str]]) -> Table:
    """Rows as read from a file: the header is line 1."""
    return Table(header, [(i, dict(zip(header, r, strict=True))) for i, r in enumerate(rows, start=2)])


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as out:
        w = csv.writer(out)
        w.writerow(header)
        w.writerows(rows)
    return path


def two_feeders(city: City) -> TwoFeeders:
    a_net = city.north_net
    b_net = f.make_network(city.north, areas=1)
    a, b = a_net.feeder, b_net.feeder
    report = network_import(
        devices=table(HEADER, device_rows(a.code, b.code)),
        areas=table(
            ["area", "device"],
            [[a_net.areas[0].code, "A-S2"], [a_net.areas[1].code, "A-FU1"], [b_net.areas[0].code, "B-S1"]],
        ),
        actor="test",
    )
    assert report.ok, [str(p) for p in report.problems]
    return TwoFeeders(
        a=a,
        b=b,
        a_beyond=TransformerArea.objects.get(pk=a_net.areas[0].pk),
        a_branch=TransformerArea.objects.get(pk=a_net.areas[1].pk),
        b_area=TransformerArea.objects.get(pk=b_net.areas[0].pk),
    )
