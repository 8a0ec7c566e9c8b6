"""Pure catalogue logic: level limits, snapshots of the draft, comparing versions, which tags are due.

No Django: the services hand in plain dicts, so versions can be compared and schedules checked in tests alone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

MAX_LEVELS = 5
TAG_FIELDS = (
    "name",
    "path",
    "definition",
    "owner",
    "data_sources",
    "business_rule",
    "math_model",
    "rule",
    "values",
    "single_valued",
    "schedule",
)


class LevelError(ValueError):
    """The catalogue would get deeper than five levels."""


def check_category_level(level: int) -> None:
    """Categories use levels 1–4; level 5 is the tag itself, so a category at level 5 would make six."""
    if level < 1:
        raise LevelError("层级必须从 1 开始")
    if level > MAX_LEVELS - 1:
        raise LevelError(
            f"标签目录最多 {MAX_LEVELS} 级（主体/维度/分析主题/子主题/标签），不能在第 {level - 1} 级分类下再建分类"
        )


def check_tag_path(path: Iterable[str]) -> None:
    depth = len(list(path)) + 1
    if depth < 4:
        raise LevelError("标签必须挂在分析主题(第 3 级)或子主题(第 4 级)之下")
    if depth > MAX_LEVELS:
        raise LevelError(f"标签位于第 {depth} 级，超过了 {MAX_LEVELS} 级的上限")


def diff(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> dict[str, Any]:
    """What changed between two snapshots: added/removed tags, changed tags with their fields, rule changes."""
    old_tags: Mapping[str, Any] = (old or {}).get("tags", {})
    new_tags: Mapping[str, Any] = new.get("tags", {})
    added = sorted(set(new_tags) - set(old_tags))
    removed = sorted(set(old_tags) - set(new_tags))
    changed: dict[str, list[str]] = {}
    for code in sorted(set(old_tags) & set(new_tags)):
        fields = [f for f in TAG_FIELDS if old_tags[code].get(f) != new_tags[code].get(f)]
        if fields:
            changed[code] = fields
    old_cats = {tuple(c) for c in (old or {}).get("categories", [])}
    new_cats = {tuple(c) for c in new.get("categories", [])}
    return {
        "added": added,
        "removed": removed,
        "changed": changed,
        "rules_changed": sorted(code for code, fields in changed.items() if "rule" in fields or "values" in fields),
        "categories_added": sorted("/".join(c) for c in new_cats - old_cats),
        "categories_removed": sorted("/".join(c) for c in old_cats - new_cats),
    }


def is_empty_diff(d: Mapping[str, Any]) -> bool:
    return not any(d[k] for k in ("added", "removed", "changed", "categories_added", "categories_removed"))


def is_due(schedule: str, as_of: dt.date) -> bool:
    """Daily tags every day, weekly ones on Mondays, monthly ones on the 1st."""
    if schedule == "daily":
        return True
    if schedule == "weekly":
        return as_of.weekday() == 0
    return as_of.day == 1


def tags_due(tags: Mapping[str, Mapping[str, Any]], as_of: dt.date) -> list[str]:
    return [code for code, t in tags.items() if is_due(str(t.get("schedule", "monthly")), as_of)]
