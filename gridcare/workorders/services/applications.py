"""Business applications (业扩): process steps with their own deadlines, and the change to the ledger at the end."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from gridcare.core.errors import ServiceError
from gridcare.customers.services import customer_create, customer_update
from gridcare.workorders.models import (
    ApplicationStep,
    Milestone,
    TimeUnit,
    WorkOrder,
)
from gridcare.workorders.services._base import Actor, _fresh, _now, _transition
from gridcare.workorders.services.deadlines import _make_deadline, _meet


def _process_for(order: WorkOrder) -> list[list[Any]]:
    process = order.category.process or {}
    steps = process.get(order.supply_class) or process.get("default") or []
    return [list(s) for s in steps]


def _start_steps(order: WorkOrder, now: dt.datetime) -> None:
    steps = _process_for(order)
    ApplicationStep.objects.bulk_create(
        ApplicationStep(
            order=order, seq=i, code=str(code), name=str(name), days=int(days), started_at=now if i == 1 else None
        )
        for i, (code, name, days) in enumerate(steps, start=1)
    )
    if steps:
        code, _, days = steps[0]
        _make_deadline(
            order,
            milestone=Milestone.STEP,
            step_code=str(code),
            amount=int(days),
            unit=TimeUnit.WORKING_DAYS,
            started_at=now,
            now=now,
            policy=order.category.sla_policy,
        ).save()


def workorder_complete_step(
    *,
    order: WorkOrder,
    actor: Actor,
    note: str = "",
    params: dict[str, Any] | None = None,
    now: dt.datetime | None = None,
) -> WorkOrder:
    """Finish the current process step; the last one applies the change to the customer's ledger."""
    now = _now(now)
    with transaction.atomic():
        order = _fresh(order)
        step = order.steps.filter(done_at__isnull=True).order_by("seq").first()
        if step is None:
            raise ServiceError("该工单没有待办的业务环节")
        if params:
            order.application_params = {**order.application_params, **params}
            WorkOrder.objects.filter(pk=order.pk).update(application_params=order.application_params)
        nxt = order.steps.filter(seq__gt=step.seq).order_by("seq").first()
        if nxt is None:
            _apply_ledger_effect(order, actor, now)  # raises before anything is marked done if params are wrong
        order = _transition(order, "complete_step", actor, now, note=note, extra={"step": step.code})
        ApplicationStep.objects.filter(pk=step.pk).update(done_at=now, note=note[:200])
        _meet(order, [Milestone.STEP], now, step_code=step.code)
        if nxt is not None:
            ApplicationStep.objects.filter(pk=nxt.pk).update(started_at=now)
            _make_deadline(
                order,
                milestone=Milestone.STEP,
                step_code=nxt.code,
                amount=nxt.days,
                unit=TimeUnit.WORKING_DAYS,
                started_at=now,
                now=now,
                policy=order.category.sla_policy,
            ).save()
        else:
            _meet(order, [Milestone.COMPLETE], now)
        return order


NEW_CUSTOMER_FIELDS = [
    "account_no",
    "name",
    "customer_type",
    "category",
    "voltage_level",
    "contract_kva",
    "address",
    "district",
    "service_point",
]


def _apply_ledger_effect(order: WorkOrder, actor: Actor, now: dt.datetime) -> None:
    effect = order.category.ledger_effect or {}
    params = order.application_params or {}
    if effect.get("create_customer"):
        _create_customer_from_application(order, params, actor, now)
        return
    changes: dict[str, Any] = dict(effect.get("set", {}))
    for field, param in effect.get("params", {}).items():
        if param not in params or params[param] in ("", None):
            raise ServiceError(f"办结前须填写业务参数 {param}", field=param)
        value = params[param]
        if field == "contract_kva":
            try:
                value = Decimal(str(value))
            except ArithmeticError:
                raise ServiceError(f"{param} 应为数字", field=param) from None
            if effect.get("delta"):
                value = (order.customer.contract_kva if order.customer else Decimal(0)) + value
        changes[field] = value
    if changes and order.customer is not None:
        customer_update(
            customer=order.customer, actor=actor, reason=f"工单 {order.number} {order.category.name}办结", **changes
        )


def _create_customer_from_application(order: WorkOrder, params: dict[str, Any], actor: Actor, now: dt.datetime) -> None:
    from gridcare.grid.models import District, ServicePoint

    missing = [f for f in NEW_CUSTOMER_FIELDS if not params.get(f)]
    if missing:
        raise ServiceError(f"新装办结前须填写：{', '.join(missing)}", field=missing[0])
    district = District.objects.filter(code=params["district"]).first()
    point = ServicePoint.objects.select_related("transformer_area__unit").filter(code=params["service_point"]).first()
    if district is None or point is None:
        raise ServiceError("行政区域或计量点编码不存在", field="district" if district is None else "service_point")
    customer = customer_create(
        actor=actor,
        contacts=[{"name": order.caller_name or params["name"], "phone": order.caller_phone}]
        if order.caller_phone
        else [],
        account_no=params["account_no"],
        name=params["name"],
        customer_type=params["customer_type"],
        category=params["category"],
        voltage_level=params["voltage_level"],
        contract_kva=Decimal(str(params["contract_kva"])),
        address=params["address"],
        district=district,
        area_class=district.area_class,
        service_point=point,
        service_unit=point.transformer_area.unit,
        opened_on=timezone.localtime(now).date(),
        lat=point.lat,
        lon=point.lon,
    )
    WorkOrder.objects.filter(pk=order.pk).update(customer=customer)
    order.customer = customer
