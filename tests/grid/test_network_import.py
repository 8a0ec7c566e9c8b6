"""The network below the feeder from CSV/Excel: all or nothing, every problem as FILE:LINE, re-import in place."""

from __future__ import annotations

import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from openpyxl import Workbook

from gridcare.core.models import Event
from gridcare.grid import topology
from gridcare.grid.imports import network_import
from gridcare.grid.models import GridDevice, SwitchingOperation, TransformerArea
from gridcare.grid.services import device_switch
from tests import factories as f
from tests.conftest import City
from tests.grid.helpers import HEADER, device_rows, table, two_feeders, write_csv


def _run(*args: str) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command("network", "import", *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def _files(city: City, tmp_path: Path) -> tuple[Path, Path, str, str]:
    b = f.make_network(city.north, areas=1)
    a = city.north_net
    devices = write_csv(tmp_path / "devices.csv", HEADER, device_rows(a.feeder.code, b.feeder.code))
    areas = write_csv(
        tmp_path / "areas.csv",
        ["台区", "设备"],  # the Chinese headers are accepted too
        [[a.areas[0].code, "A-S2"], [a.areas[1].code, "A-FU1"], [b.areas[0].code, "B-S1"]],
    )
    return devices, areas, a.feeder.code, b.feeder.code


def test_the_cli_imports_devices_and_areas_and_a_second_run_changes_nothing(city: City, tmp_path: Path) -> None:
    devices, areas, a, _b = _files(city, tmp_path)
    code, out, err = _run("--devices", str(devices), "--areas", str(areas))
    assert (code, err) == (0, "")
    assert "7 created, 0 updated, 0 unchanged" in out and "3 re-hung" in out
    tie = GridDevice.objects.get(code="A-T")
    assert (tie.kind, tie.feeder.code, tie.upstream.code, tie.tie_to.code) == ("switch", a, "A-S2", "B-S1")
    assert tie.normally_open and tie.is_open  # a tie switch starts in its normal state: open
    assert GridDevice.objects.get(code="A-CB").lat == 30.2
    topo = topology.now()
    assert topo.network.upstream("A-S2") == ["A-S2", "A-S1", "A-CB"]
    area = city.north_net.areas[0]
    assert TransformerArea.objects.get(pk=area.pk).device.code == "A-S2"
    assert topo.feeder_of_area(area.code) == a
    events = Event.objects.filter(action="griddevice.import").count()

    code, out, err = _run("--devices", str(devices), "--areas", str(areas))
    assert (code, err) == (0, "")
    assert "0 created, 0 updated, 7 unchanged" in out and "0 re-hung, 3 unchanged" in out
    assert Event.objects.filter(action="griddevice.import").count() == events  # nothing changed, nothing audited
    assert GridDevice.objects.count() == 7


def test_an_excel_workbook_imports_like_the_csv(city: City, tmp_path: Path) -> None:
    b = f.make_network(city.north, areas=1)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["编码", "名称", "类型", "线路", "上级设备", "联络至", "常开", "纬度", "经度"])
    for row in device_rows(city.north_net.feeder.code, b.feeder.code):
        sheet.append([*row[:7], float(row[7]) if row[7] else None, float(row[8]) if row[8] else None])
    path = tmp_path / "devices.xlsx"
    book.save(path)
    code, _out, err = _run("--devices", str(path))
    assert code == 0, err
    assert GridDevice.objects.filter(feeder=b.feeder).count() == 2


def test_every_bad_row_is_named_by_file_and_line_and_nothing_is_written(city: City, tmp_path: Path) -> None:
    other = f.make_network(city.north, areas=1)
    a, b = city.north_net.feeder.code, other.feeder.code
    rows = [
        ["A-CB", "出口", "断路器", a, "", "", "否", "", ""],  # 2: fine
        ["A-X", "变压器", "变压器", a, "A-CB", "", "否", "", ""],  # 3: not a device kind
        ["A-S1", "分段", "分段开关", a, "NOPE", "", "否", "", ""],  # 4: unknown upstream
        ["A-S2", "分段", "分段开关", a, "B-CB", "", "否", "", ""],  # 5: upstream on another feeder
        ["A-C1", "环1", "负荷开关", a, "A-C2", "", "否", "", ""],  # 6: upstream loop
        ["A-C2", "环2", "负荷开关", a, "A-C1", "", "否", "", ""],  # 7: …the same loop
        ["A-CB2", "第二个出口", "断路器", a, "", "", "否", "", ""],  # 8: second outlet breaker on A
        ["A-T", "联络", "负荷开关", a, "A-CB", "B-CB", "否", "", ""],  # 9: tie switch not normally open
        ["B-X", "B熔断器", "fuse", b, "B-CB", "", "否", "31", ""],  # 10: latitude without longitude
        ["A-CB", "重复", "断路器", a, "", "", "否", "", ""],  # 11: duplicate code
        ["Z-1", "无线路", "熔断器", "F-NOWHERE", "A-CB", "", "否", "", ""],  # 12: unknown feeder
        ["B-CB", "B出口", "breaker", b, "", "", "否", "", ""],  # 13: fine
        ["B-F2", "B熔断器", "fuse", b, "A-X", "", "否", "", ""],  # 14: hangs from line 3, which has its own error
    ]
    devices = write_csv(tmp_path / "devices.csv", HEADER, rows)
    areas = write_csv(
        tmp_path / "areas.csv",
        ["area", "device"],
        [[other.areas[0].code, "A-CB"], ["TA-NOWHERE", "A-CB"]],  # 2: device on another feeder; 3: unknown 台区
    )
    code, out, err = _run("--devices", str(devices), "--areas", str(areas))
    assert code == 1 and "nothing imported" in out
    lines = err.strip().splitlines()
    assert all(re.match(r"^\S+\.csv:\d+: \S", line) for line in lines), lines
    by_line = {(Path(m.split(":")[0]).name, int(m.split(":")[1])): m for m in lines}
    assert "不是设备类型" in by_line["devices.csv", 3]
    assert "NOPE 不存在" in by_line["devices.csv", 4]
    assert f"在线路 {b} 上" in by_line["devices.csv", 5]
    assert "环路" in by_line["devices.csv", 6] and "环路" in by_line["devices.csv", 7]
    assert "多个出口断路器" in by_line["devices.csv", 8]
    assert "须为常开" in by_line["devices.csv", 9]
    assert "经纬度须同时填写" in by_line["devices.csv", 10]
    assert "与第 2 行重复" in by_line["devices.csv", 11]
    assert "F-NOWHERE 不存在" in by_line["devices.csv", 12]
    assert "TA-NOWHERE 不存在" in by_line["areas.csv", 3]
    assert f"台区 {other.areas[0].code} 属于线路 {b}" in by_line["areas.csv", 2]
    assert ("devices.csv", 14) not in by_line  # its upstream's own problem is the one to fix
    assert len(lines) == 13
    assert GridDevice.objects.count() == 0 and not TransformerArea.objects.filter(device__isnull=False).exists()


def test_areas_must_hang_from_a_device_of_their_own_feeder_that_is_not_normally_open(city: City) -> None:
    net = two_feeders(city)
    report = network_import(
        devices=None,
        areas=table(["area", "device"], [[net.a_beyond.code, "B-S1"], [net.a_branch.code, "A-T"]]),
        actor="test",
        areas_name="areas.csv",
    )
    assert [str(p) for p in report.problems] == [
        f"areas.csv:2: 「设备」设备 B-S1 在线路 {net.b.code} 上，台区 {net.a_beyond.code} 属于线路 {net.a.code}",
        f"areas.csv:3: 「设备」设备 A-T 常开，挂在它下面的台区 {net.a_branch.code} 正常运行时会失电；请挂到它上游的设备",
    ]
    assert TransformerArea.objects.get(pk=net.a_beyond.pk).device.code == "A-S2"


def test_a_wrong_header_is_a_problem_on_line_one(city: City) -> None:
    report = network_import(
        devices=table(["code", "名字"], [["X", "y"]]), areas=None, actor="test", devices_name="d.csv"
    )
    assert len(report.problems) == 1 and str(report.problems[0]).startswith("d.csv:1: 无法识别的列：名字")


def test_re_import_updates_in_place_and_the_next_topology_sees_it(city: City) -> None:
    net = two_feeders(city)
    before = topology.now()
    assert before.network.upstream("A-FU1") == ["A-FU1", "A-S1", "A-CB"]
    rows = device_rows(net.a.code, net.b.code)
    rows[4] = ["A-FU1", "A线解放支线1号熔断器", "熔断器", net.a.code, "A-S2", "", "否", "", ""]  # moved down the line
    report = network_import(devices=table(HEADER, rows), areas=None, actor=city.admin)
    assert (report.devices_created, report.devices_updated, report.devices_unchanged) == (0, 1, 6)
    fuse = GridDevice.objects.get(code="A-FU1")
    assert fuse.upstream.code == "A-S2" and fuse.name == "A线解放支线1号熔断器"
    event = Event.objects.filter(action="griddevice.import", subject_id=str(fuse.pk)).latest("id")
    assert event.old == {"name": "A线解放支线熔断器", "upstream": "A-S1"}
    assert event.new == {"name": "A线解放支线1号熔断器", "upstream": "A-S2"}
    # Same row counts, nothing opened: the version still changes, so no process keeps the old tree.
    after = topology.now()
    assert after.version != before.version
    assert after.network.upstream("A-FU1") == ["A-FU1", "A-S2", "A-S1", "A-CB"]


def test_re_import_keeps_the_state_switching_gave_a_device_and_refuses_a_parallel_now(city: City) -> None:
    net = two_feeders(city)
    device_switch(device=net.device("A-S1"), opened=True, actor=city.dispatcher_north)
    device_switch(device=net.device("A-T"), opened=False, actor=city.dispatcher_north)
    rows = device_rows(net.a.code, net.b.code)
    assert network_import(devices=table(HEADER, rows), areas=None, actor="test").ok
    assert GridDevice.objects.get(code="A-S1").is_open and not GridDevice.objects.get(code="A-T").is_open
    # Hanging A-S2 straight from the outlet would bypass the open A-S1: with A-T closed, A and B run in parallel.
    rows[2] = ["A-S2", "A线2号分段开关", "sectionaliser", net.a.code, "A-CB", "", "否", "", ""]
    report = network_import(devices=table(HEADER, rows), areas=None, actor="test", devices_name="d.csv")
    assert len(report.problems) == 1
    message = str(report.problems[0])
    assert message.startswith("d.csv:") and "当前运行方式" in message and "并列运行" in message
    assert GridDevice.objects.get(code="A-S2").upstream.code == "A-S1"
    assert SwitchingOperation.objects.count() == 2


def test_the_command_wants_at_least_one_file(db: None) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="give --devices"):
        call_command("network", "import")
    with pytest.raises(CommandError, match="no such file"):
        call_command("network", "import", "--devices", "/nonexistent/devices.csv")
