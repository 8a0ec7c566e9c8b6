"""A saved segment as the audience of a notice: the customers in it now (the whole company's view;
the notice's own permission check decides who may send to them)."""

from __future__ import annotations

from collections.abc import Iterable

from gridcare.core.errors import ServiceError
from gridcare.tags import selectors


class _Everyone:
    is_authenticated = True
    sees_everything = True


def segment_audience(segment_id: str) -> Iterable[int]:
    try:
        segment = selectors.segment_get(int(segment_id))
    except (ValueError, TypeError):
        raise ServiceError(f"客户群编号 {segment_id!r} 无效", field="segment") from None
    return list(selectors.segment_bitmap(user=_Everyone(), expression=segment.expression))
