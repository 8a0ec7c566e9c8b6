"""Work orders reach the analytics store for the tags engine, with satisfaction from return visits."""

from __future__ import annotations

from pathlib import Path

import duckdb

from gridcare.workorders import services as svc
from gridcare.workorders.export import export_work_orders
from tests.conftest import City
from tests.workorders.helpers import bj, cat, complaint


def test_export_has_one_row_per_customer_order_with_kind_and_satisfaction(city: City, tmp_path: Path) -> None:
    order = complaint(city, bj(2026, 11, 2, 9))
    svc.workorder_take(order=order, actor=city.handler, now=bj(2026, 11, 2, 10))
    svc.workorder_reply(order=order, actor=city.handler, text="已处理", now=bj(2026, 11, 2, 11))
    svc.visit_record(visit=order.visits.get(), actor=city.quality, result="basic", now=bj(2026, 11, 2, 15))
    svc.workorder_create(
        actor=city.agent,
        channel="web",
        category=cat("consult"),
        description="x",
        caller_name="路人",
        caller_phone="13900000000",
    )  # not a customer: not exported
    path, n = export_work_orders(tmp_path)
    rows = duckdb.sql(f"SELECT customer_id, created_at, kind, satisfaction FROM read_parquet('{path}')").fetchall()
    assert n == 1 and len(rows) == 1
    customer_id, created_at, kind, satisfaction = rows[0]
    assert customer_id == city.north_customer.pk and kind == "complaint" and satisfaction == 4
    assert created_at.hour == 9  # local (Beijing) time, like the other analytics inputs
