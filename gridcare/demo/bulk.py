"""Fast bulk inserts for the demo loader, on `gridcare.core.bulk`: COPY on PostgreSQL, `executemany` elsewhere.

Django's `bulk_create` builds a model instance per row, which costs minutes at a million rows; the loader gives
plain tuples in the order of the field names it names, with explicit primary keys (from `next_id`), so it knows
every id up front and can write the matching analytics files at the same time. Fields it does not name get
their model defaults, so the loader keeps working as the models grow.
"""

from gridcare.core.bulk import fast_sqlite, insert_rows, next_id, reset_sequences

__all__ = ["fast_sqlite", "insert_rows", "next_id", "reset_sequences"]
