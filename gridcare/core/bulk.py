"""Every bulk write of GridCare in one place: insert many rows, COPY, update many rows from arrays, insert-select,
and the write sets of work-order intake — all driven by the models' own field definitions.

`Model.objects.create`, `bulk_create` and `bulk_update` spend most of their time compiling SQL in Python; the hot
paths (intake, the deadline pass, the demo loader, queueing notices) write thousands of rows a second. These
helpers write the same columns with the same value preparation as the ORM: the column list always comes from
`_meta` (concrete fields, `db_column`, foreign keys' `_id` columns, defaults for fields the caller leaves out),
every value goes through its field's `get_db_prep_value`, and identifiers are quoted by the connection. So a
field added to a model later is written here too, and nothing is formatted into SQL but names from `_meta`.

Every statement runs through Django's cursor wrapper (`connection.cursor()`), so query capture
(`CaptureQueriesContext`, `assertNumQueries`) and Django's error translation see all of them, COPY included.
The helpers send no signals (GridCare uses none on these models) and run no model validation: the services that
call them validate first.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from django.db import connection, models
from django.db.models import QuerySet

if TYPE_CHECKING:
    Field = models.Field[Any, Any]

# SQLite allows 32,766 parameters a statement, PostgreSQL 65,535: statements are cut to stay under both.
MAX_PARAMS = 30_000
# Rows per executemany/COPY batch when rows come from a generator (bounded memory at a million rows).
ROW_BATCH = 20_000


# ---- Columns and values from the model's metadata ----------------------------------------------------------


def _field(model: type[models.Model], name: str) -> Field:
    """A concrete field by name or attname (`unit` and `unit_id` both name the foreign key's column)."""
    meta = model._meta
    for field in meta.concrete_fields:
        if name in (field.name, field.attname):
            return field
    raise ValueError(f"{model.__name__} has no column for {name!r}")


@cache
def _insert_fields(model: type[models.Model]) -> tuple[Field, ...]:
    """The columns an INSERT writes when the database assigns the primary key."""
    return tuple(f for f in model._meta.concrete_fields if not f.primary_key)


def _pk(model: type[models.Model]) -> Field:
    pk = model._meta.pk
    if pk is None:  # pragma: no cover - every concrete model has one
        raise TypeError(f"{model} has no primary key")
    return pk


def _quoted(fields: Iterable[Field]) -> str:
    quote = connection.ops.quote_name
    return ", ".join(quote(f.column) for f in fields)


def _table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


# Field types whose database value is the Python value itself when it already has a plain type: calling
# get_db_prep_value on each of them for every row was the largest cost of an intake INSERT. A value of any
# other type (a lazy string, a model instance, an enum member of another type) still goes through the field.
_AS_IS = (
    models.CharField,
    models.TextField,
    models.IntegerField,
    models.BooleanField,
    models.FloatField,
    models.ForeignKey,
)
_AS_IS_VALUE = (str, int, float, bool, type(None))


def _adapter(field: Field) -> Callable[[Any], Any]:
    """How a value given for `field` becomes the value to store: the field's own `get_db_prep_value`, with
    shortcuts that give the same result for plain values and aware datetimes."""
    conn = connection

    def prepared(value: Any) -> Any:
        return field.get_db_prep_value(value, connection=conn, prepared=False)

    if isinstance(field, _AS_IS):

        def as_is(value: Any) -> Any:
            return value if type(value) in _AS_IS_VALUE else prepared(value)

        return as_is
    if type(field) is models.DateTimeField:
        adapt = conn.ops.adapt_datetimefield_value

        def moment(value: Any) -> Any:
            return adapt(value) if value is None or getattr(value, "tzinfo", None) is not None else prepared(value)

        return moment
    return prepared


def _copy_adapter(field: Field) -> Callable[[Any], Any]:
    """As `_adapter`, for COPY's text format: a JSON value goes as its text, encoded as the ORM's SQLite and
    base backends encode it (`json.dumps` with the field's encoder). PostgreSQL's own adaptation wraps each
    value in a `Jsonb` object, which made COPY of a batch of events two to three times slower (bench)."""
    if isinstance(field, models.JSONField):
        encoder = field.encoder

        def as_text(value: Any) -> Any:
            return None if value is None else json.dumps(value, cls=encoder)

        return as_text
    return _adapter(field)


def _preparer(field: Field) -> Callable[[models.Model], Any]:
    """How an unsaved object's attribute becomes the value to store, as `Model.save()` would do it
    (`pre_save` fills auto_now fields, then `get_db_prep_save`)."""
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):

        def generic(obj: models.Model) -> Any:
            return field.get_db_prep_save(field.pre_save(obj, True), connection=connection)

        return generic
    attname, adapt = field.attname, _adapter(field)
    return lambda obj: adapt(getattr(obj, attname))


@cache
def _preparers(model: type[models.Model]) -> tuple[Callable[[models.Model], Any], ...]:
    return tuple(_preparer(f) for f in _insert_fields(model))


def _object_row(obj: models.Model) -> list[Any]:
    return [prepare(obj) for prepare in _preparers(type(obj))]


def _default(field: Field) -> Any:
    """The value stored for a field the caller leaves out: the model's default, in database form."""
    value = field.get_default()  # "" for text fields without a default, None for the rest
    if value is None and not field.null:
        raise ValueError(f"{field.model.__name__}.{field.name} has no default: give it a value")
    return field.get_db_prep_save(value, connection)


@dataclass(frozen=True)
class _Layout:
    """The columns of a write given as tuples: the fields named by the caller, then every other concrete field
    (except an automatic primary key) with its default."""

    fields: tuple[Field, ...]
    adapters: tuple[Callable[[Any], Any], ...]
    defaults: tuple[Any, ...]


def _layout(model: type[models.Model], names: Sequence[str], *, copy: bool = False) -> _Layout:
    given = [_field(model, name) for name in names]
    if len(set(given)) != len(given):
        raise ValueError(f"{model.__name__}: a column is named twice in {list(names)}")
    rest = [f for f in model._meta.concrete_fields if f not in given and not f.primary_key]
    return _Layout(
        fields=(*given, *rest),
        adapters=tuple((_copy_adapter if copy else _adapter)(f) for f in given),
        defaults=tuple(_default(f) for f in rest),
    )


def _rows(layout: _Layout, rows: Iterable[Sequence[Any]]) -> Iterator[tuple[Any, ...]]:
    adapters, defaults = layout.adapters, layout.defaults
    width = len(adapters)
    for row in rows:
        if len(row) != width:
            raise ValueError(f"a row has {len(row)} values for {width} columns")
        yield (*(adapt(value) for adapt, value in zip(adapters, row, strict=True)), *defaults)


def _batches(rows: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


# ---- Running statements where Django sees them -------------------------------------------------------------


def _copy(cursor: Any, sql: str, rows: Iterable[Sequence[Any]]) -> int:
    """PostgreSQL COPY … FROM STDIN on the driver cursor inside Django's wrapper. COPY is not an `execute`, so
    the wrapper does not log it by itself: it is logged here like any other query (when queries are being
    captured), and its errors become Django's (IntegrityError …) as an execute's would."""
    count = 0

    def run() -> None:
        nonlocal count
        with connection.wrap_database_errors, cursor.cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
                count += 1

    if hasattr(cursor, "debug_sql"):  # CursorDebugWrapper: DEBUG, or queries being captured
        with cursor.debug_sql(sql):
            run()
    else:
        run()
    return count


def can_copy() -> bool:
    return connection.vendor == "postgresql"


# ---- Insert many objects -----------------------------------------------------------------------------------


def insert_many(objs: Sequence[models.Model]) -> None:
    """INSERT the unsaved objects (all of one model), as few statements as the parameter limits allow, and set
    their primary keys from RETURNING (row order, as Django's own bulk_create relies on)."""
    if not objs:
        return
    model = type(objs[0])
    fields = _insert_fields(model)
    returning = f" RETURNING {connection.ops.quote_name(_pk(model).column)}"
    head = f"INSERT INTO {_table(model)} ({_quoted(fields)}) VALUES "  # noqa: S608 - names from _meta
    placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
    batch = max(1, MAX_PARAMS // max(1, len(fields)))
    with connection.cursor() as cursor:
        for start in range(0, len(objs), batch):
            chunk = objs[start : start + batch]
            params: list[Any] = []
            for obj in chunk:
                params += _object_row(obj)
            cursor.execute(head + ", ".join([placeholders] * len(chunk)) + returning, params)
            for obj, (new_pk,) in zip(chunk, cursor.fetchall(), strict=True):
                obj.pk = new_pk
                obj._state.adding = False
                obj._state.db = connection.alias


# ---- Insert rows (tuples), COPY on PostgreSQL --------------------------------------------------------------


def insert_rows(model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Insert plain tuples (values in the order of `fields`, field names or attnames; a primary key may be
    among them) and return how many rows were written. Fields not named get their model default.

    PostgreSQL: COPY, several times faster than INSERT for large batches (the demo loader, the deadline pass's
    events). Elsewhere (SQLite): `executemany` of one prepared INSERT, run in C in-process."""
    layout = _layout(model, fields, copy=can_copy())
    values = _rows(layout, rows)
    head = f"{_table(model)} ({_quoted(layout.fields)})"
    with connection.cursor() as cursor:
        if can_copy():
            return _copy(cursor, f"COPY {head} FROM STDIN", values)
        placeholders = ", ".join(["%s"] * len(layout.fields))
        sql = f"INSERT INTO {head} VALUES ({placeholders})"  # noqa: S608 - names from _meta
        count = 0
        for batch in _batches(values, ROW_BATCH):
            cursor.executemany(sql, batch)
            count += len(batch)
        return count


# ---- Update many rows from parallel arrays -----------------------------------------------------------------


def update_from_arrays(
    model: type[models.Model],
    ids: Sequence[Any],
    columns: Mapping[str, Sequence[Any]],
    *,
    only_changed: bool = False,
) -> int:
    """One statement that sets each named column of row `ids[i]` to `columns[name][i]`; returns the rows changed.

    PostgreSQL: `UPDATE … FROM unnest(%s::bigint[], …)`, one array parameter a column instead of a statement
    (or a placeholder) a row. SQLite: `UPDATE … FROM (VALUES …)`, batched under the parameter limit.
    `only_changed` leaves rows alone whose columns already hold the new values (no new row version on
    PostgreSQL, no work for nothing)."""
    if not ids:
        return 0
    pk = _pk(model)
    fields = [_field(model, name) for name in columns]
    if not fields:
        raise ValueError("update_from_arrays needs at least one column to set")
    arrays = [list(columns[name]) for name in columns]
    for name, values in zip(columns, arrays, strict=True):
        if len(values) != len(ids):
            raise ValueError(f"{name}: {len(values)} values for {len(ids)} rows")
    key_adapt = _adapter(pk)
    keys = [key_adapt(k) for k in ids]
    adapted = [[adapt(v) for v in values] for adapt, values in zip(map(_adapter, fields), arrays, strict=True)]
    quote = connection.ops.quote_name
    table = _table(model)
    postgres = connection.vendor == "postgresql"
    if not postgres and connection.vendor != "sqlite":  # pragma: no cover - GridCare runs on these two
        raise NotImplementedError(f"update_from_arrays on {connection.vendor}")
    # SQLite names the columns of a VALUES list column1, column2, …; PostgreSQL's unnest gets names here.
    names = (
        [f"c{i}" for i in range(len(fields) + 1)] if postgres else [f"column{i + 1}" for i in range(len(fields) + 1)]
    )
    sets = ", ".join(f"{quote(f.column)} = v.{name}" for f, name in zip(fields, names[1:], strict=True))
    where = f"t.{quote(pk.column)} = v.{names[0]}"
    if only_changed:
        # SQLite's IS NOT is PostgreSQL's IS DISTINCT FROM: NULL-safe inequality.
        differs = " IS DISTINCT FROM " if postgres else " IS NOT "
        where += (
            " AND ("
            + " OR ".join(f"t.{quote(f.column)}{differs}v.{n}" for f, n in zip(fields, names[1:], strict=True))
            + ")"
        )
    with connection.cursor() as cursor:
        if postgres:
            types = [pk.rel_db_type(connection), *(f.db_type(connection) for f in fields)]  # type: ignore[attr-defined]
            unnest = ", ".join(f"%s::{t}[]" for t in types)
            sql = f"UPDATE {table} AS t SET {sets} FROM unnest({unnest}) AS v({', '.join(names)}) WHERE {where}"  # noqa: S608
            cursor.execute(sql, [keys, *adapted])
            return int(cursor.rowcount)
        width = len(names)
        rows = list(zip(keys, *adapted, strict=True))
        row_sql = "(" + ", ".join(["%s"] * width) + ")"
        batch = max(1, MAX_PARAMS // width)
        changed = 0
        for start in range(0, len(rows), batch):
            chunk = rows[start : start + batch]
            placeholders = ", ".join([row_sql] * len(chunk))
            sql = f"UPDATE {table} AS t SET {sets} FROM (VALUES {placeholders}) AS v WHERE {where}"  # noqa: S608
            cursor.execute(sql, [value for row in chunk for value in row])
            changed += int(cursor.rowcount)
        return changed


# ---- Insert … select ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """A column of the SELECT that feeds `insert_select` (`Source("id")` is the `id` its query selects)."""

    column: str


@dataclass(frozen=True)
class Expression:
    """An SQL expression over the source's columns (written `src.name`), with %s parameters."""

    sql: str
    params: Sequence[Any] = ()


def insert_select(
    model: type[models.Model],
    source: QuerySet[Any] | tuple[str, Sequence[Any]],
    values: Mapping[str, Any],
    *,
    joins: str = "",
    join_params: Sequence[Any] = (),
) -> int:
    """`INSERT INTO model (…) SELECT … FROM (source) src`: one statement writing a row per row of `source`.

    `values` maps field names to a `Source` column, an `Expression`, or a constant (bound as a parameter after
    its field's preparation); fields not named get their model default. `source` is a queryset (its SQL and
    parameters from the ORM) or SQL with parameters; `joins` may add joins on `src` (names from the caller's
    models, values as `join_params`). Returns the number of rows written."""
    source_sql, source_params = source.query.sql_with_params() if isinstance(source, QuerySet) else source
    layout = _layout(model, list(values))
    quote = connection.ops.quote_name
    select: list[str] = []
    params: list[Any] = []
    for adapt, value in zip(layout.adapters, values.values(), strict=True):
        if isinstance(value, Source):
            select.append(f"src.{quote(value.column)}")
        elif isinstance(value, Expression):
            select.append(value.sql)
            params += value.params
        else:
            select.append("%s")
            params.append(adapt(value))
    for default in layout.defaults:
        select.append("%s")
        params.append(default)
    sql = (
        f"INSERT INTO {_table(model)} ({_quoted(layout.fields)}) "  # noqa: S608 - names from _meta, values bound
        f"SELECT {', '.join(select)} FROM ({source_sql}) src{joins}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *source_params, *join_params])
        return int(cursor.rowcount)


# ---- Reserved ids and write sets ---------------------------------------------------------------------------


def next_id_sql(model: type[models.Model]) -> str:
    """An SQL expression giving the id the next row of `model` will have, so that a service can know an id (and
    the customer-facing number made from it) before it writes anything that refers to it.

    PostgreSQL takes it from the table's sequence: every call a new id, never given twice, even between
    concurrent transactions. SQLite has no sequence to draw from: the next id is the larger of the AUTOINCREMENT
    counter and the highest id, plus one, which is only safe while the caller holds SQLite's write lock — inside
    a transaction, which GridCare begins IMMEDIATE (settings), until the row is written.
    """
    pk = _pk(model)
    table = model._meta.db_table
    if connection.vendor == "postgresql":
        return f"nextval(pg_get_serial_sequence('{table}', '{pk.column}'))"
    quote = connection.ops.quote_name
    return (
        f"MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = '{table}'), 0), "  # noqa: S608
        f"COALESCE((SELECT MAX({quote(pk.column)}) FROM {quote(table)}), 0)) + 1"
    )


def next_id(model: type[models.Model]) -> int:
    """The first primary key above every existing row: explicit keys from here on cannot clash with them (for
    one writer loading a batch, like the demo loader; concurrent writers reserve with `next_id_sql`)."""
    top = model._default_manager.aggregate(top=models.Max("pk"))["top"]
    return int(top or 0) + 1


class WriteSet:
    """The rows and statements of one change, written together in the order they were added.

    On PostgreSQL with client-side binding (Django's default) they go to the server as ONE query string of
    several statements: one round trip, and, when no transaction is open, run by the server as one implicit
    transaction — all of it or none of it (PostgreSQL's simple query protocol). Work-order intake spent six to
    eight round trips per order on BEGIN, each INSERT and COMMIT, and each cost CPU on both sides; this is the
    hottest write of the system. psycopg's pipeline mode (every statement bound by the server, one round trip)
    was measured against this in bench/bench_bulk.py and was slower per write set (`PIPELINE` switches it on
    for that comparison). Elsewhere (SQLite; or server-side binding, which cannot carry several statements)
    they run one after another, so the caller must hold a transaction there: `needs_transaction()` says when.

    Rows given with their primary key set are written with it (ids reserved with `next_id_sql`); rows without
    one get theirs from the database and are not read back (a multi-statement query returns no RETURNING to
    the caller): use `insert_many` when the new ids are needed.
    """

    PIPELINE = False

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
        fields = ((_pk(model),) if with_pk else ()) + _insert_fields(model)
        head = f"INSERT INTO {_table(model)} ({_quoted(fields)}) VALUES "  # noqa: S608 - names from _meta
        placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
        key = _adapter(_pk(model))
        batch = max(1, MAX_PARAMS // len(fields))
        for start in range(0, len(objs), batch):
            chunk = objs[start : start + batch]
            params: list[Any] = []
            for obj in chunk:
                if with_pk:
                    params.append(key(obj.pk))
                params += _object_row(obj)
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
            elif self.PIPELINE:
                self._pipelined(cursor)
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

    def _pipelined(self, cursor: Any) -> None:
        """The statements in psycopg's pipeline mode: one round trip, and one implicit transaction up to the
        pipeline's single Sync, so still all or nothing."""
        with connection.wrap_database_errors, connection.connection.pipeline():
            for sql, params in self._statements:
                cursor.execute(sql, params)


# ---- Loading -----------------------------------------------------------------------------------------------


def reset_sequences(model_list: Sequence[type[models.Model]]) -> None:
    """After rows with explicit keys, move PostgreSQL's sequences past them (SQLite's AUTOINCREMENT follows)."""
    from django.core.management.color import no_style

    statements = connection.ops.sequence_reset_sql(no_style(), list(model_list))
    if statements:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)


@contextlib.contextmanager
def fast_sqlite() -> Iterator[None]:
    """A larger page cache while loading: index inserts for a million rows stay in memory instead of re-reading."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        before = cursor.fetchone()[0]
        cursor.execute("PRAGMA cache_size = -524288")  # 512 MiB, given in KiB
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(before)}")
