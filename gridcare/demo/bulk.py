"""Fast bulk inserts for the demo loader: COPY on PostgreSQL, `executemany` elsewhere (SQLite).

Django's `bulk_create` builds a model instance per row, which costs minutes at a million rows; these helpers
take plain tuples in the order of the given field names, with explicit primary keys, so the caller knows every
id up front and can write the matching analytics files at the same time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, cast

from django.core.management.color import no_style
from django.db import connection, models

BATCH = 20_000


def next_id(model: type[models.Model]) -> int:
    """The first free primary key; explicit keys from here on cannot clash with existing rows."""
    top = model._default_manager.aggregate(top=models.Max("pk"))["top"]
    return int(top or 0) + 1


def _batches(rows: Iterable[Sequence[Any]], size: int) -> Iterator[list[Sequence[Any]]]:
    batch: list[Sequence[Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _defaults(model: type[models.Model], fields: Sequence[str]) -> tuple[list[str], tuple[Any, ...]]:
    """Columns the caller did not give, with their model defaults in database form.

    Raw inserts skip Django's Python-side defaults, so a field added to a model later would otherwise hit
    NOT NULL; filling them here keeps the loader working as the models grow.
    """
    given = set(fields)
    names, values = [], []
    for field in model._meta.concrete_fields:
        if field.primary_key or field.name in given or field.attname in given:
            continue
        value = field.get_default()  # "" for text fields without a default, None for the rest
        if value is None and not field.null:
            raise ValueError(f"{model.__name__}.{field.name} has no default: the demo loader must fill it in")
        names.append(field.name)
        values.append(field.get_db_prep_save(value, connection))
    return names, tuple(values)


def insert_rows(model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Insert tuples (values in the order of `fields`, model field names); returns the number of rows.

    Values must already be in database form: str for dates and decimals, bool, int, float or None. Fields
    not named get their model default.
    """
    meta = model._meta
    extra_names, extra_values = _defaults(model, fields)
    if extra_names:
        fields = [*fields, *extra_names]
        rows = (tuple(row) + extra_values for row in rows)
    qn = connection.ops.quote_name
    columns = ", ".join(qn(str(cast(models.Field, meta.get_field(name)).column)) for name in fields)
    table = qn(meta.db_table)
    count = 0
    with connection.cursor() as cursor:
        raw = cursor.cursor
        if connection.vendor == "postgresql" and hasattr(raw, "copy"):
            # psycopg 3: COPY is several times faster than INSERT for bulk loads.
            with raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
            return count
        placeholders = ", ".join(["%s"] * len(fields))
        sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"  # noqa: S608 - names from model meta
        for batch in _batches(rows, BATCH):
            cursor.executemany(sql, batch)
            count += len(batch)
    return count


def reset_sequences(model_list: Sequence[type[models.Model]]) -> None:
    """After explicit keys, move PostgreSQL's sequences past them (SQLite's AUTOINCREMENT follows by itself)."""
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
