"""The storm board: what a shift lead watches in a storm, within their units (repair.views.storm, the API's
/repair/storm/board)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from django.db.models import Count, Exists, OuterRef, QuerySet
from django.utils import timezone

from gridcare.core.text import format_duration
from gridcare.customers.selectors import customers_visible
from gridcare.org.roles import Role
from gridcare.org.scope import unit_filter
from gridcare.repair.models import (
    OutageLevel,
    OutageState,
    ProbableOutage,
    RepairTicket,
    VehicleAssignment,
    VehicleStatus,
)
from gridcare.repair.selectors import tickets_visible, vehicles_visible
from gridcare.repair.storm_selectors import (
    ACTIVE,
    LIVE,
    WINDOW,
    areas_of_outages,
    call_windows,
    etr_view,
    storm_mode,
    storm_rule,
)


def outages_visible(*, user: Any) -> QuerySet[ProbableOutage]:
    """Outages on the network of the user's units (their 台区's or feeder's operating unit within the scope)."""
    qs = ProbableOutage.objects.select_related("transformer_area", "feeder", "etr_detail")
    if getattr(user, "sees_everything", False):
        return qs
    return qs.filter(unit_filter(user, "transformer_area__unit") | unit_filter(user, "feeder__unit"))


def customers_off(outages: Sequence[ProbableOutage], *, user: Any) -> dict[int, int]:
    """Customers without power per outage, and in total under key 0 (each customer once, however many outages
    cover them): every customer of the 台区 an outage darkens; for a single customer's outage, its callers."""
    areas = areas_of_outages(o for o in outages if o.level != OutageLevel.SERVICE_POINT)
    all_areas = set().union(*areas.values()) if areas else set()
    visible = customers_visible(user=user)
    per_area = dict(
        visible.filter(service_point__transformer_area_id__in=all_areas)
        .values_list("service_point__transformer_area_id")
        .annotate(n=Count("pk"))
        .values_list("service_point__transformer_area_id", "n")
    )
    singles = [o.pk for o in outages if o.level == OutageLevel.SERVICE_POINT]
    callers: dict[int, set[int]] = defaultdict(set)
    outside: set[int] = set()  # single callers not already counted with a larger outage around them
    for outage_id, customer_id, area_id in RepairTicket.objects.filter(
        outage_id__in=singles, workorder__customer__in=visible
    ).values_list("outage_id", "workorder__customer_id", "workorder__customer__service_point__transformer_area_id"):
        callers[outage_id].add(customer_id)
        if area_id not in all_areas:
            outside.add(customer_id)
    result = {o.pk: sum(per_area.get(a, 0) for a in areas.get(o.pk, ())) for o in outages if o.pk in areas}
    for pk in singles:
        result[pk] = len(callers.get(pk, set()))
    result[0] = sum(per_area.values()) + len(outside)
    return result


def _where(o: ProbableOutage) -> str:
    if o.level == OutageLevel.FEEDER and o.feeder is not None:
        return o.feeder.name
    if o.transformer_area is not None:
        return o.transformer_area.name
    return o.feeder.name if o.feeder is not None else "—"


BOARD_ROWS = 50
#: Who watches the board: the shift lead runs the floor, the repair centres' dispatchers their own area.
BOARD_ROLES = frozenset({Role.SHIFT_LEAD, Role.DISPATCHER})


def may_see_board(user: Any) -> bool:
    return bool(getattr(user, "sees_everything", False) or getattr(user, "role", None) in BOARD_ROLES)


def storm_board(*, user: Any, now: dt.datetime | None = None) -> dict[str, Any]:
    """What a shift lead watches in a storm, within their units: outages by state, customers off, crews assigned
    and free, calls waiting for a crew, the oldest outage nobody was sent to, calls per 10 minutes, the mode."""
    now = now or timezone.now()
    visible = outages_visible(user=user)
    arrived = RepairTicket.objects.filter(outage=OuterRef("pk"), is_main=True, h_at__isnull=False)
    live = list(visible.filter(state__in=LIVE).annotate(arrived=Exists(arrived)).order_by("first_call_at", "pk"))
    restored_since = now - dt.timedelta(hours=12)
    restored = visible.filter(state=OutageState.RESTORED, restored_at__gte=restored_since).count()
    off = customers_off(live, user=user)
    crews = dict(
        VehicleAssignment.objects.filter(state__in=ACTIVE, ticket__outage__in=[o.pk for o in live])
        .values_list("ticket__outage_id")
        .annotate(n=Count("vehicle", distinct=True))
        .values_list("ticket__outage_id", "n")
    )
    plates: dict[int, list[str]] = defaultdict(list)
    for outage_id, plate in (
        VehicleAssignment.objects.filter(state__in=ACTIVE, ticket__outage__in=[o.pk for o in live])
        .values_list("ticket__outage_id", "vehicle__plate")
        .distinct()
    ):
        plates[outage_id].append(plate)
    open_ids = [o.pk for o in live if o.state == OutageState.OPEN]
    waiting = RepairTicket.objects.filter(outage_id__in=open_ids).exclude(state="cancelled").count()
    unsent = tickets_visible(user=user).filter(is_main=True, state="new").count()
    oldest = next((o for o in live if o.state == OutageState.OPEN), None)
    windows = call_windows(now, windows=6, tickets=tickets_visible(user=user))
    mode = storm_mode()
    rows = []
    for o in live[:BOARD_ROWS]:
        shown = etr_view(o, now=now)
        rows.append(
            {
                "id": o.pk,
                "level": o.get_level_display(),
                "where": _where(o),
                "state": "已到达现场" if o.arrived else o.get_state_display(),  # type: ignore[attr-defined]
                "calls": o.call_count,
                "customers_off": off.get(o.pk, 0),
                "age_minutes": round((now - o.first_call_at).total_seconds() / 60),
                "age": format_duration((now - o.first_call_at).total_seconds() / 60),
                "crews": plates.get(o.pk, []),
                "etr_text": shown["text"],
            }
        )
    by_state = {
        "open": sum(1 for o in live if o.state == OutageState.OPEN),
        "assigned": sum(1 for o in live if o.state == OutageState.ASSIGNED and not o.arrived),  # type: ignore[attr-defined]
        "on_site": sum(1 for o in live if o.arrived),  # type: ignore[attr-defined]
        "restored_12h": restored,
    }
    idle = vehicles_visible(user=user).filter(off_duty=False, status=VehicleStatus.IDLE).count()
    return {
        "now": now,
        "storm": {
            "on": mode.on,
            "since": mode.since,
            "automatic": mode.automatic,
            "by": (mode.switched_by.get_full_name() or mode.switched_by.username) if mode.switched_by else "",
            "reason": mode.reason,
        },
        "threshold": {"on": storm_rule().on_calls, "off": storm_rule().off_calls},
        "by_state": by_state,
        "live": len(live),
        "customers_off": off.get(0, 0),
        "crews_assigned": sum(crews.values()),
        "crews_idle": idle,
        "calls_waiting": waiting,
        "orders_unsent": unsent,
        "oldest_unassigned": None
        if oldest is None
        else {
            "id": oldest.pk,
            "where": _where(oldest),
            "calls": oldest.call_count,
            "age_minutes": round((now - oldest.first_call_at).total_seconds() / 60),
            "age": format_duration((now - oldest.first_call_at).total_seconds() / 60),
        },
        "calls_per_10min": windows[0],
        "call_windows": [
            {"end": now - WINDOW * i, "start": now - WINDOW * (i + 1), "calls": n} for i, n in enumerate(windows)
        ],
        "outages": rows,
        "more": max(0, len(live) - BOARD_ROWS),
    }
