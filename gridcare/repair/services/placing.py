"""Online outage prediction: each piece of evidence — a repair call, a meter's power-off event — is placed by the
prediction engine (gridcare.repair.prediction) among the open probable outages of its feeder, kept in the database.

Per event, inside the caller's transaction: lock the feeder that feeds the evidence's 台区 *now* (grid.topology,
so after a switching operation the 台区 is judged with the feeder it hangs from), load that feeder's open
outages and the evidence they hold into a Predictor, add the event, and write back what moved: outages created,
moved up or down the tree, merged into a larger one (state merged, `merged_into`), and tickets or meter events
that changed outage. The engine is the same one `prediction.predict` replays offline, and what it is given
online is exactly what it held before (the open outages, their evidence), so online and offline give the same
outages for the same events in the same order.

Evidence ids: `call:<ticket pk>` and `meter:<MeterEvidence pk>`. A customer is known by their service point's
code, so a call and a last gasp from the same customer count as one customer.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import Q

from gridcare.core.audit import record_event
from gridcare.core.errors import Conflict, ServiceError
from gridcare.grid import topology
from gridcare.grid.models import Feeder
from gridcare.repair.evidence import AREA, CALL, CUSTOMER, DEVICE, METER, Evidence, Prediction
from gridcare.repair.models import (
    AssignmentState,
    MeterEvidence,
    OutageLevel,
    OutageState,
    ProbableOutage,
    RepairTicket,
    TicketState,
    VehicleAssignment,
)
from gridcare.repair.prediction import Predictor
from gridcare.repair.services._base import ACTIVE, Actor, _now
from gridcare.workorders import services as wo
from gridcare.workorders.models import Channel

LIVE = [OutageState.OPEN, OutageState.ASSIGNED]


def call_id(ticket_pk: int) -> str:
    return f"call:{ticket_pk}"


def meter_id(evidence_pk: int) -> str:
    return f"meter:{evidence_pk}"


def _pk(evidence_id: str) -> int:
    return int(evidence_id.split(":", 1)[1])


def customer_key(service_point_code: str | None, workorder_id: int | None = None) -> str:
    return service_point_code or f"order:{workorder_id}"


def _held(rows: list[ProbableOutage], topo: topology.Topology) -> tuple[dict[int, list[Evidence]], list[Evidence]]:
    """The evidence each open outage holds (cancelled calls no longer count)."""
    held: dict[int, list[Evidence]] = {r.pk: [] for r in rows}
    calls = (
        RepairTicket.objects.filter(outage__in=rows, transformer_area__isnull=False)
        .exclude(state=TicketState.CANCELLED)
        .exclude(workorder__channel=Channel.AMI)  # a proactive order answers for meters' evidence; it is none
        .values_list(
            "pk", "a_at", "transformer_area_id", "workorder__customer__service_point__code", "workorder_id", "outage_id"
        )
    )
    for pk, at, area_id, sp, wo_id, outage_id in calls:
        code = topo.area_code.get(area_id)
        if code is not None and at is not None:
            held[outage_id].append(Evidence(call_id(pk), at, code, customer_key(sp, wo_id), CALL))
    meters = MeterEvidence.objects.filter(outage__in=rows).values_list(
        "pk", "at", "transformer_area_id", "service_point__code", "outage_id"
    )
    for pk, at, area_id, sp, outage_id in meters:
        code = topo.area_code.get(area_id)
        if code is not None:
            held[outage_id].append(Evidence(meter_id(pk), at, code, sp, METER))
    every = [e for items in held.values() for e in items]
    return held, every


def _as_prediction(
    row: ProbableOutage, items: list[Evidence], topo: topology.Topology
) -> tuple[Prediction, str] | None:
    """An open outage row as the engine's prediction; None when its element is no longer fed (switched away)."""
    if not items:
        return None
    net = topo.network
    area = topo.area_code.get(row.transformer_area_id or 0, items[0].area)
    if row.level == OutageLevel.SERVICE_POINT:
        level, element = CUSTOMER, items[0].customer
    elif row.level == OutageLevel.TRANSFORMER_AREA:
        level, element = AREA, area
    else:
        level, element = DEVICE, topo.device_or_source(row.device_id, row.feeder_id)
    if (level == AREA and element not in net.areas) or (level == DEVICE and element not in net.devices):
        return None
    if level == CUSTOMER and area not in net.areas:
        return None
    ordered = sorted(items, key=lambda e: (e.at, e.id))
    p = Prediction(row.pk, level, element, ordered[0].at, [e.id for e in ordered], confirmed=row.confirmed)
    return p, area


def _fields(p: Prediction, engine: Predictor, topo: topology.Topology) -> dict[str, Any]:
    net = topo.network
    if p.level == DEVICE:
        source = net.devices[p.element].parent is None
        return {
            "level": OutageLevel.FEEDER if source else OutageLevel.DEVICE,
            "device_id": topo.device_pk.get(p.element),
            "transformer_area_id": None,
            "feeder_id": topo.feeder_pk[net.feeder_of(p.element) or ""],
        }
    area = engine.area_of(p) or ""
    return {
        "level": OutageLevel.SERVICE_POINT if p.level == CUSTOMER else OutageLevel.TRANSFORMER_AREA,
        "device_id": None,
        "transformer_area_id": topo.area_pk[area],
        "feeder_id": topo.feeder_pk[net.feeder_of(net.area_device(area)) or ""],
    }


def _restored_since(feeder_pk: int, horizon: dt.datetime, topo: topology.Topology) -> list[Prediction]:
    """The feeder's 台区 and device outages restored after `horizon`: what was dark, from when to when."""
    rows = ProbableOutage.objects.filter(
        state=OutageState.RESTORED, feeder_id=feeder_pk, restored_at__gt=horizon
    ).exclude(level=OutageLevel.SERVICE_POINT)
    found = []
    for r in rows.only("pk", "level", "transformer_area_id", "device_id", "feeder_id", "first_call_at", "restored_at"):
        if r.level == OutageLevel.TRANSFORMER_AREA:
            level, element = AREA, topo.area_code.get(r.transformer_area_id or 0, "")
        else:
            level, element = DEVICE, topo.device_or_source(r.device_id, r.feeder_id)
        found.append(Prediction(r.pk, level, element, r.first_call_at, restored_at=r.restored_at))
    return found


def place(evidence: Evidence, *, now: dt.datetime) -> ProbableOutage | None:
    """Place one piece of evidence (its ticket or meter row already saved); returns the outage holding it, or None
    when its 台区 is not fed now (the caller keeps it as an outage of its own). Call inside a transaction."""
    topo = topology.now()
    feeder_code = topo.feeder_of_area(evidence.area)
    if feeder_code is None:
        return None
    feeder_pk = topo.feeder_pk[feeder_code]
    # One event per feeder at a time: of simultaneous first calls one opens the outage and the others find it.
    list(Feeder.objects.select_for_update().filter(pk=feeder_pk).values_list("pk", flat=True))
    rows = {r.pk: r for r in ProbableOutage.objects.select_for_update().filter(state__in=LIVE, feeder_id=feeder_pk)}
    held, every = _held(list(rows.values()), topo)
    loaded = [x for r in rows.values() if (x := _as_prediction(r, held[r.pk], topo)) is not None]
    engine = Predictor(topo.network)
    horizon = min([evidence.at, *(p.first_at for p, _area in loaded)])
    engine.load(loaded, every, _restored_since(feeder_pk, horizon, topo))
    before = {p.id: (p.level, p.element, frozenset(p.evidence)) for p, _area in loaded}
    holder = engine.add(evidence)
    return _write_back(engine, before, rows, topo, now).get(holder.id)


def _write_back(
    engine: Predictor,
    before: dict[int, tuple[str, str, frozenset[str]]],
    rows: dict[int, ProbableOutage],
    topo: topology.Topology,
    now: dt.datetime,
) -> dict[int, ProbableOutage]:
    """Make the database say what the engine now holds; returns engine id → outage row."""
    was_in = {e: pk for pk, (_level, _element, held) in before.items() for e in held}
    dropped = [pk for pk in before if pk not in engine.predictions]
    holder_of = {e: p.id for p in engine.predictions.values() for e in p.evidence}
    absorbed: dict[int, list[ProbableOutage]] = {}
    for pk in dropped:
        into = holder_of[next(iter(before[pk][2]))]
        absorbed.setdefault(into, []).append(rows[pk])
    saved: dict[int, ProbableOutage] = {}
    for p in sorted(engine.predictions.values(), key=lambda x: x.id):
        if p.id > 0 and p.id not in before:
            continue  # an outage this feeder's engine did not load (cannot happen: only loaded ones are kept)
        ats = [engine.evidence[e].at for e in p.evidence]
        counts = {
            "call_count": sum(1 for e in p.evidence if engine.evidence[e].source == CALL),
            "first_call_at": min(ats),
            "last_call_at": max(ats),
        }
        fields = _fields(p, engine, topo) | counts
        parts = absorbed.get(p.id, [])
        row: ProbableOutage | None = rows[p.id] if p.id > 0 else None
        if row is None and parts:
            # A prediction grown out of outages that merged carries on in one of their rows (the one a crew is on,
            # else the oldest): it keeps its ETR, its published notice and its history.
            parts.sort(key=lambda o: (o.state != OutageState.ASSIGNED, o.pk))
            row, parts = parts[0], parts[1:]
        if row is None:
            row = ProbableOutage.objects.create(confirmed=p.confirmed, **fields)
        else:
            unchanged = p.id > 0 and (p.level, p.element, frozenset(p.evidence)) == before[p.id]
            if unchanged and not parts:
                saved[p.id] = row
                continue
            if any(o.state == OutageState.ASSIGNED for o in parts):
                fields["state"] = OutageState.ASSIGNED
            fields["etr"] = max((o.etr for o in [row, *parts] if o.etr), default=None)
            fields["notice_outage_id"] = next((o.notice_outage_id for o in [row, *parts] if o.notice_outage_id), None)
            ProbableOutage.objects.filter(pk=row.pk).update(**fields)
            row.refresh_from_db()
        saved[p.id] = row
        # Only the evidence that changed outage is written: a storm's big outage holds hundreds of calls and
        # meter events, and rewriting them all on every event made each event cost as much as the outage.
        moved = [e for e in p.evidence if was_in.get(e) != row.pk]
        calls = [_pk(e) for e in moved if e.startswith("call:")]
        meters = [_pk(e) for e in moved if e.startswith("meter:")]
        RepairTicket.objects.filter(pk__in=calls).exclude(outage_id=row.pk).update(outage=row)
        MeterEvidence.objects.filter(pk__in=meters).exclude(outage_id=row.pk).update(outage=row)
        if parts:
            ProbableOutage.objects.filter(pk__in=[o.pk for o in parts]).update(
                state=OutageState.MERGED, merged_into=row
            )
            _one_main(row, now)
        if parts or (p.id in before and (p.level, p.element) != before[p.id][:2]):
            record_event(
                actor=None,
                action="outage.predicted",
                subject_type="repair.probableoutage",
                subject_id=str(row.pk),
                subject_label=str(row),
                at=now,
                old={"level": before[p.id][0], "element": before[p.id][1]} if p.id > 0 else {},
                new={
                    "level": p.level,
                    "element": p.element,
                    "merged": [o.pk for o in parts],
                    "evidence": len(p.evidence),
                },
            )
    return saved


def _one_main(outage: ProbableOutage, at: dt.datetime) -> None:
    """Outages merged into one: one main order answers for the fault (the one a crew is already on, else the
    first call); the other mains follow it, their crews are recalled, and their followers come along."""
    mains = list(
        RepairTicket.objects.filter(outage=outage, is_main=True)
        .exclude(state=TicketState.CANCELLED)
        .select_related("workorder")
        .order_by("a_at", "id")
    )
    if len(mains) < 2:
        return
    keep = next((t for t in mains if t.d_at is not None), mains[0])
    others = [t for t in mains if t.pk != keep.pk]
    RepairTicket.objects.filter(pk__in=[t.pk for t in others]).update(is_main=False, state=TicketState.CHILD)
    for t in others:
        VehicleAssignment.objects.filter(ticket=t, state__in=ACTIVE).update(
            state=AssignmentState.RECALLED, closed_at=at, reason="并入同一故障"
        )
        wo.workorder_follow(order=t.workorder, main=keep.workorder, actor=None, note="并入同一故障", now=at)


def covering(area_pk: int, customer_sp: str | None = None) -> ProbableOutage | None:
    """The open outage that says this 台区 (or this customer) is dark: its own 台区's, one of a device above it
    now, its feeder's — or the customer's own service outage."""
    topo = topology.now()
    code = topo.area_code.get(area_pk)
    if code is None or code not in topo.network.areas:
        return None
    chain = topo.network.upstream(topo.network.area_device(code))
    device_pks = [topo.device_pk[d] for d in chain if d in topo.device_pk]
    feeder_code = topo.network.feeder_of(chain[-1]) or ""
    where = Q(level=OutageLevel.TRANSFORMER_AREA, transformer_area_id=area_pk) | Q(
        level__in=[OutageLevel.DEVICE, OutageLevel.FEEDER], device_id__in=device_pks
    )
    if chain[-1] == topology.virtual_source(feeder_code):
        where |= Q(level=OutageLevel.FEEDER, device__isnull=True, feeder_id=topo.feeder_pk[feeder_code])
    if customer_sp:
        where |= Q(
            level=OutageLevel.SERVICE_POINT,
            transformer_area_id=area_pk,
            tickets__workorder__customer__service_point__code=customer_sp,
        )
    found = ProbableOutage.objects.filter(state__in=LIVE).filter(where).distinct()
    # The smallest first: a 台区's own outage says more than the feeder's.
    order: dict[str, int] = {OutageLevel.SERVICE_POINT: 0, OutageLevel.TRANSFORMER_AREA: 1, OutageLevel.DEVICE: 2}
    return min(found, key=lambda o: (order.get(o.level, 3), -o.last_call_at.timestamp()), default=None)


# ---- by hand: the dispatcher's word ----------------------------------------------------------------------------


def _engine_for(
    outage: ProbableOutage,
) -> tuple[Predictor, dict[int, tuple[str, str, frozenset[str]]], dict[int, ProbableOutage], topology.Topology]:
    topo = topology.now()
    feeder_id = outage.feeder_id or 0
    list(Feeder.objects.select_for_update().filter(pk=feeder_id).values_list("pk", flat=True))
    rows = {r.pk: r for r in ProbableOutage.objects.select_for_update().filter(state__in=LIVE, feeder_id=feeder_id)}
    if outage.pk not in rows:
        raise Conflict("该故障研判已结束（已复电、已合并或已撤销），不能再调整")
    held, every = _held(list(rows.values()), topo)
    loaded = [x for r in rows.values() if (x := _as_prediction(r, held[r.pk], topo)) is not None]
    if outage.pk not in {p.id for p, _a in loaded}:
        raise Conflict("该故障研判没有可调整的来电或电表事件，或其所在线路已倒闸改接")
    engine = Predictor(topo.network)
    engine.load(loaded, every)
    before = {p.id: (p.level, p.element, frozenset(p.evidence)) for p, _area in loaded}
    return engine, before, rows, topo


def outage_confirm(
    *,
    outage: ProbableOutage,
    actor: Actor,
    device: str | None = None,
    area: str | None = None,
    now: dt.datetime | None = None,
) -> ProbableOutage:
    """A dispatcher confirms a predicted outage — optionally moving it to a device or 台区 (by code) — so evidence
    no longer moves it; evidence from below its element joins it from now on."""
    now = _now(now)
    if device and area:
        raise ServiceError("设备和台区只能指定一个", field="device")
    with transaction.atomic():
        engine, before, rows, topo = _engine_for(outage)
        level = element = None
        if device:
            if device not in topo.device_pk:
                raise ServiceError(f"设备 {device} 不存在或当前未带电", field="device")
            level, element = DEVICE, device
        elif area:
            if area not in topo.network.areas:
                raise ServiceError(f"台区 {area} 不存在或当前未带电", field="area")
            level, element = AREA, area
        try:
            engine.confirm(outage.pk, level=level, element=element)
        except ValueError as exc:
            raise ServiceError(str(exc), field="device") from exc
        old = before[outage.pk]
        before[outage.pk] = (old[0], old[1], frozenset())  # force the write-back of the confirmed prediction
        saved = _write_back(engine, before, rows, topo, now)
        row = saved[outage.pk]
        ProbableOutage.objects.filter(pk=row.pk).update(confirmed=True)
        record_event(
            actor=actor,
            action="outage.confirm",
            subject_type="repair.probableoutage",
            subject_id=str(row.pk),
            subject_label=str(row),
            at=now,
            old={"level": old[0], "element": old[1]},
            new={"level": row.level, "element": element or old[1]},
        )
        row.refresh_from_db()
        return row


def outage_split(
    *, outage: ProbableOutage, tickets: list[str], actor: Actor, now: dt.datetime | None = None
) -> ProbableOutage:
    """A dispatcher takes some calls (by order number) out of a predicted outage: they become an outage of their
    own, confirmed, with the first of them as its main order."""
    now = _now(now)
    with transaction.atomic():
        engine, before, rows, topo = _engine_for(outage)
        found = dict(
            RepairTicket.objects.filter(outage=outage, workorder__number__in=tickets).values_list(
                "workorder__number", "pk"
            )
        )
        unknown = [n for n in tickets if n not in found]
        if unknown:
            raise ServiceError(f"以下工单不属于该故障研判：{', '.join(unknown)}", field="tickets")
        try:
            new = engine.split(outage.pk, [call_id(pk) for pk in found.values()])
        except ValueError as exc:
            raise ServiceError("拆分须选择该故障的部分（非全部）来电", field="tickets") from exc
        saved = _write_back(engine, before, rows, topo, now)
        row = saved[new.id]
        moved = list(RepairTicket.objects.filter(outage=row).select_related("workorder").order_by("a_at", "pk"))
        main, rest = moved[0], moved[1:]
        if main.is_main is False:
            RepairTicket.objects.filter(pk=main.pk).update(is_main=True, state=TicketState.NEW)
            wo.workorder_unfollow(order=main.workorder, actor=actor, now=now)
        for t in rest:
            if t.is_main:
                RepairTicket.objects.filter(pk=t.pk).update(is_main=False, state=TicketState.CHILD)
            wo.workorder_unfollow(order=t.workorder, actor=actor, note="拆分故障研判", now=now)
            wo.workorder_follow(order=t.workorder, main=main.workorder, actor=actor, note="拆分后的同一故障", now=now)
        record_event(
            actor=actor,
            action="outage.split",
            subject_type="repair.probableoutage",
            subject_id=str(outage.pk),
            subject_label=str(outage),
            at=now,
            new={"into": row.pk, "orders": sorted(found)},
        )
        return row
