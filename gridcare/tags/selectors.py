"""Reads of the tags app: catalogue versions and their comparison, runs and reviews, segments, portraits.

Customer-level reads (segments, portraits) stay inside the reader's data scope: a segment is intersected
with the bitmap of the customers the user may see, and a portrait goes through the customer selector.
"""

# ruff: noqa: S608 - this module builds SQL on purpose: rules compile to SQL, and user SQL is checked by
# rules.check_sql_shape (one SELECT over the documented tables only) before it gets here.

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
from django.db.models import Q
from pyroaring import BitMap

from gridcare.core import refdata
from gridcare.core.errors import NotFound, ServiceError
from gridcare.customers.models import Customer
from gridcare.customers.selectors import customer_get, customers_visible
from gridcare.tags import catalogue, explain, services
from gridcare.tags.models import CatalogueVersion, Segment, TagBitmap, TagRun, TagValue
from gridcare.tags.segments import SegmentError, evaluate, parse, resolver

# Review thresholds for the catalogue review page.
POOR_COVERAGE = 0.6
DOMINANT_SHARE = 0.95
UNSTABLE_SHARE = 0.2


def latest_version() -> CatalogueVersion | None:
    return CatalogueVersion.objects.order_by("-number").first()


def version_get(number: int) -> CatalogueVersion:
    version = CatalogueVersion.objects.filter(number=number).first()
    if version is None:
        raise NotFound(f"没有目录版本 v{number}")
    return version


def version_compare(a: int, b: int) -> dict[str, Any]:
    old, new = version_get(a), version_get(b)
    return {"from": a, "to": b, **catalogue.diff(old.snapshot, new.snapshot)}


def draft_changes() -> dict[str, Any]:
    latest = latest_version()
    return catalogue.diff(latest.snapshot if latest else None, services.draft_snapshot())


def catalogue_tree(snapshot: dict[str, Any]) -> list[dict[str, Any]]:
    """Nested categories with their tags, in catalogue order, for the catalogue page and the portrait."""
    root: dict[str, Any] = {"children": {}, "tags": []}
    for path in snapshot.get("categories", []):
        node = root
        for name in path:
            node = node["children"].setdefault(name, {"children": {}, "tags": []})
    for code, t in sorted(snapshot.get("tags", {}).items(), key=lambda kv: kv[1].get("order", 0)):
        node = root
        for name in t["path"]:
            node = node["children"].setdefault(name, {"children": {}, "tags": []})
        node["tags"].append({"code": code, **t})

    def flatten(node: dict[str, Any], level: int) -> list[dict[str, Any]]:
        return [
            {"name": name, "level": level, "tags": child["tags"], "children": flatten(child, level + 1)}
            for name, child in node["children"].items()
        ]

    return flatten(root, 1)


def runs_recent(limit: int = 20) -> list[TagRun]:
    return list(TagRun.objects.select_related("version").order_by("-pk")[:limit])


def run_get(run_id: int) -> TagRun:
    run = TagRun.objects.select_related("version").filter(pk=run_id).first()
    if run is None:
        raise NotFound(f"没有标签计算 #{run_id}")
    return run


def latest_done_run() -> TagRun | None:
    return TagRun.objects.filter(status=TagRun.Status.DONE).select_related("version").order_by("-pk").first()


def review(run: TagRun) -> list[dict[str, Any]]:
    """Each tag of a run with its evaluation and the flags a catalogue reviewer should look at."""
    tags = run.version.snapshot["tags"]
    rows = []
    for code, rep in run.report.items():
        total = sum(rep["distribution"].values()) or 1
        top_value, top_n = next(iter(rep["distribution"].items()), ("", 0))
        flags = []
        if rep.get("error"):
            flags.append("规则出错")
        if rep["coverage"] < POOR_COVERAGE:
            flags.append("覆盖率低")
        if top_n / total >= DOMINANT_SHARE:
            flags.append("单一取值占绝大多数")
        if rep.get("changed_share") is not None and rep["changed_share"] >= UNSTABLE_SHARE:
            flags.append("取值不稳定")
        if code in run.violations:
            flags.append("单值校验未通过")
        rows.append(
            {
                "code": code,
                "name": tags.get(code, {}).get("name", code),
                "coverage": rep["coverage"],
                "changed_share": rep.get("changed_share"),
                "distribution": rep["distribution"],
                "top_value": top_value,
                "top_share": round(top_n / total, 4),
                "error": rep.get("error"),
                "violation": run.violations.get(code),
                "flags": flags,
            }
        )
    return rows


# ------------------------------------------------------------------------------------------------ bitmaps


@dataclass
class BitmapSet:
    key: tuple[int, ...]
    maps: dict[tuple[str, str], BitMap] = field(default_factory=dict)
    universe: BitMap = field(default_factory=BitMap)
    names: dict[str, str] = field(default_factory=dict)
    values: dict[str, list[str]] = field(default_factory=dict)


_cache: dict[Any, Any] = {}
_lock = threading.Lock()


def current_bitmaps() -> BitmapSet:
    """For every tag of the latest version, the bitmaps of its latest run; cached until a new run lands."""
    version = latest_version()
    if version is None:
        raise ServiceError("还没有发布的标签目录")
    done = list(TagRun.objects.filter(status=TagRun.Status.DONE).order_by("-pk").values_list("pk", "tag_codes")[:200])
    if not done:
        raise ServiceError("还没有完成的标签计算：先运行 gridcare tags run")
    tags = version.snapshot["tags"]
    source: dict[str, int] = {}
    for pk, codes in done:
        for code in codes:
            source.setdefault(code, pk)
    # The reference-data generation is part of the key: a reset database (tests) or reorganised units
    # must not be answered from bitmaps or scopes cached for other rows with the same ids.
    key = (refdata.generation, version.number, done[0][0], *sorted(set(source.values())))
    with _lock:
        cached = _cache.get("bitmaps")
        if cached is not None and cached.key == key:
            return cached
        result = BitmapSet(key=key)
        result.names = {t["name"]: code for code, t in tags.items()}
        result.values = {code: list(t["values"]) for code, t in tags.items()}
        wanted = Q(run_id=done[0][0], tag_code="__all__")
        for code, pk in source.items():
            if code in tags:
                wanted |= Q(run_id=pk, tag_code=code)
        for row in TagBitmap.objects.filter(wanted).only("tag_code", "value", "data").iterator():
            bm = BitMap.deserialize(bytes(row.data))
            if row.tag_code == "__all__":
                result.universe = bm
            else:
                result.maps[(row.tag_code, row.value)] = bm
        _cache["bitmaps"] = result
        return result


def _scope_bitmap(user: Any, key: tuple[int, ...]) -> BitMap | None:
    """None for users who see every customer; otherwise the ids inside their scope (cached per run)."""
    if getattr(user, "sees_everything", False):
        return None
    cache_key = ("scope", getattr(user, "unit_id", None), key)
    with _lock:
        if cache_key in _cache:
            return _cache[cache_key]
    ids = BitMap(customers_visible(user=user).values_list("id", flat=True).iterator())
    with _lock:
        for k in [k for k in _cache if isinstance(k, tuple) and k[0] == "scope" and k[2] != key]:
            del _cache[k]
        _cache[cache_key] = ids
    return ids


def segment_bitmap(*, user: Any, expression: str) -> BitMap:
    try:
        tree = parse(expression)
    except SegmentError as exc:
        raise ServiceError(exc.message, field="expression") from None
    bitmaps = current_bitmaps()
    lookup = resolver(bitmaps.maps, bitmaps.names, bitmaps.values)
    try:
        result = evaluate(tree, lookup, bitmaps.universe)
    except SegmentError as exc:
        raise ServiceError(exc.message, field="expression") from None
    scope = _scope_bitmap(user, bitmaps.key)
    return result if scope is None else result & scope


def segment_evaluate(*, user: Any, expression: str, page: int = 1, page_size: int = 20) -> dict[str, Any]:
    """The count of a segment and one page of its customers (account number, name, type)."""
    matched = segment_bitmap(user=user, expression=expression)
    page = max(page, 1)
    page_size = min(max(page_size, 1), 200)
    start = (page - 1) * page_size
    ids = list(matched[start : start + page_size]) if start < len(matched) else []
    customers = {c.pk: c for c in Customer.objects.filter(pk__in=ids)}
    rows = [
        {
            "customer_id": cid,
            "account_no": customers[cid].account_no if cid in customers else "",
            "name": customers[cid].name if cid in customers else "",
            "customer_type": customers[cid].get_customer_type_display() if cid in customers else "",
        }
        for cid in ids
    ]
    return {"count": len(matched), "page": page, "page_size": page_size, "customers": rows}


def segment_customer_ids(*, user: Any, segment: Segment) -> list[int]:
    """The audience of a saved segment (for notices and exports), inside the user's scope."""
    return list(segment_bitmap(user=user, expression=segment.expression))


def segments_all() -> list[Segment]:
    return list(Segment.objects.select_related("created_by"))


def segment_get(segment_id: int) -> Segment:
    segment = Segment.objects.filter(pk=segment_id).first()
    if segment is None:
        raise NotFound(f"没有客户群 #{segment_id}")
    return segment


# ------------------------------------------------------------------------------------------------ portrait


def _features_row(run_id: int, customer_id: int) -> dict[str, Any]:
    path = features_path(run_id)
    if not path.exists():
        return {}
    con = duckdb.connect(":memory:")
    try:
        cur = con.execute(
            f"SELECT * FROM read_parquet('{str(path).replace(chr(39), chr(39) * 2)}') WHERE customer_id = ?",
            [customer_id],
        )
        row = cur.fetchone()
        names = [d[0] for d in cur.description] if cur.description else []
    finally:
        con.close()
    return dict(zip(names, row, strict=True)) if row else {}


def portrait(*, user: Any, account_no: str) -> dict[str, Any]:
    """A customer's current tags grouped by catalogue levels, each with why and its history."""
    customer = customer_get(user=user, account_no=account_no)
    version = latest_version()
    rows = list(
        TagValue.objects.filter(customer_id=customer.pk).select_related("from_run", "to_run").order_by("from_run_id")
    )
    current = [r for r in rows if r.to_run_id is None]
    history: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        history.setdefault(r.tag_code, []).append(
            {
                "value": r.value,
                "from_date": r.from_date,
                "to_date": r.to_date,
                "from_run": r.from_run_id,
                "to_run": r.to_run_id,
            }
        )
    if version is None:
        return {"customer": customer, "version": None, "groups": [], "empty": True}
    tags = version.snapshot["tags"]
    features: dict[int, dict[str, Any]] = {}
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for r in sorted(current, key=lambda r: tags.get(r.tag_code, {}).get("order", 0)):
        t = tags.get(r.tag_code)
        if t is None:
            continue  # a tag removed from the catalogue: its values are history only
        if r.from_run_id not in features:
            features[r.from_run_id] = _features_row(r.from_run_id, customer.pk)
        groups.setdefault(tuple(t["path"]), []).append(
            {
                "code": r.tag_code,
                "name": t["name"],
                "value": r.value,
                "since": r.from_date,
                "run": r.from_run_id,
                "why": explain.why(t["rule"], features[r.from_run_id], r.value),
                "business_rule": t["business_rule"],
                "history": history.get(r.tag_code, []),
            }
        )
    return {
        "customer": customer,
        "version": version.number,
        "groups": [{"path": list(path), "tags": items} for path, items in groups.items()],
        "empty": not current,
    }


def value_on_run(*, customer_id: int, tag_code: str, run_id: int) -> str | None:
    """The customer's value of a tag as it stood after run `run_id` (None if it had none)."""
    row = (
        TagValue.objects.filter(customer_id=customer_id, tag_code=tag_code, from_run_id__lte=run_id)
        .filter(Q(to_run__isnull=True) | Q(to_run_id__gt=run_id))
        .values_list("value", flat=True)
        .first()
    )
    return row


def features_path(run_id: int) -> Path:
    """Where a run keeps the metrics behind its values (written by the engine, read for the portrait)."""
    return services.run_dir(run_id) / "features.parquet"
