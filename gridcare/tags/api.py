"""JSON API of the tags app (mounted at /api/v1/tags): catalogue, versions, runs, segments, portraits."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from gridcare.core.apitypes import Day, Limit, ObjectId, PageNumber
from gridcare.core.errors import Forbidden, NotFound
from gridcare.org.policy import POLICY
from gridcare.org.roles import Role
from gridcare.tags import selectors, services
from gridcare.tags.models import CatalogueVersion, TagCategory

router = Router(tags=["tags"])

EDITORS: set[str] = set(POLICY["tags.edit"].roles) | {Role.ADMIN}
READERS: set[str] = {Role.ANALYST, Role.ADMIN, Role.QUALITY}


def require(request: HttpRequest, roles: set[str]) -> Any:
    user = request.user
    if not (getattr(user, "sees_everything", False) or getattr(user, "role", None) in roles):
        raise Forbidden("您的角色无权使用标签管理功能")
    return user


class TagIn(Schema):
    name: str
    category_path: list[str]
    definition: str
    owner: str
    data_sources: str
    business_rule: str
    math_model: str
    rule: dict[str, Any]
    values: list[str]
    single_valued: bool = True
    schedule: str = "monthly"


class CategoryIn(Schema):
    path: list[str]


class CataloguePublishIn(Schema):
    note: str = ""


class RunIn(Schema):
    as_of: Day
    tags: list[str] | None = None
    engine: str = "duckdb"


class SegmentEvalIn(Schema):
    expression: str
    page: PageNumber = 1
    page_size: Limit = 20


class SegmentIn(Schema):
    name: str
    expression: str
    description: str = ""


@router.get("/catalogue", summary="已发布的最新目录（按层级）")
def catalogue_get(request: HttpRequest) -> dict[str, Any]:
    require(request, READERS)
    version = selectors.latest_version()
    if version is None:
        raise NotFound("还没有发布的标签目录")
    return {
        "version": version.number,
        "published_at": version.published_at,
        "tree": selectors.catalogue_tree(version.snapshot),
    }


@router.get("/versions", summary="目录版本列表")
def versions_list(request: HttpRequest) -> list[dict[str, Any]]:
    require(request, READERS)
    return [
        {
            "number": v.number,
            "published_at": v.published_at,
            "published_by": v.published_by,
            "note": v.note,
            "tags": len(v.snapshot["tags"]),
        }
        for v in CatalogueVersion.objects.all()
    ]


@router.get("/versions/compare", summary="比较两个目录版本（新增/删除/修改的标签与规则）")
def versions_compare(request: HttpRequest, a: ObjectId, b: ObjectId) -> dict[str, Any]:
    require(request, READERS)
    return selectors.version_compare(a, b)


@router.get("/draft/changes", summary="草稿相对最新版本的变化")
def draft_changes(request: HttpRequest) -> dict[str, Any]:
    require(request, READERS)
    return selectors.draft_changes()


@router.post("/draft/categories", summary="新建分类（最多 4 级分类 + 标签 = 5 级）")
def category_create(request: HttpRequest, payload: CategoryIn) -> dict[str, Any]:
    user = require(request, EDITORS)
    parent: TagCategory | None = None
    for name in payload.path[:-1]:
        parent = TagCategory.objects.filter(parent=parent, name=name).first()
        if parent is None:
            raise NotFound(f"上级分类 {name} 不存在")
    category = services.category_create(name=payload.path[-1] if payload.path else "", parent=parent, actor=user)
    return {"id": category.pk, "level": category.level, "path": category.path()}


@router.put("/draft/tags/{code}", summary="新建或修改草稿中的标签（规则在保存时校验）")
def tag_put(request: HttpRequest, code: str, payload: TagIn) -> dict[str, Any]:
    user = require(request, EDITORS)
    category = None
    parent: TagCategory | None = None
    for name in payload.category_path:
        category = TagCategory.objects.filter(parent=parent, name=name).first()
        if category is None:
            raise NotFound(f"分类 {'/'.join(payload.category_path)} 不存在")
        parent = category
    if category is None:
        raise NotFound("请给出分类路径")
    tag = services.tag_save(code=code, category=category, actor=user, **payload.dict(exclude={"category_path"}))
    return {"code": tag.code, "values": tag.values}


@router.delete("/draft/tags/{code}", summary="从草稿中删除标签")
def tag_delete(request: HttpRequest, code: str) -> dict[str, Any]:
    services.tag_delete(code=code, actor=require(request, EDITORS))
    return {"deleted": code}


@router.post("/draft/publish", summary="发布草稿为新版本")
def publish(request: HttpRequest, payload: CataloguePublishIn) -> dict[str, Any]:
    version = services.catalogue_publish(actor=require(request, EDITORS), note=payload.note)
    return {"number": version.number, "tags": len(version.snapshot["tags"])}


@router.post("/runs", summary="登记一次标签计算（由后台任务执行）")
def run_create(request: HttpRequest, payload: RunIn) -> dict[str, Any]:
    run = services.run_create(
        actor=require(request, EDITORS), as_of=payload.as_of, tag_codes=payload.tags, engine_name=payload.engine
    )
    return {"id": run.pk, "status": run.status, "version": run.version.number}


@router.get("/runs", summary="最近的标签计算")
def runs_list(request: HttpRequest) -> list[dict[str, Any]]:
    require(request, READERS)
    return [
        {
            "id": r.pk,
            "version": r.version.number,
            "as_of": r.as_of,
            "engine": r.engine,
            "status": r.status,
            "customers": r.customers,
            "seconds": r.seconds,
            "violations": len(r.violations),
        }
        for r in selectors.runs_recent()
    ]


@router.get("/runs/{run_id}", summary="一次计算的覆盖范围、单值校验与评估报告")
def run_get(request: HttpRequest, run_id: ObjectId) -> dict[str, Any]:
    require(request, READERS)
    run = selectors.run_get(run_id)
    return {
        "id": run.pk,
        "version": run.version.number,
        "as_of": run.as_of,
        "engine": run.engine,
        "status": run.status,
        "coverage": run.coverage,
        "customers": run.customers,
        "violations": run.violations,
        "review": selectors.review(run) if run.report else [],
        "error": run.error,
        "seconds": run.seconds,
    }


@router.post("/segments/evaluate", summary="客户群表达式的人数和一页客户")
def segment_evaluate(request: HttpRequest, payload: SegmentEvalIn) -> dict[str, Any]:
    require(request, READERS)
    return selectors.segment_evaluate(
        user=request.user, expression=payload.expression, page=payload.page, page_size=payload.page_size
    )


@router.get("/segments", summary="已保存的客户群")
def segments_list(request: HttpRequest) -> list[dict[str, Any]]:
    require(request, READERS)
    return [
        {"id": s.pk, "name": s.name, "expression": s.expression, "last_count": s.last_count}
        for s in selectors.segments_all()
    ]


@router.post("/segments", summary="保存客户群")
def segment_save(request: HttpRequest, payload: SegmentIn) -> dict[str, Any]:
    user = require(request, EDITORS)
    count = selectors.segment_evaluate(user=user, expression=payload.expression, page_size=1)["count"]
    segment = services.segment_save(
        name=payload.name, expression=payload.expression, description=payload.description, actor=user, count=count
    )
    return {"id": segment.pk, "name": segment.name, "count": count}


@router.get("/customers/{account_no}/portrait", summary="客户画像：按目录层级的标签、原因和历史")
def portrait(request: HttpRequest, account_no: str) -> dict[str, Any]:
    data = selectors.portrait(user=request.user, account_no=account_no)
    return {
        "account_no": account_no,
        "version": data["version"],
        "groups": [
            {"path": g["path"], "tags": [{k: v for k, v in t.items()} for t in g["tags"]]} for g in data["groups"]
        ],
    }


# The issue names POST /api/v1/segments/evaluate; mounting this router at /segments in gridcare/api.py gives it.
segments_router = Router(tags=["segments"])


@segments_router.post("/evaluate", summary="客户群表达式的人数和一页客户（同 /tags/segments/evaluate）")
def segments_evaluate_alias(request: HttpRequest, payload: SegmentEvalIn) -> dict[str, Any]:
    return segment_evaluate(request, payload)
