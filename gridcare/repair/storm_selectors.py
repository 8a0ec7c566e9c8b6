"""Reads for storm mode: which 台区 an outage darkens, the ETR's history and features and how it is shown, the
storm-mode state and the call rate, customers by phone for the IVR. The storm board is repair.board; writes are in
repair.services.storm and .estimates. Nothing here imports the services (they import this)."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from gridcare.customers.models import Customer
from gridcare.customers.selectors import customers_visible
from gridcare.grid import topology
from gridcare.org.models import OrgUnit
from gridcare.repair import etr
from gridcare.repair.models import (
    AreaTarget,
    AssignmentState,
    EtrSource,
    OutageEtr,
    OutageLevel,
    OutageState,
    ProbableOutage,
    RepairTicket,
    StormMode,
    Vehicle,
    VehicleStatus,
)
from gridcare.repair.stormrule import StormRule, StormState

LIVE = [OutageState.OPEN, OutageState.ASSIGNED]
# A vehicle's jobs still to do (as repair.services.ACTIVE; not imported from there: the services read this module).
ACTIVE = [AssignmentState.QUEUED, AssignmentState.RECEIVED, AssignmentState.ACCEPTED]
WINDOW = dt.timedelta(minutes=10)

# ------------------------------------------------------------------------------------------ what an outage darkens


def areas_of_outages(outages: Iterable[ProbableOutage]) -> dict[int, set[int]]:
    """The 台区 (TransformerArea pks) each outage says are dark, on the network as it runs now — for many outages at
    once (`outage_areas` for one): a customer's or a 台区's outage its 台区, a device
    outage every 台区 below the device, a feeder outage every 台区 below its outlet (or the whole feeder where no
    devices are entered). (The board counts a single customer's outage by its callers, not its 台区.)"""
    outages = list(outages)
    found: dict[int, set[int]] = {}
    topo: topology.Topology | None = None
    for o in outages:
        if o.level in (OutageLevel.SERVICE_POINT, OutageLevel.TRANSFORMER_AREA):
            found[o.pk] = {o.transformer_area_id} if o.transformer_area_id is not None else set()
            continue
        topo = topo or topology.now()
        below = topo.network.areas_below.get(topo.device_or_source(o.device_id, o.feeder_id), ())
        found[o.pk] = {topo.area_pk[a] for a in below if a in topo.area_pk}
    return found


def outage_areas(outage: ProbableOutage) -> set[int]:
    """Which 台区 (TransformerArea pks) the outage darkens (see `areas_of_outages`)."""
    return areas_of_outages([outage])[outage.pk]


# ------------------------------------------------------------------------------------------------------ the ETR


def outage_kind(outage: ProbableOutage) -> str:
    """What kind of fault the outage is, for the ETR's history: the predicted device's kind (fuse, recloser,
    breaker …) when it names one, else its level (service_point, transformer_area, feeder)."""
    return str(outage.device.kind if outage.device_id is not None and outage.device is not None else outage.level)


def kind_expression() -> Any:
    """`outage_kind` in SQL, for filtering many outages at once (see repair.services.estimates)."""
    return Coalesce(F("device__kind"), F("level"))


def main_ticket(outage: ProbableOutage) -> RepairTicket | None:
    return (
        RepairTicket.objects.select_related("repair_center").filter(outage=outage, is_main=True).order_by("pk").first()
    )


def outage_area_class(outage: ProbableOutage, main: RepairTicket | None) -> str:
    if main is not None and main.area_class:
        return main.area_class
    area = outage.transformer_area
    if area is not None and area.district_id is not None:
        return str(area.district.area_class)  # type: ignore[union-attr]
    return "urban"


def outage_phase(outage: ProbableOutage, main: RepairTicket | None) -> str:
    if main is not None and main.h_at is not None:
        return etr.ON_SITE
    return etr.ASSIGNED if outage.state == OutageState.ASSIGNED else etr.OPEN


def outage_unit(outage: ProbableOutage, main: RepairTicket | None) -> OrgUnit | None:
    """The unit whose crews repair the outage: the main call's repair centre, else the network's unit."""
    if main is not None and main.repair_center is not None:
        return main.repair_center
    if outage.transformer_area is not None:
        return outage.transformer_area.unit
    return outage.feeder.unit if outage.feeder is not None else None


def idle_crews(unit: OrgUnit | None) -> int | None:
    """Idle vehicles on duty under the unit (its crews): how many could be sent now."""
    if unit is None:
        return None
    return Vehicle.objects.filter(crew__path__startswith=unit.path, off_duty=False, status=VehicleStatus.IDLE).count()


def prior_for(area_class: str) -> etr.Prior:
    target = (
        AreaTarget.objects.filter(area_class=area_class).first()
        or AreaTarget.objects.filter(area_class="urban").first()
    )
    if target is None:
        return etr.Prior(arrive_minutes=45, restore_minutes=180)
    return etr.Prior(arrive_minutes=target.arrive_minutes, restore_minutes=target.restore_minutes)


#: How far back history reaches, and how many of the latest restored outages it holds at most.
HISTORY_DAYS = 365
HISTORY_LIMIT = 20_000
#: History changes slowly (a few restorations a minute even in a storm): each process reads it at most this often.
HISTORY_TTL_SECONDS = 300.0
_history_lock = threading.Lock()
_history: tuple[float, etr.History] | None = None


def history_samples(now: dt.datetime) -> list[etr.Sample]:
    """Restored outages of the last year, newest first, in one query: first evidence → restored, the main call's
    arrival → restored, and the features each had (the crews free are those recorded when it was estimated)."""
    main = RepairTicket.objects.filter(outage=OuterRef("pk"), is_main=True).order_by("pk")
    rows = (
        ProbableOutage.objects.filter(
            state=OutageState.RESTORED,
            restored_at__isnull=False,
            restored_at__lte=now,
            restored_at__gte=now - dt.timedelta(days=HISTORY_DAYS),
        )
        .annotate(
            main_area_class=Subquery(main.values("area_class")[:1]),
            arrived_at=Subquery(main.values("h_at")[:1]),
        )
        .order_by("-restored_at")
        .values_list(
            "level",
            "first_call_at",
            "restored_at",
            "main_area_class",
            "arrived_at",
            "etr_detail__crews_idle",
            "etr_detail__area_class",
            "etr_detail__kind",
            "device__kind",
        )[:HISTORY_LIMIT]
    )
    tz = timezone.get_current_timezone()
    samples = []
    for level, first, restored, area_class, arrived, crews, etr_area, kind, device_kind in rows:
        if restored is None:  # excluded by the filter; says so to the type checker
            continue
        features = etr.Features(
            # The kind it was last estimated as, else the device it was restored as, else its level.
            kind=kind or device_kind or level,
            area_class=area_class or etr_area or "urban",
            time_band=etr.time_band(first.astimezone(tz)),
            crews=etr.crews_band(crews),
        )
        on_site = (restored - arrived).total_seconds() / 60 if arrived is not None and arrived <= restored else None
        samples.append(etr.Sample(features, (restored - first).total_seconds() / 60, on_site))
    return samples


def etr_history(now: dt.datetime, *, fresh: bool = False) -> etr.History:
    """The indexed history, read again after HISTORY_TTL_SECONDS (or at once with `fresh`)."""
    global _history
    with _history_lock:
        clock = time.monotonic()
        if fresh or _history is None or _history[0] < clock:
            _history = (clock + HISTORY_TTL_SECONDS, etr.History(history_samples(now)))
        return _history[1]


def forget_history() -> None:
    global _history
    with _history_lock:
        _history = None


KIND_LABELS: dict[str, str] = {str(v): str(label) for v, label in OutageLevel.choices}
AREA_LABELS = {"urban": "城市", "rural": "农村", "remote": "特殊边远"}
BAND_LABELS = {"night": "夜间", "morning": "上午", "afternoon": "下午", "evening": "傍晚"}
CREW_LABELS = {
    "none": "无空闲车辆",
    "few": "空闲车辆 1–2 辆",
    "some": "空闲车辆 3–5 辆",
    "many": "空闲车辆 6 辆以上",
    "unknown": "空闲车辆未记录",
}


def kind_label(kind: str) -> str:
    if kind in KIND_LABELS:
        return KIND_LABELS[kind]
    from gridcare.grid.models import GridDevice

    return str(dict(GridDevice.Kind.choices).get(kind, kind))


def basis_label(estimate: etr.Estimate) -> str:
    """The history cell an estimate used, in words ("台区故障 · 城市 · 夜间"), or the prior."""
    if not estimate.from_history:
        return "供电服务承诺时限（无足够历史）"
    if not estimate.key:
        return "全部历史故障"
    f = estimate.features
    words = {
        "kind": kind_label(f.kind),
        "area_class": AREA_LABELS.get(f.area_class, f.area_class),
        "time_band": BAND_LABELS.get(f.time_band, f.time_band),
        "crews": CREW_LABELS.get(f.crews, f.crews),
    }
    return " · ".join(words[name] for name in estimate.key)


def etr_view(outage: ProbableOutage, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """The outage's ETR as screens, the API and the IVR show it: the time, its interval, and the sentence."""
    now = now or timezone.now()
    tz = timezone.get_current_timezone()
    try:
        detail: OutageEtr | None = outage.etr_detail  # read with the outage where it was select_related
    except OutageEtr.DoesNotExist:
        detail = None
    view: dict[str, Any] = {
        "etr": outage.etr,
        "low": None,
        "high": None,
        "samples": 0,
        "basis": "",
        "source": detail.source if detail else "",
        "updated": outage.etr_updated_at,
        "reason": outage.etr_reason,
    }
    if detail is not None and detail.source == EtrSource.ESTIMATE and outage.etr is not None:
        view.update(low=detail.low, high=detail.high, samples=detail.samples, basis=detail.basis)
        if detail.low is not None and detail.high is not None:
            view["text"] = etr.sentence(outage.etr, detail.low, detail.high, detail.samples, now=now, tz=tz)
            return view
    view["text"] = etr.describe_manual(outage.etr, now=now, tz=tz)
    return view


# ------------------------------------------------------------------------------------------------- storm mode


def storm_rule() -> StormRule:
    """The thresholds from the settings (GRIDCARE_STORM_CALLS_PER_10MIN, …_OFF; checked at start-up)."""
    return StormRule(
        on_calls=settings.GRIDCARE_STORM_CALLS_PER_10MIN,
        off_calls=settings.GRIDCARE_STORM_CALLS_PER_10MIN_OFF,
    )


def storm_mode() -> StormMode:
    """The storm-mode row as it stands (an unsaved "off" when it was never switched)."""
    return StormMode.objects.select_related("switched_by").filter(pk=1).first() or StormMode(pk=1)


def storm_on() -> bool:
    return StormMode.objects.filter(pk=1, on=True).exists()


def storm_state(mode: StormMode) -> StormState:
    return StormState(on=mode.on, automatic=mode.automatic, since=mode.since)


def call_windows(now: dt.datetime, *, windows: int = 3, tickets: QuerySet[RepairTicket] | None = None) -> list[int]:
    """Repair calls (orders accepted) in each 10-minute window back from now, the latest first; one query."""
    qs = RepairTicket.objects.all() if tickets is None else tickets
    start = now - WINDOW * windows
    per_window = {
        f"w{i}": Count(
            "pk",
            filter=Q(workorder__accepted_at__gt=now - WINDOW * (i + 1), workorder__accepted_at__lte=now - WINDOW * i),
        )
        for i in range(windows)
    }
    counts = qs.filter(workorder__accepted_at__gt=start, workorder__accepted_at__lte=now).aggregate(**per_window)
    return [int(counts[f"w{i}"] or 0) for i in range(windows)]


# ---------------------------------------------------------------------------------------- the caller, in a storm


def customers_by_phone(*, user: Any, phone: str) -> list[Customer]:
    """Customers with this contact number, within scope: the IVR knows the number calling (its caller id)."""
    return list(customers_visible(user=user).filter(contacts__phone=phone).distinct().order_by("pk")[:5])
