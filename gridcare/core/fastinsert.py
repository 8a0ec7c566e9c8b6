"""Plain INSERT statements for the hottest write paths, built from the models' own field definitions.

`Model.objects.create` and `bulk_create` spend most of a millisecond per call compiling SQL in Python; work-order
intake writes three tables per request, hundreds of times a second. These helpers write the same columns with
the same value preparation (`Field.pre_save` and `get_db_prep_save`, so JSON, datetimes and choices are
stored exactly as the ORM would store them) in one prepared statement each, on whatever database is configured;
`WriteSet` sends the statements of one change to PostgreSQL in a single round trip.
They do not send signals (GridCare uses none on these models) and do not run model validation: the services
that call them validate first.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from django.db import connection, models


@cache
def _columns(model: type[models.Model], with_pk: bool = False) -> tuple[list[models.Field[Any, Any]], str]:
    """The columns written (all but the primary key, which the database assigns) and the INSERT's head; with
    `with_pk` the head names the primary key's column first (its value comes from the caller, not the fields)."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    # Only identifiers from the model's metadata are formatted in; values always go as parameters.
    pk = model._meta.pk
    names = ([pk.column] if with_pk and pk is not None else []) + [f.column for f in fields]
    columns = ", ".join(quote(name) for name in names)
    head = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES "  # noqa: S608
    return fields, head


# Field types whose stored value is the attribute itself once the service has set a value of the right type
# (text, numbers, booleans, foreign-key ids): calling get_db_prep_save on each of them for every row was the
# biggest cost of an intake INSERT.
_AS_IS = (
    models.CharField,
    models.TextField,
    models.IntegerField,
    models.BooleanField,
    models.FloatField,
    models.ForeignKey,
)
_AS_IS_VALUE = (str, int, float, bool, type(None))


def _preparer(field: models.Field[Any, Any]) -> Any:
    """How to turn an object's attribute into the value to store: the ORM's own preparation, with shortcuts
    for the plain types above (taken only when the value has the expected type) and for aware datetimes."""
    attname = field.attname

    def generic(obj: models.Model) -> Any:
        return field.get_db_prep_save(field.pre_save(obj, True), connection=connection)

    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return generic
    if isinstance(field, _AS_IS):

        def as_is(obj: models.Model) -> Any:
            value = getattr(obj, attname)
            return value if type(value) in _AS_IS_VALUE else generic(obj)

        return as_is
    if type(field) is models.DateTimeField:
        adapt = connection.ops.adapt_datetimefield_value

        def moment(obj: models.Model) -> Any:
            value = getattr(obj, attname)
            return adapt(value) if value is None or value.tzinfo is not None else generic(obj)

        return moment
    return generic


@cache
def _preparers(model: type[models.Model]) -> list[Any]:
    return [_preparer(f) for f in _columns(model)[0]]


def _fast_row(obj: models.Model) -> list[Any]:
    return [prepare(obj) for prepare in _preparers(type(obj))]


def insert_many(objs: Sequence[models.Model]) -> None:
    """INSERT the unsaved objects (all of one model), as few statements as the databases' parameter limits
    allow, and set their primary keys from RETURNING (row order, as Django's own bulk_create relies on)."""
    if not objs:
        return
    model = type(objs[0])
    fields, head = _columns(model)
    pk = model._meta.pk
    if pk is None:  # pragma: no cover - every concrete model has one
        raise TypeError(f"{model} has no primary key")
    returning = f" RETURNING {connection.ops.quote_name(pk.column)}"
    placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
    batch = max(1, 30_000 // max(1, len(fields)))  # SQLite allows 32,766 parameters a statement, PostgreSQL 65,535
    with connection.cursor() as cursor:
        for start in range(0, len(objs), batch):
            chunk = objs[start : start + batch]
            params: list[Any] = []
            for obj in chunk:
                params += _fast_row(obj)
            cursor.execute(head + ", ".join([placeholders] * len(chunk)) + returning, params)
            for obj, (new_pk,) in zip(chunk, cursor.fetchall(), strict=True):
                obj.pk = new_pk
                obj._state.adding = False
                obj._state.db = connection.alias


def next_id_sql(model: type[models.Model]) -> str:
    """An SQL expression giving the id the next row of `model` will have, so that a service can know an id (and
    the customer-facing number made from it) before it writes anything that refers to it.

    PostgreSQL takes it from the table's sequence: every call a new id, never given twice, even between
    concurrent transactions. SQLite has no sequence to draw from: the next id is the larger of the AUTOINCREMENT
    counter and the highest id, plus one, which is only safe while the caller holds SQLite's write lock — inside
    a transaction, which GridCare begins IMMEDIATE (settings), until the row is written.
    """
    pk = model._meta.pk
    if pk is None:  # pragma: no cover - every concrete model has one
        raise TypeError(f"{model} has no primary key")
    table = model._meta.db_table
    if connection.vendor == "postgresql":
        return f"nextval(pg_get_serial_sequence('{table}', '{pk.column}'))"
    quote = connection.ops.quote_name
    return (
        f"MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = '{table}'), 0), "  # noqa: S608
        f"COALESCE((SELECT MAX({quote(pk.column)}) FROM {quote(table)}), 0)) + 1"
    )


class WriteSet:
    """The rows and statements of one change, written together in the order they were added.

    On PostgreSQL with client-side binding (Django's default) they go to the server as ONE query string of
    several statements: one round trip, and, when no transaction is open, run by the server as one implicit
    transaction — all of it or none of it (PostgreSQL's simple query protocol). Work-order intake spent six to
    eight round trips per order on BEGIN, each INSERT and COMMIT, and each cost CPU on both sides; this is the
    hottest write of the system. Elsewhere (SQLite; or server-side binding, which cannot carry several
    statements) they run one after another, so the caller must hold a transaction there: `needs_transaction()`
    says when.

    Rows given with their primary key set are written with it (ids reserved with `next_id_sql`); rows without
    one get theirs from the database and are not read back (a multi-statement query returns no RETURNING to
    the caller): use `insert_many` when the new ids are needed.
    """

    def __init__(self) -> None:
        self._statements: list[tuple[str, list[Any]]] = []
        self._rows: list[models.Model] = []

    @staticmethod
    def needs_transaction() -> bool:
        """True when `write()` is several round trips that the caller has to wrap in `transaction.atomic`."""
        return connection.vendor != "postgresql" or bool(
            connection.settings_dict.get("OPTIONS", {}).get("server_side_binding")
        )

    def insert(self, objs: Sequence[models.Model]) -> None:
        """INSERT the unsaved objects (all of one model; all with their primary key set, or none)."""
        if not objs:
            return
        model = type(objs[0])
        with_pk = objs[0].pk is not None
        if any((obj.pk is not None) != with_pk for obj in objs):
            raise ValueError(f"{model.__name__}: give every row its primary key, or none")
        fields, head = _columns(model, with_pk=with_pk)
        width = len(fields) + with_pk
        placeholders = "(" + ", ".join(["%s"] * width) + ")"
        batch = max(1, 30_000 // width)
        for start in range(0, len(objs), batch):
            chunk = objs[start : start + batch]
            params: list[Any] = []
            for obj in chunk:
                if with_pk:
                    params.append(obj.pk)
                params += _fast_row(obj)
            self._statements.append((head + ", ".join([placeholders] * len(chunk)), params))
        self._rows += objs

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Any other statement (an UPDATE, say), with %s placeholders and no statement separator of its own."""
        self._statements.append((sql, list(params)))

    def write(self) -> None:
        if not self._statements:
            return
        several = self.needs_transaction()
        if several and not connection.in_atomic_block:
            raise RuntimeError("WriteSet.write() on this database must run inside transaction.atomic()")
        with connection.cursor() as cursor:
            if several:
                for sql, params in self._statements:
                    cursor.execute(sql, params)
            else:
                # Each statement is bound on its own (psycopg caches the parsing of short statements with few
                # parameters; the joined query, with a hundred, would be parsed afresh every time), then the
                # bound statements go as one query with no parameters left to bind.
                bind = cursor.cursor.mogrify
                cursor.execute(";\n".join(bind(sql, params) for sql, params in self._statements))
        for obj in self._rows:
            obj._state.adding = False
            obj._state.db = connection.alias
        self._statements, self._rows = [], []
