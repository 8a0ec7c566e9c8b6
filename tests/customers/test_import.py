"""Imports validate every row, name bad rows by line, and write nothing unless asked to be partial."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from openpyxl import Workbook

from gridcare.core.errors import ServiceError
from gridcare.core.models import Event
from gridcare.core.tables import read_table
from gridcare.customers.imports import import_table
from gridcare.customers.models import Customer
from gridcare.grid.models import Feeder, ServicePoint, Substation, TransformerArea
from tests.conftest import City

HEADER = (
    "account_no,name,customer_type,category,voltage_level,contract_kva,address,district,service_point,opened_on,phone"
)


def customers_csv(city: City, rows: list[str]) -> io.BytesIO:
    return io.BytesIO(("\n".join([HEADER, *rows]) + "\n").encode())


def good_row(city: City, n: int, sp_code: str) -> str:
    d = city.north_net.areas[0].district
    assert d is not None
    return f"44000000{n:02d},客户{n},lv_resident,居民生活,220V,8,滨江路{n}号,{d.code},{sp_code},2020-01-0{n % 9 + 1},1390000{n:04d}"


@pytest.fixture
def points(city: City) -> list[str]:
    area = city.north_net.areas[0]
    return [ServicePoint.objects.create(code=f"NEW{i}", transformer_area=area, lat=30, lon=120).code for i in range(4)]


def test_valid_customers_import_with_contacts_and_events(city: City, points: list[str]) -> None:
    table = read_table(customers_csv(city, [good_row(city, i, points[i]) for i in range(3)]), "c.csv")
    report = import_table(kind="customers", table=table, actor="test")
    assert report.ok and report.written == 3
    c = Customer.objects.get(account_no="4400000001")
    assert c.category == "resident" and c.service_unit == city.north and c.contacts.get().phone == "13900000001"
    assert c.area_class == "urban"
    assert Event.objects.filter(action="customer.import", subject_id=str(c.pk)).exists()


def test_one_bad_row_writes_nothing_and_names_the_line(city: City, points: list[str]) -> None:
    rows = [
        good_row(city, 0, points[0]),
        good_row(city, 1, points[1]).replace(",8,", ",many,"),
        good_row(city, 2, points[2]),
    ]
    before = Customer.objects.count()
    report = import_table(kind="customers", table=read_table(customers_csv(city, rows), "c.csv"), actor="test")
    assert not report.ok
    assert report.written == 0
    assert report.bad_lines == [3]  # the header is line 1
    assert report.problems[0].column == "contract_kva" and "不是数字" in report.problems[0].message
    assert Customer.objects.count() == before


def test_partial_import_writes_the_good_rows(city: City, points: list[str]) -> None:
    rows = [good_row(city, 0, points[0]), good_row(city, 1, "NOPE"), good_row(city, 2, points[2])]
    report = import_table(
        kind="customers", table=read_table(customers_csv(city, rows), "c.csv"), partial=True, actor="test"
    )
    assert report.written == 2 and report.bad_lines == [3]
    assert "计量点编码 NOPE 不存在" in report.problems[0].message


def test_duplicates_in_file_and_database_are_rejected(city: City, points: list[str]) -> None:
    existing = city.north_customer.account_no
    rows = [
        good_row(city, 0, points[0]),
        good_row(city, 0, points[1]),
        good_row(city, 2, points[2]).replace("4400000002", existing),
    ]
    report = import_table(kind="customers", table=read_table(customers_csv(city, rows), "c.csv"), actor="test")
    messages = {p.line: p.message for p in report.problems}
    assert "与第 2 行重复" in messages[3]
    assert "已存在" in messages[4]


def test_topology_imports_top_down_from_excel(city: City, tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["编码", "名称", "纬度", "经度", "运维单位"])
    ws.append(["SUBX", "新城变", 30.3, 120.2, city.north.code])
    path = tmp_path / "subs.xlsx"
    wb.save(path)
    with path.open("rb") as fh:
        assert import_table(kind="substations", table=read_table(fh, path.name), actor="t").ok
    feeders = io.BytesIO(b"code,name,substation\nFX1,\xe6\x96\xb0\xe5\x9f\x8e\xe7\xba\xbf,SUBX\n")
    assert import_table(kind="feeders", table=read_table(feeders, "f.csv"), actor="t").ok
    areas = io.BytesIO(b"code,name,feeder,rated_kva,lat,lon\nTAX1,A,FX1,400,30.3,120.2\n")
    assert import_table(kind="areas", table=read_table(areas, "a.csv"), actor="t").ok
    area = TransformerArea.objects.get(code="TAX1")
    assert area.feeder == Feeder.objects.get(code="FX1") and area.unit == city.north
    assert Substation.objects.get(code="SUBX").unit == city.north


def test_out_of_range_coordinates_are_rejected(city: City) -> None:
    areas = io.BytesIO(f"code,name,feeder,rated_kva,lat,lon\nTAY,A,{city.north_net.feeder.code},400,95,120\n".encode())
    report = import_table(kind="areas", table=read_table(areas, "a.csv"), actor="t")
    assert "超出范围" in report.problems[0].message


def test_gbk_csv_is_read(city: City) -> None:
    data = f"code,name,feeder,rated_kva,lat,lon\nTAG,城东台区,{city.north_net.feeder.code},400,30,120\n".encode("gbk")
    assert import_table(kind="areas", table=read_table(io.BytesIO(data), "a.csv"), actor="t").ok
    assert TransformerArea.objects.get(code="TAG").name == "城东台区"


def test_unknown_columns_and_file_types_get_clear_errors(city: City) -> None:
    with pytest.raises(ServiceError, match="无法识别的列：colour"):
        import_table(kind="areas", table=read_table(io.BytesIO(b"code,colour\nX,red\n"), "a.csv"), actor="t")
    with pytest.raises(ServiceError, match=r"\.csv 或 \.xlsx"):
        read_table(io.BytesIO(b""), "a.pdf")


def test_import_command_exit_codes_and_messages(
    city: City, points: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join([HEADER, good_row(city, 0, points[0]), good_row(city, 1, "NOPE")]) + "\n")
    with pytest.raises(SystemExit) as exit_info:
        call_command("import", "customers", str(bad))
    assert exit_info.value.code == 1
    captured = capsys.readouterr()
    assert f"{bad}:3: service_point" in captured.err and "nothing imported" in captured.out
    assert not Customer.objects.filter(account_no="4400000000").exists()
    with pytest.raises(CommandError, match="no such file"):
        call_command("import", "customers", str(tmp_path / "missing.csv"))
