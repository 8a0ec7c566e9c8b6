"""iCalendar (RFC 5545) text for the public outage feed: pure, no database, no clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class CalendarEvent:
    uid: str
    summary: str
    description: str
    location: str
    starts_at: dt.datetime
    ends_at: dt.datetime | None
    last_modified: dt.datetime
    sequence: int
    cancelled: bool = False
    categories: str = ""


def escape(text: str) -> str:
    return (
        text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\r\n", "\\n").replace("\n", "\\n")
    )


def fold(line: str) -> str:
    """Lines longer than 75 octets continue on the next line after a space, never inside a UTF-8 character."""
    out: list[str] = []
    current = ""
    size = 0
    for ch in line:
        n = len(ch.encode("utf-8"))
        if size + n > 75:
            out.append(current)
            current, size = " ", 1
        current += ch
        size += n
    out.append(current)
    return "\r\n".join(out)


def _utc(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def calendar(events: Iterable[CalendarEvent], *, name: str, stamp: dt.datetime) -> str:
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//GridCare//Outage feed//ZH",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape(name)}",
        "X-WR-TIMEZONE:Asia/Shanghai",
    ]
    for e in events:
        end = e.ends_at or e.starts_at + dt.timedelta(hours=4)
        lines += [
            "BEGIN:VEVENT",
            f"UID:{e.uid}",
            f"DTSTAMP:{_utc(stamp)}",
            f"DTSTART:{_utc(e.starts_at)}",
            f"DTEND:{_utc(end)}",
            f"LAST-MODIFIED:{_utc(e.last_modified)}",
            f"SEQUENCE:{e.sequence}",
            f"SUMMARY:{escape(e.summary)}",
            f"DESCRIPTION:{escape(e.description)}",
            f"LOCATION:{escape(e.location)}",
            f"STATUS:{'CANCELLED' if e.cancelled else 'CONFIRMED'}",
            "TRANSP:TRANSPARENT",
        ]
        if e.categories:
            lines.append(f"CATEGORIES:{escape(e.categories)}")
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return "\r\n".join(fold(line) for line in lines) + "\r\n"
