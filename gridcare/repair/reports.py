"""A–H reports: per-segment compliance by unit and by person (who lost the minutes), arrival and
restoration against the published targets, calls per outage, and vehicle busy rates by unit and hour."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from gridcare.repair import selectors, timing
from gridcare.repair.models import ProbableOutage, RepairTicket, VehicleAssignment

BUCKETS = [15, 30, 45, 60, 90, 120, 180, 240, 360]


def tickets_in(
    *, user: Any, date_from: dt.date | None = None, date_to: dt.date | None = None
) -> QuerySet[RepairTicket]:
    tz = timezone.get_current_timezone()
    qs = selectors.tickets_visible(user=user).filter(is_main=True, a_at__isnull=False)
    if date_from:
        qs = qs.filter(a_at__gte=dt.datetime.combine(date_from, dt.time(), tzinfo=tz))
    if date_to:
        qs = qs.filter(a_at__lt=dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time(), tzinfo=tz))
    return qs


def _bucket(minutes: float) -> str:
    for b in BUCKETS:
        if minutes <= b:
            return f"≤{b}"
    return f">{BUCKETS[-1]}"


def segment_report(*, tickets: QuerySet[RepairTicket]) -> dict[str, Any]:
    rules = selectors.rules()
    targets = selectors.area_targets()
    by_segment: dict[str, dict[str, float]] = defaultdict(lambda: {"measured": 0, "met": 0, "lost_minutes": 0.0})
    by_unit: dict[tuple[str, str], dict[str, float]] = defaultdict(
        lambda: {"measured": 0, "met": 0, "lost_minutes": 0.0}
    )
    by_person: dict[tuple[str, str], dict[str, float]] = defaultdict(
        lambda: {"measured": 0, "met": 0, "lost_minutes": 0.0}
    )
    arrival: dict[str, dict[str, Any]] = defaultdict(lambda: {"count": 0, "met": 0, "buckets": defaultdict(int)})
    restore: dict[str, dict[str, Any]] = defaultdict(lambda: {"count": 0, "met": 0, "buckets": defaultdict(int)})
    n = 0
    for t in tickets.iterator(chunk_size=1000):
        n += 1
        tm: timing.Timing = selectors.ticket_timing(t, cached_rules=rules, cached_targets=targets)
        unit_of = {
            "AB": "95598 中心",
            "BC": "网络传输",
            "CD": t.repair_center.name if t.repair_center else "—",
            "DE": "网络传输",
            "EF": t.crew.name if t.crew else "—",
            "FG": t.crew.name if t.crew else "—",
            "GH": t.crew.name if t.crew else "—",
        }
        for s in tm.segments:
            if s.minutes is None or s.end is None:
                continue
            for bucket in (by_segment[s.code], by_unit[(s.code, unit_of[s.code])], by_person[(s.code, s.who or "—")]):
                bucket["measured"] += 1
                bucket["met"] += 0 if s.overdue else 1
                bucket["lost_minutes"] += s.lost_minutes
        if tm.arrival_minutes is not None:
            a = arrival[t.area_class]
            a["count"] += 1
            a["met"] += 0 if tm.arrival_overdue else 1
            a["buckets"][_bucket(tm.arrival_minutes)] += 1
            a["target"] = tm.arrival_target
        if tm.restore_minutes is not None:
            r = restore[t.area_class]
            r["count"] += 1
            r["met"] += 0 if tm.restore_overdue else 1
            r["buckets"][_bucket(tm.restore_minutes)] += 1
            r["target"] = tm.restore_target

    def rows(d: dict[Any, dict[str, float]], keys: tuple[str, ...]) -> list[dict[str, Any]]:
        out = []
        for k, v in sorted(d.items(), key=lambda kv: -kv[1]["lost_minutes"]):
            k = k if isinstance(k, tuple) else (k,)
            out.append(
                {
                    **dict(zip(keys, k, strict=True)),
                    "measured": int(v["measured"]),
                    "met": int(v["met"]),
                    "rate": round(v["met"] / v["measured"], 4) if v["measured"] else None,
                    "lost_minutes": round(v["lost_minutes"], 1),
                }
            )
        return out

    outages = ProbableOutage.objects.filter(tickets__in=tickets).distinct()
    calls = [o.call_count for o in outages]
    return {
        "tickets": n,
        "segments": rows(by_segment, ("segment",)),
        "by_unit": rows(by_unit, ("segment", "unit")),
        "by_person": rows(by_person, ("segment", "person")),
        "arrival": {k: {**v, "buckets": dict(v["buckets"])} for k, v in arrival.items()},
        "restoration": {k: {**v, "buckets": dict(v["buckets"])} for k, v in restore.items()},
        "calls_per_outage": {
            "outages": len(calls),
            "calls": sum(calls),
            "mean": round(sum(calls) / len(calls), 2) if calls else None,
            "max": max(calls, default=0),
        },
    }


def busy_rates(*, user: Any, day: dt.date | None = None) -> dict[str, Any]:
    """Share of each hour that a unit's vehicles held an order (from dispatch to restoration or closing)."""
    tz = timezone.get_current_timezone()
    day = day or timezone.localdate()
    start = dt.datetime.combine(day, dt.time(), tzinfo=tz)
    end = start + dt.timedelta(days=1)
    vehicles = list(selectors.vehicles_visible(user=user).select_related("crew__parent"))
    per_unit_vehicles: dict[str, int] = defaultdict(int)
    unit_of: dict[int, str] = {}
    for v in vehicles:
        unit = v.crew.parent.name if v.crew.parent else v.crew.name
        unit_of[v.pk] = unit
        per_unit_vehicles[unit] += 1
    busy: dict[str, list[float]] = defaultdict(lambda: [0.0] * 24)
    now = timezone.now()
    for a in VehicleAssignment.objects.filter(vehicle__in=vehicles, sent_at__lt=end).exclude(closed_at__lt=start):
        if a.state in ("declined", "recalled") and a.closed_at is None:
            continue
        s, e = max(a.sent_at, start), min(a.closed_at or now, end)
        t = s
        while t < e:
            hour_end = t.astimezone(tz).replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
            chunk = (min(e, hour_end) - t).total_seconds() / 3600
            busy[unit_of[a.vehicle_id]][t.astimezone(tz).hour] += chunk
            t = min(e, hour_end)
    table = []
    for unit, count in sorted(per_unit_vehicles.items()):
        hours = busy[unit]
        table.append(
            {
                "unit": unit,
                "vehicles": count,
                "busy_rate": [round(h / count, 3) for h in hours],
                "peak_hour": max(range(24), key=lambda h: hours[h]) if any(hours) else None,
            }
        )
    return {"day": day.isoformat(), "units": table}
