"""Plain INSERT statements for the hottest write paths, built from the models' own field definitions.

`Model.objects.create` and `bulk_create` spend most of a millisecond per call compiling SQL in Python; work-order
intake writes three tables per request, hundreds of times a second. These helpers write the same columns with
the same value preparation (`Field.pre_save` and `get_db_prep_save`, so JSON, datetimes and choices are
stored exactly as the ORM would store them) in one prepared statement each, on whatever database is configured.
They do not send signals (GridCare uses none on these models) and do not run model validation: the services
that call them validate first.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from django.db import connection, models


@cache
def _columns(model: type[models.Model]) -> tuple[list[models.Field[Any, Any]], str]:
    """The columns written (all but the primary key, which the database assigns) and the INSERT's head."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    # Only identifiers from the model's metadata are formatted in; values always go as parameters.
    columns = ", ".join(quote(f.column) for f in fields)
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


@cache
def _numbered_sql(model: type[models.Model], number_field: str, width: int) -> tuple[str, int]:
    """The INSERT for `insert_numbered` and the position of the number among the parameters, built once."""
    quote = connection.ops.quote_name
    pk = model._meta.pk
    if pk is None:  # pragma: no cover - every concrete model has one
        raise TypeError(f"{model} has no primary key")
    fields = _columns(model)[0]
    table, pk_col = quote(model._meta.db_table), quote(pk.column)
    cols = ", ".join([pk_col] + [quote(f.column) for f in fields])
    if connection.vendor == "postgresql":
        # nextval() is taken once, in the subquery, so the id and the number made from it agree.
        source = f"SELECT nextval(pg_get_serial_sequence('{model._meta.db_table}', '{pk.column}')) AS id"
        number = f"%s || lpad(n.id::text, {int(width)}, '0')"
    else:
        # SQLite writes one transaction at a time (GridCare begins them IMMEDIATE), so the next id is the larger
        # of the AUTOINCREMENT counter and the highest id, plus one.
        source = (
            f"SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = '{model._meta.db_table}'), 0), "  # noqa: S608
            f"COALESCE((SELECT MAX({pk_col}) FROM {table}), 0)) + 1 AS id"
        )
        number = f"%s || printf('%%0{int(width)}d', n.id)"
    position = next(i for i, f in enumerate(fields) if f.name == number_field)
    exprs = [number if i == position else "%s" for i in range(len(fields))]
    sql = f"INSERT INTO {table} ({cols}) SELECT n.id, {', '.join(exprs)} FROM ({source}) n RETURNING {pk_col}"  # noqa: S608
    return sql, position


def insert_numbered(obj: models.Model, *, number_field: str, prefix: str, width: int = 8) -> str:
    """INSERT one unsaved object, set its primary key, and store `prefix` + the new id zero-padded to `width` in
    `number_field` by the same statement — a customer-facing number derived from the id without a second
    UPDATE. Returns the number."""
    sql, position = _numbered_sql(type(obj), number_field, width)
    params = _fast_row(obj)
    params[position] = prefix
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        obj.pk = cursor.fetchone()[0]
    value = f"{prefix}{obj.pk:0{width}d}"
    setattr(obj, number_field, value)
    obj._state.adding = False
    obj._state.db = connection.alias
    return value
