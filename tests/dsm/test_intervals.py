"""Interval import: layouts, validation per row and series, all-or-nothing writes, the CLI with its progress bar."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command

from gridcare.core.errors import ServiceError
from gridcare.core.models import Event
from gridcare.dsm import intervals, store
from gridcare.dsm.models import IntervalBatch
from tests.conftest import City

TZ = intervals.Options().tz


def long_csv(path: Path, rows: list[tuple[str, str, str]], key: str = "account_no") -> Path:
    path.write_text(f"{key},ts,kw\n" + "".join(f"{a},{t},{v}\n" for a, t, v in rows), encoding="utf-8")
    return path


def day_rows(account: str, day: str, values: list[float] | None = None) -> list[tuple[str, str, str]]:
    start = dt.datetime.fromisoformat(day)
    values = values if values is not None else [1.0 + (i % 8) for i in range(96)]
    return [
        (account, (start + dt.timedelta(minutes=15 * i)).strftime("%Y-%m-%d %H:%M"), str(v))
        for i, v in enumerate(values)
    ]


@pytest.fixture
def analytics(settings, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    settings.ANALYTICS_DIR = tmp_path / "analytics"
    return settings.ANALYTICS_DIR


def stored(root: Path, kind: str = "interval") -> list[tuple]:
    """The store's rows; wide interval rows come back as (customer_id, day, slot, kw, filled) readings."""
    query = f"select * from read_parquet('{store.glob(kind, root)}') order by customer_id, day"
    rows = duckdb.sql(query).fetchall()
    if kind != "interval":
        return rows
    out = []
    for customer_id, day, _points, filled, *values in rows:
        for slot, kw in enumerate(values):
            if kw is not None:
                out.append((customer_id, day, slot, kw, slot in filled))
    return out


def test_long_csv_is_imported_with_local_days_and_slots(city: City, analytics: Path, tmp_path: Path) -> None:
    acct = city.north_customer.account_no
    path = long_csv(tmp_path / "a.csv", day_rows(acct, "2024-07-01") + day_rows(acct, "2024-07-02"))
    call_command("load", "import", str(path), "--quiet")
    rows = stored(analytics)
    assert len(rows) == 192
    assert rows[0][:3] == (city.north_customer.pk, dt.date(2024, 7, 1), 0)
    assert rows[95][2] == 95 and rows[96][1] == dt.date(2024, 7, 2)
    batch = IntervalBatch.objects.get()
    assert (batch.rows, batch.series, batch.first_day) == (192, 1, dt.date(2024, 7, 1))
    assert Event.objects.filter(action="dsm.interval_import").count() == 1


def test_wide_96_point_rows_and_parquet(city: City, analytics: Path, tmp_path: Path) -> None:
    cid = city.north_customer.pk
    table = pa.table(
        {"customer_id": [cid], "day": [dt.date(2024, 7, 3)], **{f"p{i}": [float(i)] for i in range(1, 97)}}
    )
    path = tmp_path / "wide.parquet"
    pq.write_table(table, path)
    batch, report = _import(path)
    assert batch.rows == 96 and report.ok
    kw = [r[3] for r in stored(analytics)]
    assert kw[0] == 1.0 and kw[-1] == 96.0


def test_a_gbk_csv_from_chinese_excel_is_read(city: City, analytics: Path, tmp_path: Path) -> None:
    header = "account_no,day," + ",".join(f"p{i}" for i in range(1, 97)) + ",备注\n"
    row = f"{city.north_customer.account_no},2024-07-03," + ",".join(str(float(i)) for i in range(1, 97)) + ",夏季\n"
    path = tmp_path / "wide-gbk.csv"
    path.write_bytes((header + row).encode("gb18030"))
    batch, report = _import(path)
    assert batch.rows == 96 and report.ok
    assert [r[3] for r in stored(analytics)][-1] == 96.0


def _import(path: Path, **kw):  # type: ignore[no-untyped-def]
    from gridcare.dsm.services import interval_import

    return interval_import(path=path, actor="test", **kw)


@pytest.mark.parametrize(
    ("mutate", "line", "reason"),
    [
        (lambda rows: rows.__setitem__(5, (rows[5][0], rows[5][1], "-3")), 7, "negative"),
        (lambda rows: rows.__setitem__(5, (rows[5][0], "2024-07-01 01:10", rows[5][2])), 7, "quarter hour"),
        (lambda rows: rows.__setitem__(5, (rows[5][0], rows[4][1], rows[5][2])), 7, "also on line 6"),
        (lambda rows: rows.__setitem__(5, ("9999999999", rows[5][1], rows[5][2])), 7, "unknown customer"),
    ],
)
def test_bad_rows_refuse_the_file_and_write_nothing(
    city: City,
    analytics: Path,
    tmp_path: Path,
    mutate,
    line: int,
    reason: str,  # type: ignore[no-untyped-def]
) -> None:
    rows = day_rows(city.north_customer.account_no, "2024-07-01")
    mutate(rows)
    path = long_csv(tmp_path / "bad.csv", rows)
    with pytest.raises(CommandError, match=rf"bad.csv:{line}: .*{reason}"):
        call_command("load", "import", str(path), "--quiet")
    assert not store.has_data("interval", analytics)
    assert IntervalBatch.objects.count() == 0


def test_unreadable_values_name_the_line(city: City, analytics: Path, tmp_path: Path) -> None:
    rows = day_rows(city.north_customer.account_no, "2024-07-01")
    rows[10] = (rows[10][0], rows[10][1], "abc")
    with pytest.raises(CommandError, match=r"line 12: kw 'abc' is not valid"):
        call_command("load", "import", str(long_csv(tmp_path / "x.csv", rows)), "--quiet")
    rows = day_rows(city.north_customer.account_no, "2024-07-01")
    rows[3] = (rows[3][0], "yesterday", rows[3][2])
    with pytest.raises(CommandError, match=r"line 5: ts 'yesterday'"):
        call_command("load", "import", str(long_csv(tmp_path / "y.csv", rows)), "--quiet")
    (tmp_path / "z.csv").write_text("who,when,what\n1,2,3\n")
    with pytest.raises(CommandError, match="customer_id or account_no"):
        call_command("load", "import", str(tmp_path / "z.csv"), "--quiet")
    assert not store.has_data("interval", analytics)


def test_gaps_are_reported_and_filled_only_when_asked(city: City, analytics: Path, tmp_path: Path) -> None:
    rows = day_rows(city.north_customer.account_no, "2024-07-01", [float(i) for i in range(96)])
    del rows[10:13]  # 02:30, 02:45, 03:00 missing
    path = long_csv(tmp_path / "gap.csv", rows)
    _, report = _import(path)
    assert [(w.code, w.line) for w in report.warnings] == [("gap", 12)]
    assert "3 reading(s) missing after 2024-07-01 02:15" in report.warnings[0].message
    assert len(stored(analytics)) == 93
    # a second import of the same customer-days is refused (nothing doubles)
    with pytest.raises(ServiceError, match="rows repeat customer-days already in the store"):
        _import(path, fill_gaps=True)
    for f in store.store_dir("interval", analytics).glob("*.parquet"):
        f.unlink()
    _, report = _import(path, fill_gaps=True)
    rows_out = stored(analytics)
    filled = [(r[2], r[3]) for r in rows_out if r[4]]
    assert filled == [(10, 10.0), (11, 11.0), (12, 12.0)]  # linear between 9 and 13
    assert report.filled == 3


def test_spikes_are_reported_as_warnings(city: City, analytics: Path, tmp_path: Path) -> None:
    values = [2.0] * 96
    values[40] = 80.0
    _, report = _import(long_csv(tmp_path / "s.csv", day_rows(city.north_customer.account_no, "2024-07-01", values)))
    assert [(w.code, w.line) for w in report.warnings] == [("spike", 42)]


def test_daily_register_readings_with_a_rollover(city: City, analytics: Path, tmp_path: Path) -> None:
    acct = city.north_customer.account_no
    path = tmp_path / "reg.csv"
    path.write_text(
        "account_no,day,reading\n"
        f"{acct},2024-07-01,999980\n{acct},2024-07-02,999995\n{acct},2024-07-03,12\n{acct},2024-07-05,40\n"
    )
    with pytest.raises(CommandError, match=r"reg.csv:4: .*register went down"):
        call_command("load", "import", str(path), "--quiet")
    _, report = _import(path, register_digits=6)
    assert [(w.code, w.line) for w in report.warnings] == [("rollover", 4), ("gap", 5)]
    kwh = [r[2] for r in stored(analytics, "daily")]
    assert kwh[0] is None and kwh[1:] == [15.0, 17.0, 28.0]  # the first reading has no day before it


def test_daily_kwh_files_and_negative_values(city: City, analytics: Path, tmp_path: Path) -> None:
    cid = city.north_customer.pk
    path = tmp_path / "d.csv"
    path.write_text(f"customer_id,day,kwh\n{cid},2024-07-01,10.5\n{cid},2024-07-02,-1\n")
    with pytest.raises(CommandError, match=r"d.csv:3: .*negative"):
        call_command("load", "import", str(path), "--quiet")
    path.write_text(f"customer_id,day,kwh\n{cid},2024-07-01,10.5\n{cid},2024-07-03,12\n")
    _import(path, fill_gaps=True)
    assert [r[2] for r in stored(analytics, "daily")] == [10.5, 11.25, 12.0]


def test_the_demo_load_96_folder_is_an_input(city: City, analytics: Path, tmp_path: Path) -> None:
    folder = tmp_path / "load_96"
    folder.mkdir()
    ts = [dt.datetime(2024, 7, 1, tzinfo=TZ) + dt.timedelta(minutes=15 * i) for i in range(96)]
    table = pa.table(
        {
            "customer_id": pa.array([city.south_customer.pk] * 96, pa.int64()),
            "ts": pa.array(ts, pa.timestamp("s", tz="Asia/Shanghai")),
            "kw": pa.array(np.linspace(1, 2, 96), pa.float32()),
        }
    )
    pq.write_table(table, folder / "part-0.parquet")
    call_command("load", "import", str(folder), "--quiet")
    rows = stored(analytics)
    assert len(rows) == 96 and rows[0][1:3] == (dt.date(2024, 7, 1), 0)
