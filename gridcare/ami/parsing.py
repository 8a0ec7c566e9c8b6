"""Turn a meter head-end's JSON (one event, or a batch) into normalised events and per-item errors.

Pure: no Django, no clock; the caller passes `now` and the options. A body that cannot be read at all ends in
`AmiRejected` (the HTTP answer is its status); a batch is read item by item, so one bad item is reported by its
index and reason and never fails the others. No other exception escapes `parse_body`.

The layout (docs/meter-events.md):

    {"event_id": "HE1-000123", "meter_no": "3300012345", "kind": "last_gasp", "at": "2026-06-01T08:00:00+08:00"}
    {"events": [ {…}, {…} ]}        or a bare JSON array of events

`kind` is an English code or its Chinese name (停电事件, 复电事件, 失压 …, see KIND_NAMES); `at` is epoch seconds,
epoch milliseconds (values ≥ 2³¹ are milliseconds, as GPS reads them) or ISO 8601 with a zone (`Z`, `+08:00`).
Keys beyond the documented ones are ignored (head-ends add vendor fields) and never stored.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

LAST_GASP, RESTORED, VOLTAGE_LOSS = "last_gasp", "restored", "voltage_loss"

# Every spelling a head-end may use for a kind: the English codes, and the names of the events in Chinese
# acquisition systems (停电/上电 events of the terminal, 失压 of the voltage circuit).
KIND_NAMES: dict[str, str] = {
    "last_gasp": LAST_GASP,
    "power_off": LAST_GASP,
    "停电": LAST_GASP,
    "停电事件": LAST_GASP,
    "掉电": LAST_GASP,
    "restored": RESTORED,
    "power_on": RESTORED,
    "复电": RESTORED,
    "复电事件": RESTORED,
    "上电": RESTORED,
    "voltage_loss": VOLTAGE_LOSS,
    "失压": VOLTAGE_LOSS,
    "失压事件": VOLTAGE_LOSS,
}

MAX_EVENT_ID = 64
MAX_METER_NO = 32  # grid.ServicePoint.meter_no
MAX_KEYS = 32  # per event object
MAX_TIMESTAMP_CHARS = 40
EPOCH_SECONDS_LIMIT = 2**31 - 1  # above: milliseconds
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
LATEST_EPOCH = 32503680000  # year 3000: beyond it a number is garbage (and fromtimestamp would overflow)
_MAX_INT_DIGITS = 19
_NUMERIC = re.compile(r"[0-9]+(?:\.[0-9]+)?")


class AmiRejected(Exception):
    """A body we will not read at all. `status` is the HTTP answer; `reason` says what to fix; `errors` names the
    items at fault when every item of a batch was refused."""

    def __init__(self, reason: str, *, status: int = 400, errors: list[ItemError] | None = None, single: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.errors = errors or []
        self.single = single  # the body was one event: its errors name fields, not items

    def fields(self) -> dict[str, list[str]]:
        """The errors keyed as an API answer names them: `at` for a single event, `events[3].at` in a batch."""
        return {(e.field if self.single else f"events[{e.index}].{e.field}"): [e.reason] for e in self.errors}


class _ItemRejected(Exception):
    def __init__(self, field: str, reason: str):
        super().__init__(reason)
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class ParseOptions:
    max_future: dt.timedelta = dt.timedelta(minutes=10)
    naive_tz: dt.tzinfo | None = None  # None: a time without a zone is refused
    max_events: int = 1000


@dataclass(frozen=True)
class ParsedEvent:
    index: int  # position in the request (0 for a single event)
    event_id: str
    meter_no: str
    kind: str
    at: dt.datetime  # aware, UTC


@dataclass(frozen=True)
class ItemError:
    index: int
    field: str
    reason: str
    event_id: str = ""  # when it could be read, so the sender can find the item

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "event_id": self.event_id, "field": self.field, "reason": self.reason}


@dataclass(frozen=True)
class ParsedBatch:
    events: list[ParsedEvent]
    errors: list[ItemError] = field(default_factory=list)
    single: bool = False  # the body was one event object, not a batch

    @property
    def received(self) -> int:
        return len(self.events) + len(self.errors)


class _OutOfRange(str):
    """A JSON number no field here can hold (an integer of hundreds of digits, 1e400): kept as its text, so that
    the one field is refused and not the whole body."""


def _int(text: str) -> int | _OutOfRange:
    return int(text) if len(text) <= _MAX_INT_DIGITS else _OutOfRange(text)


def _finite(text: str) -> float | _OutOfRange:
    number = float(text)
    return number if math.isfinite(number) else _OutOfRange(text)


def _no_constant(text: str) -> Any:
    raise ValueError(f"{text} is not a number")


def load_json(raw: bytes | str) -> Any:
    """The JSON document, or AmiRejected: UTF-8 only, no NaN/Infinity, no number beyond a float."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        return json.loads(text, parse_int=_int, parse_float=_finite, parse_constant=_no_constant)
    except UnicodeDecodeError:
        raise AmiRejected("请求体不是 UTF-8 编码的 JSON (body is not UTF-8)") from None
    except RecursionError:
        raise AmiRejected("JSON 嵌套层次过深 (JSON nested too deeply)") from None
    except ValueError as exc:
        raise AmiRejected(f"请求体不是有效的 JSON：{str(exc)[:80]} (body is not valid JSON)") from None


def parse_body(raw: bytes | str, *, now: dt.datetime, options: ParseOptions) -> ParsedBatch:
    return parse_document(load_json(raw), now=now, options=options)


def parse_document(doc: Any, *, now: dt.datetime, options: ParseOptions) -> ParsedBatch:
    """One event object, `{"events": [...]}` or a bare array. Raises AmiRejected when nothing can be read: a
    body of another shape, an empty or oversize batch, or a batch whose every item is refused."""
    single = isinstance(doc, dict) and "events" not in doc
    if single:
        items: list[Any] = [doc]
    elif isinstance(doc, dict):
        items = doc["events"]
        if not isinstance(items, list):
            raise AmiRejected("events 必须是数组 (events must be an array)")
    elif isinstance(doc, list):
        items = doc
    else:
        raise AmiRejected('请求体须为一个事件对象、{"events": [...]} 或事件数组 (body must be an event or a batch)')
    if not items:
        raise AmiRejected("批量中没有事件 (the batch is empty)")
    if len(items) > options.max_events:
        raise AmiRejected(
            f"一次最多 {options.max_events} 条事件，收到 {len(items)} 条；请分批发送 (too many events in one request)",
            status=413,
        )
    events: list[ParsedEvent] = []
    errors: list[ItemError] = []
    for index, item in enumerate(items):
        try:
            events.append(parse_event(item, index=index, now=now, options=options))
        except _ItemRejected as exc:
            errors.append(ItemError(index, exc.field, exc.reason, _readable_id(item)))
    if not events:
        if single:
            error = errors[0]
            raise AmiRejected(f"{error.field}: {error.reason}", errors=errors, single=True)
        raise AmiRejected(f"{len(errors)} 条事件均无法读取 (no readable event)", errors=errors)
    return ParsedBatch(events, errors, single)


def parse_event(item: Any, *, index: int, now: dt.datetime, options: ParseOptions) -> ParsedEvent:
    if not isinstance(item, dict):
        raise _ItemRejected("event", "事件须为 JSON 对象 (an event must be an object)")
    if len(item) > MAX_KEYS:
        raise _ItemRejected("event", f"事件的字段超过 {MAX_KEYS} 个 (too many keys)")
    return ParsedEvent(
        index=index,
        event_id=_identifier(item, "event_id", MAX_EVENT_ID),
        meter_no=_identifier(item, "meter_no", MAX_METER_NO),
        kind=_kind(item),
        at=parse_time(item.get("at"), now=now, options=options),
    )


def _identifier(item: Mapping[str, Any], name: str, limit: int) -> str:
    value = item.get(name)
    if value is None:
        raise _ItemRejected(name, f"缺少 {name} ({name} is missing)")
    if isinstance(value, bool) or isinstance(value, _OutOfRange) or not isinstance(value, str | int):
        raise _ItemRejected(name, f"{name} 须为文本 ({name} must be text)")
    text = str(value).strip()
    if not text:
        raise _ItemRejected(name, f"{name} 为空 ({name} is empty)")
    # Refused rather than cleaned: `M1\x00` cleaned would name another meter, or another event.
    if len(text) > limit or not text.isprintable() or any(ch.isspace() for ch in text):
        raise _ItemRejected(
            name, f"{name} 超过 {limit} 个字符或含空白、控制字符 ({name} too long or has blanks/control characters)"
        )
    return text


def _kind(item: Mapping[str, Any]) -> str:
    value = item.get("kind")
    if value is None:
        raise _ItemRejected("kind", "缺少 kind (kind is missing)")
    kind = KIND_NAMES.get(value.strip().lower()) if isinstance(value, str) else None
    if kind is None:
        shown = value[:20] if isinstance(value, str) and value.isprintable() else "…"
        raise _ItemRejected(
            "kind",
            f"无法识别的事件类型 {shown!r}；可用：last_gasp/停电事件、restored/复电事件、voltage_loss/失压"
            " (unknown kind)",
        )
    return kind


def parse_time(value: Any, *, now: dt.datetime, options: ParseOptions) -> dt.datetime:
    """Epoch seconds or milliseconds (a number or its digits), or ISO 8601 with a zone; not before 2000, and not
    more than `options.max_future` after `now`."""
    if value is None:
        raise _ItemRejected("at", "缺少 at (at is missing)")
    if isinstance(value, bool) or isinstance(value, _OutOfRange):
        raise _ItemRejected("at", "at 不是时间 (at is not a time)")
    if isinstance(value, str) and _NUMERIC.fullmatch(value.strip()):
        value = float(value.strip())
    if isinstance(value, int | float):
        epoch = float(value)
        if epoch > EPOCH_SECONDS_LIMIT:
            epoch /= 1000.0
        if not EARLIEST.timestamp() <= epoch <= LATEST_EPOCH:
            raise _ItemRejected("at", "at 的数值不是 2000 年以后的 Unix 时间 (epoch out of range)")
        moment = dt.datetime.fromtimestamp(epoch, tz=dt.UTC)
    elif isinstance(value, str):
        text = value.strip()
        # fromisoformat takes other scripts' digits too; a clock writes ASCII.
        if len(text) > MAX_TIMESTAMP_CHARS or not text.isascii() or not text.isprintable():
            raise _ItemRejected("at", "at 须为 Unix 时间或带时区的 ISO 8601 时间 (at: epoch or ISO 8601 with zone)")
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            raise _ItemRejected(
                "at", f"无法识别的时间 {text!r}：须为 Unix 时间或 ISO 8601，如 2026-06-01T08:00:00+08:00 (bad time)"
            ) from None
        if moment.tzinfo is None:
            if options.naive_tz is None:
                raise _ItemRejected(
                    "at", f"时间 {text!r} 缺少时区：请加 +08:00 或 Z，或用 Unix 时间 (time without a zone)"
                )
            moment = moment.replace(tzinfo=options.naive_tz)
        moment = moment.astimezone(dt.UTC)
        if moment < EARLIEST:
            raise _ItemRejected("at", "at 早于 2000 年 (at is before 2000)")
    else:
        raise _ItemRejected("at", "at 不是时间 (at is not a time)")
    if moment > now + options.max_future:
        raise _ItemRejected(
            "at",
            f"发生时间 {moment.isoformat()} 超前于服务器时间：请校准电表或主站时钟 (at is too far in the future)",
        )
    return moment


def _readable_id(item: Any) -> str:
    """The item's event_id when it is plain text, so the sender can find the refused item; else empty."""
    if not isinstance(item, dict):
        return ""
    value = item.get("event_id")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and len(value) <= MAX_EVENT_ID and value.isprintable():
        return value
    return ""
