"""The plain INSERT helpers store exactly what the ORM would, write sets are all or nothing, and numbers made from
ids never collide."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from gridcare.core.audit import build_event, record_events
from gridcare.core.fastinsert import WriteSet, insert_many, next_id_sql
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


def _reserve_event_id() -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {next_id_sql(Event)}")
        return int(cursor.fetchone()[0])


def test_a_write_set_stores_rows_with_reserved_ids_and_rows_without(city: City) -> None:
    at = dt.datetime(2026, 11, 27, 8, 30, tzinfo=dt.UTC)
    with transaction.atomic():
        reserved = _reserve_event_id()
        known = build_event(actor=city.agent, action="test.set", subject_type="x", subject_id="known", at=at)
        known.pk = reserved
        others = [
            build_event(actor=None, action="test.set", subject_type="x", subject_id=str(i), new={"i": i}, at=at)
            for i in range(2)
        ]
        writes = WriteSet()
        writes.insert([known])
        writes.insert(others)
        writes.execute(f"UPDATE {Event._meta.db_table} SET note = %s WHERE id = %s", ["已核对", reserved])
        writes.write()
    stored = {e.subject_id: e for e in Event.objects.filter(action="test.set")}
    assert stored["known"].pk == reserved and stored["known"].note == "已核对" and stored["known"].actor == city.agent
    assert [stored[str(i)].new for i in range(2)] == [{"i": 0}, {"i": 1}]
    assert not known._state.adding and all(not e._state.adding for e in others)
    with transaction.atomic():
        assert _reserve_event_id() > max(e.pk for e in stored.values())  # a reserved id is never given again


def test_a_write_set_refuses_rows_that_mix_given_and_missing_ids(city: City) -> None:
    given = build_event(actor=None, action="test.mix")
    given.pk = 10**9
    with pytest.raises(ValueError, match="every row its primary key, or none"):
        WriteSet().insert([given, build_event(actor=None, action="test.mix")])


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite only: there a write set is several statements")
@pytest.mark.django_db(transaction=True)
def test_a_write_set_of_several_statements_must_run_in_a_transaction(city: City) -> None:
    assert WriteSet.needs_transaction() and not connection.in_atomic_block
    writes = WriteSet()
    writes.insert([build_event(actor=None, action="test.outside")])
    with pytest.raises(RuntimeError, match=r"inside transaction\.atomic"):
        writes.write()
    assert not Event.objects.filter(action="test.outside").exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_on_postgresql_a_write_set_is_one_query_and_all_or_nothing_by_itself(city: City) -> None:
    assert not WriteSet.needs_transaction() and not connection.in_atomic_block
    good = WriteSet()
    good.insert([build_event(actor=city.agent, action="test.one", subject_id=str(i)) for i in range(3)])
    good.insert([build_event(actor=None, action="test.one", note="100% 'quoted'; -- not SQL")])
    with CaptureQueriesContext(connection) as queries:
        good.write()
    assert len(queries) == 1
    assert Event.objects.filter(action="test.one").count() == 4
    assert Event.objects.filter(note="100% 'quoted'; -- not SQL").count() == 1
    taken = Event.objects.filter(action="test.one").first()
    assert taken is not None
    bad = WriteSet()
    bad.insert([build_event(actor=None, action="test.none")])
    clash = build_event(actor=None, action="test.none")
    clash.pk = taken.pk  # the last statement fails: the first must not be kept either
    bad.insert([clash])
    with pytest.raises(IntegrityError):
        bad.write()
    assert not Event.objects.filter(action="test.none").exists()
