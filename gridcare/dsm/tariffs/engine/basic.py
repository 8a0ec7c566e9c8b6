"""The basic charge of a two-part tariff: by transformer capacity (with suspensions) or by maximum demand."""

from __future__ import annotations

from decimal import Decimal

from gridcare.dsm.tariffs.engine.bill import BillError, _Builder, _pct, _plain
from gridcare.dsm.tariffs.schema import Basic
from gridcare.dsm.tariffs.usage import TRANSFORMER_STATUSES, Usage


def _basic(basic: Basic, usage: Usage, b: _Builder) -> None:
    method = basic.method
    if method == "either":
        if usage.basic_method is None:
            raise BillError("this tariff bills basic charge by capacity or by demand: say which in 'basic_method'")
        method = usage.basic_method
    if method == "demand":
        _demand(basic, usage, b)
        return
    if basic.capacity_price is None:
        raise BillError("the tariff gives no capacity_price for a capacity-based basic charge")
    if not usage.transformers:
        raise BillError("a capacity-based basic charge needs 'transformers' (each with its kva and status)")
    price = basic.capacity_price
    per_day = basic.days_per_month
    for i, t in enumerate(usage.transformers):
        code = f"basic.capacity.{i + 1}"
        status = TRANSFORMER_STATUSES[t.status]
        if t.status == "standby_cold_sealed":
            b.add(
                "basic",
                code,
                f"基本电费 {t.name}（{status}，不计收）",
                t.kva,
                "kVA",
                Decimal(0),
                f"{_plain(t.kva)} kVA 已加封冷备用 × 0",
            )
            continue
        if t.days_in_service is not None and t.days_in_service < per_day:
            days = Decimal(t.days_in_service)
            b.add(
                "basic",
                code,
                f"基本电费 {t.name}（{status}，实用 {t.days_in_service} 天）",
                t.kva,
                "kVA",
                price * days / per_day,
                f"{_plain(t.kva)} kVA × {_plain(price)} 元/kVA·月 × {t.days_in_service}/{per_day}",
                exact=t.kva * price * days / per_day,
            )
        else:
            b.add(
                "basic",
                code,
                f"基本电费 {t.name}（{status}）",
                t.kva,
                "kVA",
                price,
                f"{_plain(t.kva)} kVA × {_plain(price)} 元/kVA·月",
            )
        if t.suspended_days:
            if t.suspended_days < basic.suspension_min_days:
                b.notes.append(
                    f"{t.name} 暂停 {t.suspended_days} 天，少于 {basic.suspension_min_days} 天，基本电费照收"
                    f"（suspension shorter than {basic.suspension_min_days} days is not deducted）"
                )
            else:
                b.add(
                    "basic",
                    f"{code}.suspension",
                    f"暂停减收 {t.name}（{t.suspended_days} 天）",
                    t.kva,
                    "kVA",
                    -(price * t.suspended_days / per_day),
                    f"-{_plain(t.kva)} kVA × {_plain(price)} 元/kVA·月 × {t.suspended_days}/{per_day}",
                    exact=-(t.kva * price * t.suspended_days / per_day),
                )


def _demand(basic: Basic, usage: Usage, b: _Builder) -> None:
    """Basic charge by maximum demand (按最大需量).

    The floor comes first: billed demand is at least `demand_floor_ratio` × contract capacity. Above it,
    with a declared (contracted) demand, the part of the actual maximum demand above
    `demand_excess_threshold` × declared is charged at `demand_excess_multiplier` × the demand price; up to
    the threshold the declared demand is billed (按合同确定值收取), or the actual one with `demand_within: actual`.
    """
    if basic.demand_price is None:
        raise BillError("the tariff gives no demand_price for a demand-based basic charge")
    if usage.max_demand_kw is None:
        raise BillError("a demand-based basic charge needs 'max_demand_kw' (the month's maximum demand)")
    actual = usage.max_demand_kw
    price = basic.demand_price
    label = "基本电费（按最大需量）"
    floor = usage.contract_kva * basic.demand_floor_ratio if usage.contract_kva is not None else None
    if floor is None:
        b.notes.append("未提供合同容量 contract_kva，未校核需量下限")
    if floor is not None and floor > actual:
        formula = (
            f"max(实际最大需量 {_plain(actual)} kW, {_pct(basic.demand_floor_ratio)}% × "
            f"合同容量 {_plain(usage.contract_kva or Decimal(0))} kVA = {_plain(floor)}) = {_plain(floor)} kW"
        )
        b.notes.append(f"最大需量低于合同容量的 {_pct(basic.demand_floor_ratio)}%，按 {_plain(floor)} kW 计收")
        b.add("basic", "basic.demand", label, floor, "kW", price, f"{formula} × {_plain(price)} 元/kW·月")
        return
    declared = usage.declared_demand_kw
    if declared is None:
        b.add("basic", "basic.demand", label, actual, "kW", price, f"{_plain(actual)} kW × {_plain(price)} 元/kW·月")
        return
    if floor is not None and declared < floor:
        # A declared demand may not be below the floor either: the excess is measured from the floor, else
        # declaring less would cost more (600 kW declared on 2,000 kVA, 820 kW used: 40,400 instead of 32,000).
        ratio = _pct(basic.demand_floor_ratio)
        b.notes.append(f"核定需量 {_plain(declared)} kW 低于合同容量的 {ratio}%，按 {_plain(floor)} kW 核定")
        declared = floor
    limit = declared * basic.demand_excess_threshold
    pct = _pct(basic.demand_excess_threshold)
    if actual <= limit:
        if basic.demand_within == "declared":
            billed = max(declared, floor) if floor is not None else declared
            b.add(
                "basic",
                "basic.demand",
                f"{label}（未超核定需量 {pct}%，按核定需量）",
                billed,
                "kW",
                price,
                f"核定需量 {_plain(billed)} kW（实际 {_plain(actual)} kW ≤ {pct}% × {_plain(declared)} = "
                f"{_plain(limit)} kW）× {_plain(price)} 元/kW·月",
            )
        else:
            b.add(
                "basic",
                "basic.demand",
                label,
                actual,
                "kW",
                price,
                f"实际最大需量 {_plain(actual)} kW（≤ {pct}% × 核定需量 {_plain(declared)} = {_plain(limit)} kW）"
                f" × {_plain(price)} 元/kW·月",
            )
        return
    excess = actual - limit
    multiplier = basic.demand_excess_multiplier
    b.add(
        "basic",
        "basic.demand",
        f"{label}（核定需量 {pct}% 以内）",
        limit,
        "kW",
        price,
        f"{pct}% × 核定需量 {_plain(declared)} kW = {_plain(limit)} kW × {_plain(price)} 元/kW·月",
    )
    b.add(
        "basic",
        "basic.demand.excess",
        f"超核定需量 {pct}% 部分（按 {_plain(multiplier)} 倍需量电价）",
        excess,
        "kW",
        price * multiplier,
        f"(实际 {_plain(actual)} − {_plain(limit)}) kW = {_plain(excess)} kW × {_plain(price)} 元/kW·月 × "
        f"{_plain(multiplier)}",
    )
    b.notes.append(
        f"实际最大需量 {_plain(actual)} kW 超过核定需量 {_plain(declared)} kW 的 {pct}%（{_plain(limit)} kW），"
        f"超出的 {_plain(excess)} kW 按 {_plain(multiplier)} 倍需量电价计收"
    )
