"""The bulk helpers store exactly what the ORM would, with columns from the models' metadata; every statement is
seen by query capture; write sets are all or nothing; numbers made from ids never collide."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from gridcare.core import fastinsert
from gridcare.core.audit import build_event, record_events
from gridcare.core.bulk import (
    Expression,
    Source,
    WriteSet,
    insert_many,
    insert_rows,
    insert_select,
    next_id_sql,
    update_from_arrays,
)
from gridcare.core.models import Event
from gridcare.customers.models import Customer
from gridcare.workorders.models import Deadline, WorkOrder
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


TRICKY_NOTE = "100% 'quoted'; -- not SQL \\'); DROP TABLE core_event; --"


def _tricky_write_set(city: City) -> WriteSet:
    writes = WriteSet()
    writes.insert([build_event(actor=city.agent, action="test.one", subject_id=str(i)) for i in range(3)])
    writes.insert([build_event(actor=None, action="test.one", note=TRICKY_NOTE, new={"x": "'); --"})])
    return writes


@pytest.mark.django_db(transaction=True)
def test_a_write_set_stores_quotes_and_separators_as_data_in_the_pinned_number_of_queries(city: City) -> None:
    writes = _tricky_write_set(city)
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        writes.write()
    statements = [q["sql"] for q in queries if q["sql"].startswith("INSERT")]
    # PostgreSQL: the two INSERTs travel as one query; SQLite: one query each, inside BEGIN … COMMIT.
    assert len(statements) == {"postgresql": 1, "sqlite": 2}[connection.vendor], statements
    assert Event.objects.filter(action="test.one").count() == 4
    stored = Event.objects.get(note=TRICKY_NOTE)
    assert stored.new == {"x": "'); --"}
    assert Event.objects.count() > 4  # the table is still there, with the city's own events


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_on_postgresql_a_write_set_is_one_query_and_all_or_nothing_by_itself(city: City) -> None:
    assert not WriteSet.needs_transaction() and not connection.in_atomic_block
    good = _tricky_write_set(city)
    with CaptureQueriesContext(connection) as queries:
        good.write()
    assert len(queries) == 1
    assert Event.objects.filter(action="test.one").count() == 4
    assert Event.objects.filter(note=TRICKY_NOTE).count() == 1
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


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_on_postgresql_a_pipelined_write_set_is_also_all_or_nothing(
    city: City, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(WriteSet, "PIPELINE", True)
    good = _tricky_write_set(city)
    good.write()
    assert Event.objects.get(note=TRICKY_NOTE).new == {"x": "'); --"}
    taken = Event.objects.filter(action="test.one").first()
    assert taken is not None
    bad = WriteSet()
    bad.insert([build_event(actor=None, action="test.none")])
    clash = build_event(actor=None, action="test.none")
    clash.pk = taken.pk
    bad.insert([clash])
    with pytest.raises(IntegrityError):
        bad.write()
    assert not Event.objects.filter(action="test.none").exists()


def test_the_old_module_name_still_gives_the_same_helpers() -> None:
    assert (fastinsert.WriteSet, fastinsert.insert_many, fastinsert.next_id_sql) == (
        WriteSet,
        insert_many,
        next_id_sql,
    )


def test_insert_rows_takes_attnames_and_python_values_and_fills_the_rest_with_defaults(city: City) -> None:
    at = dt.datetime(2026, 11, 27, 8, 30, tzinfo=dt.UTC)
    rows = [(at, city.agent.pk, "test.rows", "x", str(i), {"i": i, "名": "值"}) for i in range(3)]
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        written = insert_rows(Event, ["at", "actor_id", "action", "subject_type", "subject_id", "new"], rows)
    assert written == 3
    assert len([q for q in queries if "core_event" in q["sql"]]) == 1  # one COPY or one executemany, both seen
    stored = list(Event.objects.filter(action="test.rows").order_by("subject_id"))
    assert [(e.at, e.actor, e.subject_id, e.new, e.old, e.note, e.subject_label) for e in stored] == [
        (at, city.agent, str(i), {"i": i, "名": "值"}, None, "", "") for i in range(3)
    ]


def test_insert_rows_prepares_dates_and_decimals_like_the_orm(city: City) -> None:
    model = city.north_customer
    names = ["account_no", "name", "customer_type", "category", "voltage_level", "contract_kva", "address"]
    names += ["district", "area_class", "service_unit", "opened_on"]
    values = [getattr(model, n) for n in names[:5]] + [Decimal("12.5"), "地址"]
    values += [model.district_id, model.area_class, model.service_unit_id, dt.date(2024, 2, 29)]
    values[0] = "BULK-1"
    with transaction.atomic():
        insert_rows(Customer, names, [values])
    stored = Customer.objects.get(account_no="BULK-1")
    assert (stored.contract_kva, stored.opened_on, stored.is_sensitive) == (
        Decimal("12.5"),
        dt.date(2024, 2, 29),
        False,
    )


def test_insert_rows_refuses_unknown_columns_and_missing_required_values(city: City) -> None:
    with pytest.raises(ValueError, match="no column for 'colour'"):
        insert_rows(Event, ["colour"], [])
    with pytest.raises(ValueError, match=r"Event\.at has no default"):
        insert_rows(Event, ["action"], [("x",)])
    with pytest.raises(ValueError, match="a row has 1 values for 2 columns"), transaction.atomic():
        insert_rows(Event, ["at", "action"], [("x",)])


def test_update_from_arrays_sets_many_rows_in_one_statement(city: City) -> None:
    orders = [complaint(city, bj(2026, 11, 2, 9 + i)) for i in range(3)]
    deadlines = list(Deadline.objects.filter(order__in=orders).order_by("pk"))
    later = bj(2026, 12, 1, 9)
    with CaptureQueriesContext(connection) as queries:
        changed = update_from_arrays(
            Deadline,
            [d.pk for d in deadlines],
            {
                "state": ["overdue"] * len(deadlines),
                "escalation_level": list(range(len(deadlines))),
                "next_check_at": [later if i % 2 else None for i in range(len(deadlines))],
            },
        )
    assert changed == len(deadlines) and len(queries) == 1
    assert "deadline" in queries[0]["sql"]
    stored = list(Deadline.objects.filter(order__in=orders).order_by("pk"))
    assert [(d.state, d.escalation_level, d.next_check_at) for d in stored] == [
        ("overdue", i, later if i % 2 else None) for i in range(len(deadlines))
    ]


def test_update_from_arrays_leaves_rows_that_already_hold_the_values_when_asked(city: City) -> None:
    orders = [complaint(city, bj(2026, 11, 2, 9 + i)) for i in range(3)]
    ids = [o.pk for o in orders]
    assert update_from_arrays(type(orders[0]), ids[:1], {"is_overdue": [True]}, only_changed=True) == 1
    assert update_from_arrays(type(orders[0]), ids, {"is_overdue": [True] * 3}, only_changed=True) == 2
    assert update_from_arrays(type(orders[0]), ids, {"is_overdue": [True] * 3}) == 3


def test_update_from_arrays_refuses_arrays_of_different_lengths(city: City) -> None:
    with pytest.raises(ValueError, match="state: 1 values for 2 rows"):
        update_from_arrays(Deadline, [1, 2], {"state": ["met"]})


def test_insert_select_writes_a_row_per_source_row_with_constants_and_defaults(city: City) -> None:
    at = dt.datetime(2026, 11, 27, 8, 30, tzinfo=dt.UTC)
    source = Customer.objects.filter(service_unit=city.north).order_by().values("id", "name")
    with CaptureQueriesContext(connection) as queries:
        written = insert_select(
            Event,
            source,
            {
                "at": at,
                "action": "test.select",
                "subject_type": "customers.customer",
                "subject_id": Source("id"),
                "subject_label": Expression("'户：' || src.name"),
                "new": {"reason": "停电通知"},
            },
        )
    assert len(queries) == 1
    expected = {str(pk): f"户：{name}" for pk, name in source.values_list("id", "name")}
    assert written == len(expected) > 0
    stored = Event.objects.filter(action="test.select")
    assert {e.subject_id: e.subject_label for e in stored} == expected
    assert [(e.at, e.new, e.note, e.actor_id) for e in stored] == [(at, {"reason": "停电通知"}, "", None)] * written


@pytest.mark.postgres
def test_on_postgresql_copy_goes_through_query_capture_and_fails_as_django_errors(city: City) -> None:
    taken = Event.objects.first()
    assert taken is not None
    with CaptureQueriesContext(connection) as queries:
        insert_rows(Event, ["at", "action", "subject_type", "subject_id"], [(taken.at, "test.copy", "x", "1")])
    assert [q["sql"][:4] for q in queries] == ["COPY"]
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_rows(Event, ["id", "at", "action", "subject_type", "subject_id"], [(taken.pk, taken.at, "a", "x", "1")])
