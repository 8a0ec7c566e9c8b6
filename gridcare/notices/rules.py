"""Pure notice rules: advance-notice deadlines, quiet hours, retry back-off and what counts as a change.

No database and no clock: every function takes the time it reasons about.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

LOCAL = zoneinfo.ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class LeadTimeCheck:
    kind: str
    required: dt.timedelta
    actual: dt.timedelta
    late: bool

    @property
    def message(self) -> str:
        hours = self.required.total_seconds() / 3600
        have = max(self.actual.total_seconds(), 0) / 3600
        if self.kind == "planned":
            need = f"计划检修停电须提前 {hours / 24:g} 天通知"
        else:
            need = f"临时检修停电须提前 {hours:g} 小时通知重要客户"
        return f"{need}，当前仅提前 {have:.1f} 小时；如确需发布，请填写延迟发布原因"


def lead_time_check(
    *, kind: str, starts_at: dt.datetime, now: dt.datetime, planned_days: int, temporary_hours: int
) -> LeadTimeCheck | None:
    """The advance notice a planned (7 days) or temporary (24 h) outage needs; None for faults."""
    if kind == "planned":
        required = dt.timedelta(days=planned_days)
    elif kind == "temporary":
        required = dt.timedelta(hours=temporary_hours)
    else:
        return None
    actual = starts_at - now
    return LeadTimeCheck(kind=kind, required=required, actual=actual, late=actual < required)


def in_quiet_hours(at: dt.datetime, start: dt.time, end: dt.time, tz: dt.tzinfo = LOCAL) -> bool:
    local = at.astimezone(tz).time()
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end  # the window crosses midnight (22:00-07:00)


def not_before(at: dt.datetime, *, urgent: bool, start: dt.time, end: dt.time, tz: dt.tzinfo = LOCAL) -> dt.datetime:
    """When a message may go out: at once if urgent or outside quiet hours, else when the quiet hours end."""
    if urgent or not in_quiet_hours(at, start, end, tz):
        return at
    local = at.astimezone(tz)
    candidate = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if candidate <= local:
        candidate = (local + dt.timedelta(days=1)).replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    return candidate.astimezone(dt.UTC)


def backoff(attempts: int, base_seconds: int, cap_seconds: int = 6 * 3600) -> dt.timedelta:
    """Exponential: base, 2×base, 4×base … after the 1st, 2nd, 3rd failure; capped."""
    return dt.timedelta(seconds=min(base_seconds * 2 ** max(attempts - 1, 0), cap_seconds))


@dataclass(frozen=True)
class OutageChange:
    time_changed: bool
    scope_changed: bool

    @property
    def material(self) -> bool:
        return self.time_changed or self.scope_changed


def classify_change(
    *,
    old_window: tuple[dt.datetime, dt.datetime | None],
    new_window: tuple[dt.datetime, dt.datetime | None],
    old_scope: tuple[frozenset[int], frozenset[int], frozenset[int]],
    new_scope: tuple[frozenset[int], frozenset[int], frozenset[int]],
) -> OutageChange:
    """Only the window and the network covered matter to a customer; titles and notes do not."""
    return OutageChange(time_changed=old_window != new_window, scope_changed=old_scope != new_scope)


def etr_moved_enough(old: dt.datetime | None, new: dt.datetime, minutes: int) -> bool:
    """A new ETR is worth a message when there was none or it moved by at least `minutes`."""
    return old is None or abs((new - old).total_seconds()) >= minutes * 60


def format_local(at: dt.datetime | None) -> str:
    if at is None:
        return "待定"
    return at.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M")


def format_window(starts_at: dt.datetime, ends_at: dt.datetime | None) -> str:
    """`2026-10-08 08:00 至 17:00` on one day, both dates when it spans days."""
    if ends_at is None:
        return f"{format_local(starts_at)} 起"
    s, e = starts_at.astimezone(LOCAL), ends_at.astimezone(LOCAL)
    end = e.strftime("%H:%M") if s.date() == e.date() else e.strftime("%Y-%m-%d %H:%M")
    return f"{s.strftime('%Y-%m-%d %H:%M')} 至 {end}"
