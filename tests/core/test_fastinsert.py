"""The plain INSERT helpers store exactly what the ORM would, and numbers made from ids never collide."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection, transaction

from gridcare.core.audit import build_event, record_events
from gridcare.core.fastinsert import insert_many
from gridcare.core.models import Event
from gridcare.workorders.models import WorkOrder
from tests.conftest import City
from tests.workorders.helpers import bj, complaint

pytestmark = pytest.mark.django_db


def test_insert_many_sets_primary_keys_and_stores_values_as_the_orm_reads_them(city: City) -> None:
    at = dt.datetime(2026, 11, 27, 8, 30, tzinfo=dt.UTC)
    events = [
        build_event(
            actor=city.agent, action="test.fast", subject_type="x", subject_id=str(i), new={"i": i, "名": "值"}, at=at
        )
        for i in range(3)
    ]
    with transaction.atomic():
        record_events(events)
    assert all(e.pk is not None for e in events)
    stored = {e.pk: e for e in Event.objects.filter(action="test.fast")}
    assert sorted(stored) == sorted(e.pk for e in events)
    for e in events:
        again = stored[e.pk]
        assert (again.new, again.at, again.actor_id, again.subject_id) == (e.new, at, city.agent.pk, e.subject_id)


def test_insert_many_splits_what_one_statement_cannot_carry(city: City) -> None:
    events = [build_event(actor=None, action="test.many", subject_type="x", subject_id=str(i)) for i in range(7000)]
    with transaction.atomic():
        insert_many(events)
    assert Event.objects.filter(action="test.many").count() == 7000
    assert len({e.pk for e in events}) == 7000


def test_order_numbers_are_the_acceptance_date_and_the_id(city: City) -> None:
    orders = [complaint(city, bj(2026, 11, 2, 9 + i), customer=city.south_customer) for i in range(3)]
    for order in orders:
        stored = WorkOrder.objects.get(pk=order.pk)
        assert stored.number == order.number == f"20261102{order.pk:08d}"
    assert len({o.number for o in orders}) == 3


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite only: PostgreSQL's sequence never goes back")
def test_an_id_is_never_reused_after_the_last_order_is_deleted_on_sqlite(city: City) -> None:
    first = complaint(city, bj(2026, 11, 2, 9))
    WorkOrder.objects.filter(pk=first.pk).delete()  # only possible by hand: orders are never deleted by the app
    second = complaint(city, bj(2026, 11, 2, 10))
    assert second.pk > first.pk and second.number != first.number
