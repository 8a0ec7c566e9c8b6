"""Display helpers shared by pages, API and exports: masking, durations, money."""

from __future__ import annotations

import re
from decimal import Decimal


def mask_phone(phone: str) -> str:
    """138****5678: keep the first three and last four digits; short numbers keep only the last two."""
    if not phone:
        return ""
    digits = re.sub(r"\D", "", phone)
    if len(digits) >= 7:
        return f"{digits[:3]}****{digits[-4:]}"
    if len(digits) > 2:
        return "*" * (len(digits) - 2) + digits[-2:]
    return "*" * len(digits)


def format_duration(minutes: float) -> str:
    """`1 天 3 小时`, `2 小时 5 分钟`, `12 分钟` — the style the screens use."""
    total = round(minutes)
    days, rest = divmod(total, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = []
    if days:
        parts.append(f"{days} 天")
    if hours:
        parts.append(f"{hours} 小时")
    if mins and not days:
        parts.append(f"{mins} 分钟")
    return " ".join(parts) or "0 分钟"


def format_money(amount: Decimal | float) -> str:
    return f"¥{Decimal(str(amount)):,.2f}"
