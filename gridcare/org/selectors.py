"""Reads of the organisation shared by the apps that chase late work (work-order supervision, repair alerts)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from gridcare.org.models import OrgUnit, UnitManager

Chain = list[tuple[str, str]]  # (who, phone) in the order they are called


def escalation_chains(unit_ids: Iterable[int]) -> dict[int, tuple[str, Chain]]:
    """Per unit: its name and who is phoned at each level — the duty line first, then managers by rank.
    Two queries for any number of units."""
    ids = set(unit_ids)
    managers: dict[int, Chain] = defaultdict(list)
    for unit_id, name, title, phone in (
        UnitManager.objects.filter(unit_id__in=ids)
        .order_by("unit_id", "rank", "id")
        .values_list("unit_id", "name", "title", "phone")
    ):
        managers[unit_id].append((f"{title or '负责人'} {name}", phone))
    return {
        pk: (name, [("值班电话", duty), *managers[pk]])
        for pk, name, duty in OrgUnit.objects.filter(pk__in=ids).values_list("pk", "name", "duty_phone")
    }
