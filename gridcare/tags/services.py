"""Every write of the tags app: draft catalogue edits, publishing, model fitting, runs, segments, credit import.

Each function is keyword-only, runs in one transaction and writes its audit event there. The long part of a
run (the engine) runs outside any transaction; only its results are written atomically, with a
compare-and-swap on the run's status so two workers never execute the same run.
"""

from __future__ import annotations

import datetime as dt
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from gridcare.core.audit import record_event
from gridcare.core.errors import Conflict, NotFound, ServiceError
from gridcare.tags import catalogue, defaults, engine, mining, rules
from gridcare.tags.models import (
    CatalogueVersion,
    Schedule,
    Segment,
    TagBitmap,
    TagCategory,
    TagDefinition,
    TagRun,
    TagValue,
)
from gridcare.tags.segments import SegmentError, parse

Progress = Callable[[str], None]


def store_dir() -> Path:
    return Path(settings.ANALYTICS_DIR) / "tags"


def run_dir(run_id: int) -> Path:
    return store_dir() / "runs" / str(run_id)


# ------------------------------------------------------------------------------------------------ catalogue


def category_create(*, name: str, parent: TagCategory | None, actor: Any, order: int = 0) -> TagCategory:
    name = name.strip()
    if not name:
        raise ServiceError("分类名称不能为空", field="name")
    level = 1 if parent is None else parent.level + 1
    try:
        catalogue.check_category_level(level)
    except catalogue.LevelError as exc:
        raise ServiceError(str(exc), field="parent") from None
    with transaction.atomic():
        if TagCategory.objects.filter(parent=parent, name=name).exists():
            raise Conflict(f"分类 {name} 已存在", field="name")
        category = TagCategory.objects.create(name=name, parent=parent, level=level, order=order)
        record_event(actor=actor, action="tags.category_create", subject=category, new={"path": category.path()})
    return category


def category_ensure(*, path: Sequence[str], actor: Any) -> TagCategory:
    """The category at `path`, creating missing levels (each through category_create)."""
    parent: TagCategory | None = None
    for name in path:
        found = TagCategory.objects.filter(parent=parent, name=name).first()
        parent = found or category_create(name=name, parent=parent, actor=actor)
    if parent is None:
        raise ServiceError("分类路径不能为空", field="path")
    return parent


def _compile(code: str, rule: Any, values: Sequence[str], single_valued: bool) -> rules.CompiledTag:
    if not isinstance(rule, dict):
        raise ServiceError('规则必须是 JSON 对象，例如 {"kind": "sql", "sql": "SELECT …"}', field="rule")
    try:
        compiled = rules.compile_rule(code, rule, values, single_valued=single_valued)
        rules.validate(compiled)
    except rules.RuleError as exc:
        errors = {"rule": [str(exc)]}
        if exc.line:
            errors["position"] = [f"{exc.line}:{exc.column}"]
        raise ServiceError(f"规则无效：{exc}", field="rule", errors=errors) from None
    except (KeyError, TypeError, ValueError) as exc:
        raise ServiceError(f"规则参数不完整或类型不对：{exc}", field="rule") from None
    return compiled


def tag_save(
    *,
    code: str,
    name: str,
    category: TagCategory,
    definition: str,
    owner: str,
    data_sources: str,
    business_rule: str,
    math_model: str,
    rule: dict[str, Any],
    values: list[str],
    actor: Any,
    single_valued: bool = True,
    schedule: str = Schedule.MONTHLY,
    order: int | None = None,
) -> TagDefinition:
    """Create or edit a tag in the draft; the rule is compiled and bound now, so a bad rule never gets saved."""
    code = code.strip()
    if not code or not code.replace("_", "").isalnum() or not code.isascii():
        raise ServiceError("标签编码只能用英文字母、数字和下划线", field="code")
    values = [str(v).strip() for v in values if str(v).strip()]
    if single_valued and rules.UNKNOWN not in values:
        values.append(rules.UNKNOWN)  # exhaustive: missing data has its own value
    if len(set(values)) != len(values):
        raise ServiceError("值域里有重复的值", field="values")
    try:
        catalogue.check_tag_path(category.path())
    except catalogue.LevelError as exc:
        raise ServiceError(str(exc), field="category") from None
    if schedule not in Schedule.values:
        raise ServiceError(f"更新周期只能是 {', '.join(Schedule.values)}", field="schedule")
    _compile(code, rule, values, single_valued)
    fields = {
        "name": name.strip(),
        "category": category,
        "definition": definition,
        "owner": owner,
        "data_sources": data_sources,
        "business_rule": business_rule,
        "math_model": math_model,
        "rule": rule,
        "values": values,
        "single_valued": single_valued,
        "schedule": schedule,
    }
    with transaction.atomic():
        tag = TagDefinition.objects.select_for_update().filter(code=code).first()
        if tag is None:
            next_order = order if order is not None else (TagDefinition.objects.aggregate(m=Max("order"))["m"] or 0) + 1
            tag = TagDefinition.objects.create(code=code, order=next_order, **fields)
            record_event(actor=actor, action="tags.tag_create", subject=tag, new={"code": code, "rule": rule})
            return tag
        old = {k: (v.pk if k == "category" else v) for k, v in ((k, getattr(tag, k)) for k in fields)}
        for key, value in fields.items():
            setattr(tag, key, value)
        if order is not None:
            tag.order = order
        tag.save()
        new: dict[str, Any] = {k: v for k, v in fields.items() if k != "category"}
        new["category"] = category.pk
        changed = {k for k in new if old[k] != new[k]}
        record_event(
            actor=actor,
            action="tags.tag_update",
            subject=tag,
            old={k: old[k] for k in changed},
            new={k: new[k] for k in changed},
        )
    return tag


def tag_delete(*, code: str, actor: Any) -> None:
    with transaction.atomic():
        tag = TagDefinition.objects.filter(code=code).first()
        if tag is None:
            raise NotFound(f"草稿中没有标签 {code}")
        record_event(actor=actor, action="tags.tag_delete", subject=tag, old={"code": code, "rule": tag.rule})
        tag.delete()


def draft_snapshot() -> dict[str, Any]:
    categories = list(TagCategory.objects.select_related("parent"))
    by_id = {c.pk: c for c in categories}

    def path(cat: TagCategory) -> list[str]:
        names = []
        node: TagCategory | None = cat
        while node is not None:
            names.append(node.name)
            node = by_id.get(node.parent_id) if node.parent_id else None
        return names[::-1]

    tags = {}
    for t in TagDefinition.objects.all():
        tags[t.code] = {
            "name": t.name,
            "path": path(by_id[t.category_id]),
            "definition": t.definition,
            "owner": t.owner,
            "data_sources": t.data_sources,
            "business_rule": t.business_rule,
            "math_model": t.math_model,
            "rule": t.rule,
            "values": t.values,
            "single_valued": t.single_valued,
            "schedule": t.schedule,
            "order": t.order,
        }
    return {"categories": [path(c) for c in categories], "tags": tags}


def catalogue_publish(*, actor: Any, note: str = "") -> CatalogueVersion:
    """Freeze the draft into a new version; refused when nothing changed since the last one."""
    with transaction.atomic():
        latest = CatalogueVersion.objects.select_for_update().order_by("-number").first()
        snapshot = draft_snapshot()
        if not snapshot["tags"]:
            raise ServiceError("草稿目录里还没有标签，无法发布")
        for code, t in snapshot["tags"].items():  # the draft was checked tag by tag; check it as a whole too
            _compile(code, t["rule"], t["values"], t["single_valued"])
        change = catalogue.diff(latest.snapshot if latest else None, snapshot)
        if latest is not None and catalogue.is_empty_diff(change):
            raise Conflict(f"草稿与已发布的 v{latest.number} 相同，无需发布")
        version = CatalogueVersion.objects.create(
            number=(latest.number + 1) if latest else 1,
            published_at=timezone.now(),
            published_by=_actor_name(actor),
            note=note,
            snapshot=snapshot,
        )
        record_event(
            actor=actor,
            action="tags.catalogue_publish",
            subject=version,
            new={"number": version.number, "diff": change},
            note=note,
        )
    return version


def _actor_name(actor: Any) -> str:
    if actor is None:
        return "系统"
    if isinstance(actor, str):
        return actor
    return str(actor.get_full_name() or actor.get_username())


def defaults_load(*, actor: Any) -> int:
    """Put the shipped default catalogue into the draft (creating or overwriting those tags)."""
    with transaction.atomic():
        for path in defaults.CATEGORIES:
            category_ensure(path=path, actor=actor)
        for i, t in enumerate(defaults.TAGS):
            tag_save(
                code=t["code"],
                name=t["name"],
                category=category_ensure(path=t["path"], actor=actor),
                definition=t["definition"],
                owner=t["owner"],
                data_sources=t["data_sources"],
                business_rule=t["business_rule"],
                math_model=t["math_model"],
                rule=t["rule"],
                values=list(t["values"]),
                single_valued=t["single_valued"],
                schedule=t["schedule"],
                order=i + 1,
                actor=actor,
            )
    return len(defaults.TAGS)


def model_fit(*, code: str, actor: Any, as_of: dt.date, inputs: dict[str, str | None] | None = None) -> TagDefinition:
    """Fit a clustering tag's k-means on the current load shapes and store the centroids in the draft."""
    tag = TagDefinition.objects.filter(code=code).first()
    if tag is None:
        raise NotFound(f"草稿中没有标签 {code}")
    if tag.rule.get("kind") != "cluster":
        raise ServiceError(f"标签 {code} 不是聚类规则，无需训练", field="code")
    inputs = inputs or engine.find_inputs(Path(settings.ANALYTICS_DIR))
    shapes = engine.load_shapes(inputs, as_of)
    try:
        fitted = mining.fit(shapes, k=len(tag.rule.get("names", [])) or 4)
    except rules.RuleError as exc:
        raise ServiceError(str(exc), field="code") from None
    fitted["fitted_as_of"] = as_of.isoformat()
    return tag_save(
        code=tag.code,
        name=tag.name,
        category=tag.category,
        definition=tag.definition,
        owner=tag.owner,
        data_sources=tag.data_sources,
        business_rule=tag.business_rule,
        math_model=tag.math_model,
        rule=fitted,
        values=sorted(set(tag.values) | set(fitted["names"]), key=lambda v: (v == rules.UNKNOWN, v)),
        single_valued=tag.single_valued,
        schedule=tag.schedule,
        actor=actor,
    )


# ------------------------------------------------------------------------------------------------ runs


def run_create(
    *,
    actor: Any,
    as_of: dt.date,
    tag_codes: Sequence[str] | None = None,
    engine_name: str = "duckdb",
    now: dt.datetime | None = None,
) -> TagRun:
    """Declare a run of the latest published version (what it will cover is recorded when it executes)."""
    if engine_name not in ("duckdb", "spark"):
        raise ServiceError("引擎只能是 duckdb 或 spark", field="engine")
    version = CatalogueVersion.objects.order_by("-number").first()
    if version is None:
        raise ServiceError("还没有发布的标签目录：先 gridcare tags load-defaults --publish 或在目录页发布")
    known = version.snapshot["tags"]
    codes = list(tag_codes or known)
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise ServiceError(f"已发布的 v{version.number} 中没有标签：{', '.join(unknown)}", field="tags")
    with transaction.atomic():
        run = TagRun.objects.create(
            version=version,
            engine=engine_name,
            as_of=as_of,
            tag_codes=codes,
            queued_at=now or timezone.now(),
            requested_by=_actor_name(actor),
        )
        record_event(
            actor=actor, action="tags.run_create", subject=run, new={"as_of": as_of.isoformat(), "tags": codes}
        )
    return run


def _claim(run: TagRun, now: dt.datetime) -> bool:
    return bool(
        TagRun.objects.filter(pk=run.pk, status=TagRun.Status.QUEUED).update(
            status=TagRun.Status.RUNNING, started_at=now
        )
    )


def _previous_values(codes: Sequence[str], before_run: int) -> pa.Table | None:
    """The last computed values of each tag (from the run files), to diff against."""
    latest: dict[int, list[str]] = {}
    for code in codes:
        prev = _latest_run_with(code, before_run)
        if prev is not None:
            latest.setdefault(prev, []).append(code)
    if not latest:
        return None
    parts = []
    for run_id, tag_codes in latest.items():
        path = run_dir(run_id) / "values.parquet"
        if path.exists():
            table = pq.read_table(path)
            mask = pc.is_in(table.column("tag_code"), value_set=pa.array(tag_codes))
            parts.append(table.filter(mask))
    return pa.concat_tables(parts) if parts else None


def _latest_run_with(code: str, before_run: int) -> int | None:
    for pk, codes in (
        TagRun.objects.filter(status=TagRun.Status.DONE, pk__lt=before_run)
        .order_by("-pk")
        .values_list("pk", "tag_codes")
    ):
        if code in codes:
            return int(pk)
    return None


def run_execute(
    *,
    run: TagRun,
    now: dt.datetime,
    inputs: dict[str, str | None] | None = None,
    progress: Progress | None = None,
    spark: Any = None,
) -> TagRun:
    """Execute a queued run: compute, check, evaluate, then write values, history and bitmaps in one transaction."""
    if not _claim(run, now):
        raise Conflict(f"计算 #{run.pk} 已被其他进程领取或已结束")
    run.refresh_from_db()
    started = time.perf_counter()
    snapshot = run.version.snapshot["tags"]
    try:
        compiled: list[rules.CompiledTag] = []
        refused: dict[str, str] = {}
        for code in run.tag_codes:
            # Checked again at run time: a version published before a check existed must not bypass it. A
            # refused rule is reported against its tag; the other tags still run.
            try:
                compiled.append(
                    rules.compile_rule(
                        code,
                        snapshot[code]["rule"],
                        snapshot[code]["values"],
                        single_valued=snapshot[code]["single_valued"],
                    )
                )
            except rules.RuleError as exc:
                refused[code] = f"规则无效：{exc}"
        inputs = inputs or engine.find_inputs(Path(settings.ANALYTICS_DIR))
        if inputs.get("customers") is None:
            raise ServiceError(f"分析库中没有客户台账 customers.parquet（{settings.ANALYTICS_DIR}）")
        out_dir = run_dir(run.pk)
        if run.engine == "spark":
            output = engine.run_spark(compiled, inputs, run.as_of, spark=spark, progress=progress)
        else:
            output = engine.run_duckdb(
                compiled,
                inputs,
                run.as_of,
                progress=progress,
                temp_dir=store_dir() / "tmp",
                features_to=out_dir / "features.parquet",
            )
        output.errors.update(refused)
        if progress:
            progress("checks and evaluation")
        violations = engine.check_values(output, compiled)
        previous = _previous_values(run.tag_codes, run.pk)
        report = engine.evaluate(output, compiled, previous)
        for code, message in refused.items():
            report[code] = {"coverage": 0.0, "distribution": {}, "changed_share": None, "error": message}
        out_dir.mkdir(parents=True, exist_ok=True)
        pq.write_table(output.values, out_dir / "values.parquet", compression="zstd")
        maps = engine.bitmaps(output.values)
        maps[("__all__", "")] = engine.universe(output.customer_ids)
        if progress:
            progress("writing values and bitmaps")
        with transaction.atomic():
            changes = _write_values(run, output.values, previous)
            TagBitmap.objects.bulk_create(
                [
                    TagBitmap(run=run, tag_code=tag, value=value, cardinality=card, data=data)
                    for (tag, value), (card, data) in maps.items()
                ],
                batch_size=500,
            )
            run.status = TagRun.Status.DONE
            run.finished_at = timezone.now()
            run.coverage = output.coverage
            run.customers = len(output.customer_ids)
            run.violations = violations
            run.report = report
            run.seconds = round(time.perf_counter() - started, 2)
            run.save()
            record_event(
                actor=run.requested_by or None,
                action="tags.run_done",
                subject=run,
                new={
                    "customers": run.customers,
                    "changes": changes,
                    "violations": len(violations),
                    "errors": output.errors,
                },
            )
    except Exception as exc:
        message = exc.message if isinstance(exc, ServiceError) else f"{type(exc).__name__}: {exc}"
        with transaction.atomic():
            TagRun.objects.filter(pk=run.pk).update(
                status=TagRun.Status.FAILED, finished_at=timezone.now(), error=message[:4000]
            )
            record_event(actor=run.requested_by or None, action="tags.run_failed", subject=run, note=message[:1000])
        shutil.rmtree(run_dir(run.pk), ignore_errors=True)
        run.refresh_from_db()
        if isinstance(exc, ServiceError):
            raise
        raise ServiceError(f"标签计算失败：{message}") from exc
    return run


def _write_values(run: TagRun, values: pa.Table, previous: pa.Table | None) -> dict[str, int]:
    """Close the rows whose value ended and open rows for new values: only the changes touch the database."""
    con = duckdb.connect(":memory:")
    con.register("new", values)
    if previous is None:
        previous = values.schema.empty_table()
    con.register("old", previous)
    closed = con.execute(
        "SELECT tag_code, value, list(customer_id) FROM (SELECT * FROM old EXCEPT SELECT * FROM new) GROUP BY ALL"
    ).fetchall()
    opened = con.execute(
        "SELECT customer_id, tag_code, value FROM (SELECT * FROM new EXCEPT SELECT * FROM old)"
    ).fetchall()
    con.close()
    n_closed = 0
    for tag_code, value, ids in closed:
        for lo in range(0, len(ids), 5000):
            n_closed += TagValue.objects.filter(
                to_run__isnull=True, tag_code=tag_code, value=value, customer_id__in=ids[lo : lo + 5000]
            ).update(to_run=run, to_date=run.as_of)
    TagValue.objects.bulk_create(
        (
            TagValue(
                customer_id=cid,
                tag_code=tag,
                value=value if value is not None else "NULL",
                version=run.version,
                from_run=run,
                from_date=run.as_of,
            )
            for cid, tag, value in opened
        ),
        batch_size=5000,
    )
    return {"opened": len(opened), "closed": n_closed}


def queue_due_run(*, now: dt.datetime, as_of: dt.date) -> TagRun | None:
    """The scheduler: queue one run of the tags due on `as_of`, unless one already covers that day."""
    version = CatalogueVersion.objects.order_by("-number").first()
    if version is None:
        return None
    due = catalogue.tags_due(version.snapshot["tags"], as_of)
    if not due:
        return None
    with transaction.atomic():
        # Lock the version row so two schedulers cannot both queue the same day.
        CatalogueVersion.objects.select_for_update().get(pk=version.pk)
        if TagRun.objects.filter(as_of=as_of, version=version).exclude(status=TagRun.Status.FAILED).exists():
            return None
        return run_create(actor="调度", as_of=as_of, tag_codes=due, now=now)


# ------------------------------------------------------------------------------------------------ segments


def segment_save(
    *, name: str, expression: str, actor: Any, description: str = "", count: int = 0, now: dt.datetime | None = None
) -> Segment:
    name = name.strip()
    if not name:
        raise ServiceError("客户群名称不能为空", field="name")
    try:
        parse(expression)
    except SegmentError as exc:
        raise ServiceError(exc.message, field="expression") from None
    with transaction.atomic():
        segment = Segment.objects.select_for_update().filter(name=name).first()
        if segment is None:
            segment = Segment.objects.create(
                name=name,
                expression=expression,
                description=description,
                created_by=actor if getattr(actor, "pk", None) else None,
                created_at=now or timezone.now(),
                last_count=count,
            )
            record_event(actor=actor, action="tags.segment_create", subject=segment, new={"expression": expression})
            return segment
        old = {"expression": segment.expression, "description": segment.description}
        segment.expression, segment.description, segment.last_count = expression, description, count
        segment.save()
        record_event(
            actor=actor,
            action="tags.segment_update",
            subject=segment,
            old=old,
            new={"expression": expression, "description": description},
        )
    return segment


# ------------------------------------------------------------------------------------------------ external data


def credit_import(*, rows: list[dict[str, Any]], actor: Any) -> int:
    """Replace the external credit table (customer_id, credit_grade) in the analytics store."""
    ids, grades = [], []
    for i, row in enumerate(rows, start=2):
        try:
            ids.append(int(str(row.get("customer_id", "")).strip()))
        except ValueError:
            raise ServiceError(f"第 {i} 行：customer_id 必须是整数", field="customer_id") from None
        grade = str(row.get("credit_grade", "")).strip().upper()
        if grade not in ("AAA", "AA", "A", "B", "C"):
            raise ServiceError(f"第 {i} 行：credit_grade 只能是 AAA、AA、A、B、C", field="credit_grade")
        grades.append(grade)
    target = Path(settings.ANALYTICS_DIR) / "external" / "credit.parquet"
    target.parent.mkdir(parents=True, exist_ok=True)
    with transaction.atomic():
        record_event(
            actor=actor,
            action="tags.credit_import",
            subject_type="tags.credit",
            subject_id="credit",
            subject_label="外部信用",
            new={"rows": len(ids)},
        )
        tmp = target.with_suffix(".tmp")
        pq.write_table(pa.table({"customer_id": pa.array(ids, pa.int64()), "credit_grade": grades}), tmp)
        tmp.replace(target)
    return len(ids)
