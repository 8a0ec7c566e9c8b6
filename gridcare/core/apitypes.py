"""Parameter types shared by every API endpoint: pages, object ids, instants and dates.

Each bound exists because the value otherwise reaches a place that fails with a 500: an offset or id beyond a
64-bit integer overflows SQLite and PostgreSQL, and an instant before 1901 gets a local-mean-time offset
(Asia/Shanghai was +08:05:43 then) that no client can parse, or overflows when converted to UTC near year 1 or
9999. Declaring them as types puts the bound in the OpenAPI document too, so clients and the fuzz test see it.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from django.conf import settings
from django.utils import timezone
from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_core import PydanticCustomError

# The largest integer both SQLite and PostgreSQL (bigint) store; ids and counts above it cannot exist.
DB_INT_MAX = 2**63 - 1
# Far beyond any table GridCare holds, and small enough that offset + limit never overflows.
PAGE_OFFSET_MAX = 10**9
YEAR_MIN, YEAR_MAX = 1901, 9999

# The pydantic error type of an instant or date outside YEAR_MIN..YEAR_MAX: the API answers it with 400 (a value
# that parses but is not acceptable), like the services' own refusals, and a malformed value with 422.
RANGE_ERROR = "gridcare_out_of_range"

Offset = Annotated[int, Field(ge=0, le=PAGE_OFFSET_MAX, description=f"跳过的条数（0–{PAGE_OFFSET_MAX}）")]
Limit = Annotated[
    int,
    Field(
        ge=1,
        le=settings.GRIDCARE_API_PAGE_MAX,
        description=f"每页条数（1–{settings.GRIDCARE_API_PAGE_MAX}，GRIDCARE_API_PAGE_MAX）",
    ),
]
ObjectId = Annotated[int, Field(ge=1, le=DB_INT_MAX, description="对象编号（正整数）")]
PageNumber = Annotated[int, Field(ge=1, le=PAGE_OFFSET_MAX, description="页码，从 1 开始")]


def _range_error(value: Any) -> PydanticCustomError:
    return PydanticCustomError(
        RANGE_ERROR,
        "年份须在 {low}–{high} 之间（收到 {value}）",
        {"low": YEAR_MIN, "high": YEAR_MAX, "value": str(value)[:40]},
    )


_LEADING_YEAR = re.compile(r"\s*([+-]?\d+)-")


def _year_of_text(value: Any) -> Any:
    """A text whose year is out of range is refused as such (400), not as unparseable (422): `10000-01-01` and
    `0000-01-01` are well-formed dates that no datetime can hold."""
    if isinstance(value, str | bytes):
        text = value.decode("latin-1") if isinstance(value, bytes) else value
        m = _LEADING_YEAR.match(text)
        if m and not YEAR_MIN <= int(m.group(1)) <= YEAR_MAX:
            raise _range_error(text)
    return value


# Real time zones lie between -12:00 and +14:00; ISO 8601 allows up to ±23:59, which PostgreSQL refuses to store.
ZONE_OFFSET_MAX = dt.timedelta(hours=14)


def _instant_in_range(value: dt.datetime) -> dt.datetime:
    # The year must hold wherever the instant is read: as given, in UTC (how it is stored) and in the service's
    # zone (how it is shown); near the ends of the calendar the conversion itself overflows.
    offset = value.utcoffset()
    if offset is not None and abs(offset) > ZONE_OFFSET_MAX:
        raise PydanticCustomError(
            RANGE_ERROR, "时区偏移须在 -12:00 到 +14:00 之间（收到 {value}）", {"value": str(value)[:40]}
        )
    try:
        aware = value if timezone.is_aware(value) else timezone.make_aware(value)
        years = (value.year, aware.astimezone(dt.UTC).year, timezone.localtime(aware).year)
    except (OverflowError, ValueError):
        raise _range_error(value) from None
    if not all(YEAR_MIN <= y <= YEAR_MAX for y in years):
        raise _range_error(value)
    return value


def _day_in_range(value: dt.date) -> dt.date:
    if not YEAR_MIN <= value.year <= YEAR_MAX:
        raise _range_error(value)
    return value


Instant = Annotated[
    dt.datetime,
    BeforeValidator(_year_of_text),
    AfterValidator(_instant_in_range),
    Field(description=f"ISO 8601 时刻，年份 {YEAR_MIN}–{YEAR_MAX}；不带时区按 TIME_ZONE（北京时间）"),
]
Day = Annotated[
    dt.date,
    BeforeValidator(_year_of_text),
    AfterValidator(_day_in_range),
    Field(description=f"日期 YYYY-MM-DD，年份 {YEAR_MIN}–{YEAR_MAX}"),
]
