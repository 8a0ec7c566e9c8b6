"""Former home of the plain-INSERT helpers, now in `gridcare.core.bulk`; these names keep old imports working
until the last callers (work-order intake) import from there."""

from gridcare.core.bulk import WriteSet, insert_many, next_id_sql

__all__ = ["WriteSet", "insert_many", "next_id_sql"]
