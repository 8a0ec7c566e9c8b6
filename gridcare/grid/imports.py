"""Importing the network below the feeder: its devices (breakers, reclosers, sectionalisers, fuses, switches) and
which device each 台区 hangs from, from CSV or Excel files.

The two files are checked together against what is already stored, as the network they would make: every
reference resolves, each device stays on its upstream's feeder, the upstream chains end at one outlet breaker per
feeder without looping, a tie switch is normally open and reaches another feeder, a 台区 hangs from a device of its
own feeder, and the arrangement is radial (`grid.network.loops`) both as it normally runs and as it runs now. One
problem anywhere means nothing is written; each is reported as `FILE:LINE: message`.

Re-importing updates devices in place by code, so the same files give the same network (idempotent). Devices
missing from a file are kept: a network is corrected, not replaced. A device in its normal state follows a change
of its normal state; one switched away from it keeps the state the switching operations gave it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from django.db import transaction

from gridcare.core.audit import build_event, record_event, record_events
from gridcare.core.audit import changed as changed_values
from gridcare.core.errors import ServiceError
from gridcare.core.tables import Table
from gridcare.grid import network as net
from gridcare.grid.models import Feeder, GridDevice, TransformerArea
from gridcare.grid.topology import IMPORT_ACTION, forget

# Column → the headers accepted for it (English first: that is what the documentation shows).
DEVICE_COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("code", "编码", "设备编码"),
    "name": ("name", "名称", "设备名称"),
    "kind": ("kind", "类型", "设备类型"),
    "feeder": ("feeder", "线路", "所属线路", "线路编码"),
    "upstream": ("upstream", "上级设备", "上级设备编码"),
    "tie_to": ("tie_to", "联络至", "联络设备"),
    "normally_open": ("normally_open", "常开"),
    "lat": ("lat", "纬度"),
    "lon": ("lon", "经度"),
}
DEVICE_REQUIRED = ("code", "name", "kind", "feeder", "upstream")
AREA_COLUMNS: dict[str, tuple[str, ...]] = {
    "area": ("area", "台区", "台区编码"),
    "device": ("device", "设备", "设备编码", "上级设备"),
}
LABELS = {
    "code": "编码",
    "name": "名称",
    "kind": "类型",
    "feeder": "线路",
    "upstream": "上级设备",
    "tie_to": "联络至",
    "normally_open": "常开",
    "lat": "纬度",
    "lon": "经度",
    "area": "台区",
    "device": "设备",
}

# Kinds as written in a utility's ledgers: the stored value, its Chinese name, and the usual variants.
KIND_NAMES: dict[str, str] = {
    **{str(value): str(value) for value in GridDevice.Kind.values},
    **{str(label): str(value) for value, label in GridDevice.Kind.choices},
    "出口断路器": "breaker",
    "柱上断路器": "breaker",
    "分段断路器": "sectionaliser",
    "跌落式熔断器": "fuse",
    "联络开关": "switch",
    "柱上负荷开关": "switch",
}
TRUE = {"1", "true", "yes", "y", "是", "常开"}
FALSE = {"", "0", "false", "no", "n", "否", "常闭"}
MAX_DEVICES = 200_000


@dataclass(frozen=True)
class Problem:
    file: str
    line: int  # 0: the file as a whole
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}" if self.line else f"{self.file}: {self.message}"


@dataclass
class NetworkImport:
    """What an import found and did; `problems` empty means it was written."""

    problems: list[Problem] = field(default_factory=list)
    devices_created: int = 0
    devices_updated: int = 0
    devices_unchanged: int = 0
    areas_changed: int = 0
    areas_unchanged: int = 0
    written: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class _Dev:
    """A device as the import would leave it: stored values overlaid with the file's row."""

    code: str
    name: str
    kind: str
    feeder: str
    upstream: str | None
    tie_to: str | None
    normally_open: bool
    is_open: bool
    lat: float | None
    lon: float | None
    line: int = 0  # its row in the devices file; 0: not in the file, kept as stored


class _RowError(Exception):
    def __init__(self, column: str, message: str):
        super().__init__(message)
        self.message = f"「{LABELS[column]}」{message}"


def _header(table: Table, columns: dict[str, tuple[str, ...]], required: Iterable[str]) -> dict[str, str]:
    """Column → the header that holds it. Unknown headers are refused: a typo must not drop a column silently."""
    found: dict[str, str] = {}
    unknown: list[str] = []
    for h in table.header:
        if not h:
            continue
        key = next((k for k, names in columns.items() if h.strip().lower() in names), None)
        if key is None:
            unknown.append(h)
        elif key in found:
            raise ServiceError(f"列「{h}」与「{found[key]}」重复")
        else:
            found[key] = h
    expected = "、".join(f"{names[0]}（{names[1]}）" for names in columns.values())
    if unknown:
        raise ServiceError(f"无法识别的列：{'、'.join(unknown)}；应为：{expected}")
    missing = [f"{columns[k][0]}（{columns[k][1]}）" for k in required if k not in found]
    if missing:
        raise ServiceError(f"缺少列：{'、'.join(missing)}；应为：{expected}")
    return found


def _text(row: dict[str, Any], cols: dict[str, str], key: str, *, required: bool, max_len: int = 100) -> str:
    raw = row.get(cols[key]) if key in cols else None
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)  # Excel stores a numeric code as 1001.0
    value = "" if raw is None else str(raw).strip()
    if required and not value:
        raise _RowError(key, "不能为空")
    if len(value) > max_len:
        raise _RowError(key, f"过长（最多 {max_len} 个字符）")
    if any(ch.isspace() for ch in value) and key in ("code", "feeder", "upstream", "tie_to", "area", "device"):
        raise _RowError(key, f"“{value}”含有空格；编码不能含空格")
    return value


def _bool(row: dict[str, Any], cols: dict[str, str], key: str) -> bool:
    raw = row.get(cols[key]) if key in cols else None
    value = "" if raw is None else str(raw).strip().lower()
    if isinstance(raw, bool):
        return raw
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise _RowError(key, f"“{value}”应为 是/否（1/0）")


def _coord(row: dict[str, Any], cols: dict[str, str], key: str, limit: float) -> float | None:
    raw = row.get(cols[key]) if key in cols else None
    text = "" if raw is None else str(raw).strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise _RowError(key, f"“{text}”不是数字") from None
    if not math.isfinite(value) or abs(value) > limit:
        raise _RowError(key, f"{text} 超出范围（-{limit:g}~{limit:g}）")
    return value


def _device_row(row: dict[str, Any], cols: dict[str, str], line: int) -> _Dev:
    raw_kind = _text(row, cols, "kind", required=True, max_len=20)
    kind = KIND_NAMES.get(raw_kind) or KIND_NAMES.get(raw_kind.lower())
    if kind is None:
        allowed = "、".join(f"{v}/{label}" for v, label in GridDevice.Kind.choices)
        raise _RowError("kind", f"“{raw_kind}”不是设备类型；可选：{allowed}")
    lat, lon = _coord(row, cols, "lat", 90), _coord(row, cols, "lon", 180)
    if (lat is None) != (lon is None):
        raise _RowError("lat" if lat is None else "lon", "经纬度须同时填写或同时留空")
    normally_open = _bool(row, cols, "normally_open")
    return _Dev(
        code=_text(row, cols, "code", required=True, max_len=32),
        name=_text(row, cols, "name", required=True, max_len=100),
        kind=kind,
        feeder=_text(row, cols, "feeder", required=True, max_len=32),
        upstream=_text(row, cols, "upstream", required=False, max_len=32) or None,
        tie_to=_text(row, cols, "tie_to", required=False, max_len=32) or None,
        normally_open=normally_open,
        is_open=normally_open,
        lat=lat,
        lon=lon,
        line=line,
    )


class _Checker:
    """Collects the problems of one import, each placed on a line of one of the two files."""

    def __init__(self, devices_name: str, areas_name: str):
        self.devices_name, self.areas_name = devices_name, areas_name
        self.problems: list[Problem] = []
        self.unread: set[str] = set()  # codes of device rows that had a problem of their own

    def device(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.devices_name, line, message))

    def area(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.areas_name, line, message))


def network_import(
    *,
    devices: Table | None,
    areas: Table | None,
    actor: Any,
    devices_name: str = "devices",
    areas_name: str = "areas",
) -> NetworkImport:
    """Check the devices file and the 台区 → device file together, then write both (all or nothing).

    Either may be None (a 台区 file alone re-hangs 台区 on stored devices); a wrong header is a problem on line 1."""
    if devices is None and areas is None:
        raise ServiceError("请至少提供设备文件或台区挂接文件之一")
    check = _Checker(devices_name, areas_name)
    with transaction.atomic():
        # Switching (grid.services.device_switch) locks the feeders it touches: a change of structure waits for
        # a switching operation under way, and the next one sees the new network.
        feeder_rows: dict[str, dict[str, Any]] = {
            f["code"]: dict(f)
            for f in Feeder.objects.select_for_update().order_by("pk").values("pk", "code", "unit_id")
        }
        stored = _stored_devices()
        file_devs = _read_devices(devices, check) if devices is not None else {}
        state = _overlay(stored, file_devs)
        area_rows: dict[str, dict[str, Any]] = {
            a["code"]: dict(a) for a in TransformerArea.objects.values("pk", "code", "feeder__code", "device__code")
        }
        hung: dict[str, str | None] = {code: a["device__code"] for code, a in area_rows.items()}
        area_lines: dict[str, int] = {}
        if areas is not None:
            area_lines = _read_areas(areas, check, area_rows, hung)
        # Rows that could not be read are left out of the network; references to them are not reported again.
        broken = {code for code in check.unread if code not in state}
        _check_devices(state, feeder_rows, broken, check)
        _check_areas(state, area_rows, hung, area_lines, broken, check)
        if not check.problems:
            _check_radial(state, check)
        report = NetworkImport(problems=check.problems)
        if report.problems:
            return report
        _write(state, stored, feeder_rows, area_rows, hung, area_lines, report, actor)
    forget()
    return report


def _stored_devices() -> dict[str, _Dev]:
    rows = GridDevice.objects.values(
        "code",
        "name",
        "kind",
        "feeder__code",
        "upstream__code",
        "tie_to__code",
        "normally_open",
        "is_open",
        "lat",
        "lon",
    )
    return {
        r["code"]: _Dev(
            r["code"],
            r["name"],
            r["kind"],
            r["feeder__code"],
            r["upstream__code"],
            r["tie_to__code"],
            r["normally_open"],
            r["is_open"],
            r["lat"],
            r["lon"],
        )
        for r in rows
    }


def _read_devices(table: Table, check: _Checker) -> dict[str, _Dev]:
    try:
        cols = _header(table, DEVICE_COLUMNS, DEVICE_REQUIRED)
    except ServiceError as exc:
        check.device(1, exc.message)  # line 1 is the header
        return {}
    if len(table.rows) > MAX_DEVICES:
        check.device(0, f"一次最多导入 {MAX_DEVICES} 台设备，请按线路拆分文件")
        return {}
    out: dict[str, _Dev] = {}
    for line, row in table.rows:
        try:
            dev = _device_row(row, cols, line)
        except _RowError as exc:
            check.device(line, exc.message)
            check.unread.add(str(row.get(cols["code"]) or "").strip())
            continue
        if dev.code in out:
            check.device(line, f"「编码」{dev.code} 与第 {out[dev.code].line} 行重复")
            continue
        out[dev.code] = dev
    return out


def _overlay(stored: dict[str, _Dev], file_devs: dict[str, _Dev]) -> dict[str, _Dev]:
    state = dict(stored)
    for code, dev in file_devs.items():
        old = stored.get(code)
        if old is not None and old.is_open != old.normally_open:
            # Switched away from its normal state: keep what the switching operations made of it.
            dev = replace(dev, is_open=old.is_open)
        state[code] = dev
    return state


def _read_areas(
    table: Table, check: _Checker, area_rows: dict[str, dict[str, Any]], hung: dict[str, str | None]
) -> dict[str, int]:
    lines: dict[str, int] = {}
    try:
        cols = _header(table, AREA_COLUMNS, ("area", "device"))
    except ServiceError as exc:
        check.area(1, exc.message)
        return lines
    for line, row in table.rows:
        try:
            area = _text(row, cols, "area", required=True, max_len=32)
            device = _text(row, cols, "device", required=False, max_len=32) or None
        except _RowError as exc:
            check.area(line, exc.message)
            continue
        if area not in area_rows:
            check.area(line, f"「台区」{area} 不存在，请先导入台区")
            continue
        if area in lines:
            check.area(line, f"「台区」{area} 与第 {lines[area]} 行重复")
            continue
        lines[area] = line
        hung[area] = device
    return lines


def _where(dev: _Dev) -> str:
    return f"第 {dev.line} 行" if dev.line else "系统中已有"


def _check_devices(
    state: dict[str, _Dev], feeders: dict[str, dict[str, Any]], broken: set[str], check: _Checker
) -> None:
    """Per-device references and the shape of each feeder's tree. A problem is reported on the file's line of
    the device it concerns, or of the file's device that causes it when the device itself is only stored."""

    def report(dev: _Dev, message: str, cause: _Dev | None = None) -> None:
        if dev.line:
            check.device(dev.line, message)
        elif cause is not None and cause.line:
            check.device(cause.line, f"系统中已有的设备 {dev.code}：{message}")

    outlets: dict[str, list[_Dev]] = defaultdict(list)
    for dev in state.values():
        if dev.feeder not in feeders:
            report(dev, f"「线路」{dev.feeder} 不存在，请先导入线路")
            continue
        if dev.upstream is None:
            if dev.kind != "breaker":
                report(dev, "「上级设备」为空表示线路出口断路器，类型应为断路器；其他设备须填写上级设备")
            outlets[dev.feeder].append(dev)
        else:
            up = state.get(dev.upstream)
            if up is None and dev.upstream in broken:
                pass
            elif up is None:
                report(dev, f"「上级设备」{dev.upstream} 不存在（文件和系统中都没有这个设备编码）")
            elif up.code == dev.code:
                report(dev, "「上级设备」不能是设备自己")
            elif up.feeder != dev.feeder:
                report(
                    dev,
                    f"「上级设备」{up.code} 在线路 {up.feeder} 上，本设备在线路 {dev.feeder} 上；"
                    "跨线路的连接请用联络开关（tie_to）",
                    cause=up,
                )
        if dev.tie_to is not None:
            other = state.get(dev.tie_to)
            if other is None and dev.tie_to in broken:
                pass
            elif other is None:
                report(dev, f"「联络至」{dev.tie_to} 不存在（文件和系统中都没有这个设备编码）")
            elif other.feeder == dev.feeder:
                report(
                    dev,
                    f"「联络至」{other.code} 与本设备在同一条线路 {dev.feeder} 上；联络开关应连接另一条线路",
                    cause=other,
                )
            elif not dev.normally_open:
                report(dev, f"联络开关（联络至 {other.code}）须为常开：「常开」应填 是")
    for feeder, devs in outlets.items():
        if len(devs) > 1:
            names = "、".join(f"{d.code}（{_where(d)}）" for d in sorted(devs, key=lambda d: (d.line or 0, d.code)))
            cause = next((d for d in devs if d.line), None)
            for dev in devs:
                report(dev, f"线路 {feeder} 有多个出口断路器：{names}；一条线路只能有一个", cause=cause)
    _check_chains(state, report)


def _check_chains(state: dict[str, _Dev], report: Any) -> None:
    """Each upstream chain must end at an outlet: a chain that comes back to itself is a loop in the tree."""
    done: set[str] = set()
    for start in sorted(state):
        path: list[str] = []
        on_path: set[str] = set()
        node: str | None = start
        while node is not None and node not in done and node in state:
            if node in on_path:
                cycle = path[path.index(node) :]
                text = " → ".join([*cycle, node])
                members = [state[c] for c in cycle]
                cause = next((m for m in members if m.line), None)
                for member in members:
                    report(member, f"「上级设备」形成环路：{text}", cause=cause)
                break
            on_path.add(node)
            path.append(node)
            node = state[node].upstream
        done.update(path)


def _check_areas(
    state: dict[str, _Dev],
    area_rows: dict[str, dict[str, Any]],
    hung: dict[str, str | None],
    area_lines: dict[str, int],
    broken: set[str],
    check: _Checker,
) -> None:
    """Every 台区 (stored or in the file) hangs from a device of its own feeder that is not normally open."""
    for code, device in sorted(hung.items()):
        if device is None:
            continue
        feeder = area_rows[code]["feeder__code"]
        dev = state.get(device)
        line = area_lines.get(code, 0)
        if dev is None:
            if line and device not in broken:
                check.area(line, f"「设备」{device} 不存在（设备文件和系统中都没有这个设备编码）")
            continue
        problem = ""
        if dev.feeder != feeder:
            problem = f"设备 {dev.code} 在线路 {dev.feeder} 上，台区 {code} 属于线路 {feeder}"
        elif dev.normally_open:
            problem = f"设备 {dev.code} 常开，挂在它下面的台区 {code} 正常运行时会失电；请挂到它上游的设备"
        if not problem:
            continue
        if line:
            check.area(line, f"「设备」{problem}")
        elif dev.line:
            check.device(dev.line, f"系统中台区 {code} 挂在本设备下：{problem}")


def _check_radial(state: dict[str, _Dev], check: _Checker) -> None:
    """The normal arrangement and the one running now must both be radial: no ring, no feeders in parallel."""
    devices = [net.Device(d.code, d.kind, None, d.feeder if d.upstream is None else None) for d in state.values()]
    links = [net.Link(d.upstream, d.code) for d in state.values() if d.upstream is not None]
    links += [net.Link(d.code, d.tie_to) for d in state.values() if d.tie_to is not None]
    for label, opened in (
        ("正常运行方式", [d.code for d in state.values() if d.normally_open]),
        ("当前运行方式（含已执行的倒闸操作）", [d.code for d in state.values() if d.is_open]),
    ):
        for loop in net.loop_problems(devices, links, opened):
            involved = [state[c] for c in loop.devices]
            at = next((d for d in involved if d.line), None)
            if loop.kind == "ring":
                message = f"{label}下 {loop.devices[0]} 与 {loop.devices[1]} 之间形成合环（环网）"
            else:
                message = f"{label}下线路 {'、'.join(loop.feeders)} 将经闭合的设备并列运行（合环）"
            check.device(at.line if at else 0, f"{message}；联络开关须断开")


def _write(
    state: dict[str, _Dev],
    stored: dict[str, _Dev],
    feeders: dict[str, dict[str, Any]],
    area_rows: dict[str, dict[str, Any]],
    hung: dict[str, str | None],
    area_lines: dict[str, int],
    report: NetworkImport,
    actor: Any,
) -> None:
    fields = ("name", "kind", "feeder", "upstream", "tie_to", "normally_open", "is_open", "lat", "lon")
    file_devs = [d for d in state.values() if d.line]
    new = [d for d in file_devs if d.code not in stored]
    # New devices first, without their links (which may point at each other), then every link at once.
    GridDevice.objects.bulk_create(
        [
            GridDevice(
                code=d.code,
                name=d.name,
                kind=d.kind,
                feeder_id=feeders[d.feeder]["pk"],
                normally_open=d.normally_open,
                is_open=d.is_open,
                lat=d.lat,
                lon=d.lon,
            )
            for d in new
        ],
        batch_size=500,
    )
    pk = dict(GridDevice.objects.values_list("code", "pk"))
    changed: list[GridDevice] = []
    events = []
    for d in file_devs:
        old = stored.get(d.code)
        if old is not None and all(getattr(old, f) == getattr(d, f) for f in fields):
            report.devices_unchanged += 1
            continue
        obj = GridDevice(
            pk=pk[d.code],
            code=d.code,
            name=d.name,
            kind=d.kind,
            feeder_id=feeders[d.feeder]["pk"],
            upstream_id=pk[d.upstream] if d.upstream else None,
            tie_to_id=pk[d.tie_to] if d.tie_to else None,
            normally_open=d.normally_open,
            is_open=d.is_open,
            lat=d.lat,
            lon=d.lon,
        )
        changed.append(obj)
        new_values = {f: getattr(d, f) for f in fields}
        if old is None:
            report.devices_created += 1
            events.append(build_event(actor=actor, action="griddevice.import", subject=obj, new=new_values))
        else:
            report.devices_updated += 1
            before, after = changed_values({f: getattr(old, f) for f in fields}, new_values)
            events.append(build_event(actor=actor, action="griddevice.import", subject=obj, old=before, new=after))
    GridDevice.objects.bulk_update(
        changed,
        ["name", "kind", "feeder_id", "upstream_id", "tie_to_id", "normally_open", "is_open", "lat", "lon"],
        batch_size=500,
    )
    moved: list[TransformerArea] = []
    for code, device in hung.items():
        row = area_rows[code]
        if device == row["device__code"]:
            continue
        area = TransformerArea(pk=row["pk"], code=code, device_id=pk[device] if device else None)
        moved.append(area)
        events.append(
            build_event(
                actor=actor,
                action="transformerarea.device",
                subject=area,
                subject_label=code,
                old={"device": row["device__code"]},
                new={"device": device},
            )
        )
    TransformerArea.objects.bulk_update(moved, ["device_id"], batch_size=500)
    report.areas_changed = len(moved)
    report.areas_unchanged = len(area_lines) - len(moved)  # only the file's 台区 can have moved
    record_events(events)
    record_event(
        actor=actor,
        action=IMPORT_ACTION,
        subject_type="grid.network",
        subject_id="",
        subject_label="线路下网络导入",
        new={
            "devices_created": report.devices_created,
            "devices_updated": report.devices_updated,
            "devices_unchanged": report.devices_unchanged,
            "areas_changed": report.areas_changed,
        },
    )
    report.written = True
