"""The power-factor adjustment (力调电费) over the lines it applies to."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from gridcare.dsm.tariffs.engine.bill import BillError, _Builder, _plain
from gridcare.dsm.tariffs.powerfactor import adjustment_percent, monthly_factor
from gridcare.dsm.tariffs.schema import Version
from gridcare.dsm.tariffs.usage import Usage


def _power_factor(version: Version, usage: Usage, b: _Builder, adjusted_adders: set[str]) -> None:
    pf = version.power_factor
    if pf is None:
        return
    if usage.power_factor is not None:
        factor = usage.power_factor.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        source = f"功率因数 {_plain(factor)}"
    elif usage.kvarh is not None:
        total = usage.total_kwh
        if total <= 0:
            b.notes.append("有功电量为 0，不做功率因数调整")
            return
        factor = monthly_factor(total, usage.kvarh)
        source = f"功率因数 {_plain(total)}/√({_plain(total)}²+{_plain(usage.kvarh)}²) = {_plain(factor)}"
    else:
        raise BillError("this tariff adjusts for power factor: give 'power_factor' or 'kvarh' (reactive energy)")
    percent = adjustment_percent(factor, pf.standard)
    base = Decimal(0)
    for line in b.lines:
        kind = "energy" if line.kind == "surcharge" else line.kind
        if kind in pf.applies_to or (line.kind == "adder" and line.code in adjusted_adders):
            base += line.amount
    rate = percent / 100
    direction = "增收" if percent > 0 else ("减收" if percent < 0 else "不调整")
    b.add(
        "power_factor",
        "power_factor",
        f"功率因数调整电费（标准 {_plain(pf.standard)}，{direction} {_plain(abs(percent))}%）",
        base,
        "元",
        rate,
        f"{source}；{_plain(base)} 元 × {_plain(percent)}%",
    )
