"""Zip bombs (issue #12): an xlsx is measured from its central directory and refused before it is inflated."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from openpyxl import Workbook

from gridcare.core.archives import MB, ArchiveRefused, check_zip
from gridcare.core.errors import ServiceError
from gridcare.core.models import CalendarYear
from gridcare.core.tables import read_table

ROOT = Path(__file__).resolve().parents[2]


def workbook_bytes(rows: list[list[Any]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def bomb_from(xlsx: bytes, *, inflated_mb: int, member: str = "xl/worksheets/sheet1.xml") -> bytes:
    """The same workbook with one sheet padded to `inflated_mb` MB of blanks: a few hundred kB on disk."""
    source = zipfile.ZipFile(io.BytesIO(xlsx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == member:
                head, tail = data.split(b"<sheetData>", 1) if b"<sheetData>" in data else (data, b"")
                data = head + b" " * (inflated_mb * MB) + b"<sheetData>" + tail
            target.writestr(info.filename, data)
    return out.getvalue()


CALENDAR_ROWS = [["date", "kind", "name"], ["2027-01-01", "holiday", "元旦"]]


def test_a_300_mb_bomb_in_a_1_mb_xlsx_is_refused_before_it_is_inflated() -> None:
    bomb = bomb_from(workbook_bytes(CALENDAR_ROWS), inflated_mb=300)
    assert len(bomb) < 2 * MB
    tracemalloc.start()
    started = time.monotonic()
    with pytest.raises(ArchiveRefused, match="解压后超过 100 MB") as info:
        read_table(io.BytesIO(bomb), "holidays.xlsx")
    elapsed = time.monotonic() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert info.value.status == 413
    assert elapsed < 1 and peak < 20 * MB  # nothing was inflated


def test_many_members_and_extreme_ratios_are_refused_too() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for i in range(1001):
            archive.writestr(f"m{i}.xml", b"<x/>")
    with pytest.raises(ArchiveRefused, match="1001 个成员"):
        check_zip(io.BytesIO(out.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("xl/sharedStrings.xml", b"\0" * (20 * MB))  # under 100 MB, but ~1000:1
    with pytest.raises(ArchiveRefused, match="压缩比异常"):
        check_zip(io.BytesIO(out.getvalue()))


def test_the_limit_is_a_setting(settings: Any) -> None:
    settings.GRIDCARE_ARCHIVE_MAX_MB = 5
    settings.GRIDCARE_ARCHIVE_MAX_RATIO = 100_000
    with pytest.raises(ArchiveRefused, match="解压后超过 5 MB"):
        read_table(io.BytesIO(bomb_from(workbook_bytes(CALENDAR_ROWS), inflated_mb=6)), "x.xlsx")
    assert read_table(io.BytesIO(bomb_from(workbook_bytes(CALENDAR_ROWS), inflated_mb=4)), "x.xlsx").rows


def test_a_broken_or_fake_xlsx_is_a_clear_error_not_a_crash() -> None:
    for payload in [b"not a zip at all", b"PK\x03\x04" + b"\0" * 100, workbook_bytes(CALENDAR_ROWS)[:-30]]:
        with pytest.raises(ServiceError) as info:
            read_table(io.BytesIO(payload), "x.xlsx")
        assert info.value.status == 400


def test_a_normal_xlsx_still_reads() -> None:
    table = read_table(io.BytesIO(workbook_bytes(CALENDAR_ROWS)), "holidays.xlsx")
    assert table.header == ["date", "kind", "name"]
    assert [values["name"] for _, values in table.rows] == ["元旦"]


@pytest.mark.django_db
def test_calendar_import_refuses_a_bomb_and_still_imports_a_normal_xlsx(tmp_path: Path) -> None:
    bomb = tmp_path / "2027.xlsx"
    bomb.write_bytes(bomb_from(workbook_bytes(CALENDAR_ROWS), inflated_mb=150))
    with pytest.raises(CommandError, match=r"2027\.xlsx: 文件解压后超过 100 MB"):
        call_command("calendar", "import", str(bomb), stdout=io.StringIO(), stderr=io.StringIO())
    assert not CalendarYear.objects.filter(year=2027).exists()
    good = tmp_path / "2027-good.xlsx"
    good.write_bytes(workbook_bytes(CALENDAR_ROWS))
    call_command("calendar", "import", str(good), "--keep-deadlines", stdout=io.StringIO(), stderr=io.StringIO())
    assert CalendarYear.objects.filter(year=2027).exists()


def test_the_import_command_exits_with_one_line_for_a_bomb(tmp_path: Path) -> None:
    bomb = tmp_path / "customers.xlsx"
    bomb.write_bytes(bomb_from(workbook_bytes([["account_no", "name"], ["4400000001", "王"]]), inflated_mb=300))
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "GRIDCARE_VAR_DIR": str(tmp_path / "var"),
        # A configured deployment: with no GPS or meter head-end token every command would also print the checks'
        # I011 / I013 lines.
        "GRIDCARE_GPS_TOKEN": "a-gps-token-for-the-tests-0123456789",
        "GRIDCARE_AMI_TOKEN": "a-head-end-token-for-the-tests-0123456789",
    }
    for command in (["import", "customers"], ["tags", "import-credit"]):
        done = subprocess.run(
            [sys.executable, "-m", "gridcare.cli", *command, str(bomb)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 1, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "文件解压后超过 100 MB" in lines[0] and "Traceback" not in done.stderr
