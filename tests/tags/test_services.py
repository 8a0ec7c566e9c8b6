"""Catalogue versions, runs with history, segments, portraits and the API, on a Parquet store the test writes."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from gridcare.core.errors import ServiceError
from gridcare.core.models import Event
from gridcare.tags import selectors, services, tasks
from gridcare.tags.defaults import TAGS
from gridcare.tags.models import TagCategory, TagDefinition, TagRun, TagValue
from tests.conftest import City, login
from tests.tags.store import AS_OF, write_store

NOW = dt.datetime(2026, 7, 1, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def store(city: City, settings: pytest.FixtureRequest, tmp_path: Path) -> Path:
    settings.ANALYTICS_DIR = tmp_path  # type: ignore[attr-defined]
    ids = [city.north_customer.pk, city.south_customer.pk, *range(10_000, 10_080)]
    return write_store(tmp_path, ids=ids)


@pytest.fixture
def published(store: Path) -> None:
    services.defaults_load(actor="test")
    services.catalogue_publish(actor="test", note="v1")


def _run(as_of: dt.date = AS_OF, tags: list[str] | None = None) -> TagRun:
    run = services.run_create(actor="test", as_of=as_of, tag_codes=tags)
    return services.run_execute(run=run, now=NOW)


def test_default_catalogue_loads_and_publishes_as_version_one(published: None) -> None:
    version = selectors.latest_version()
    assert version is not None and version.number == 1
    assert len(version.snapshot["tags"]) == len(TAGS) >= 40
    assert max(TagCategory.objects.values_list("level", flat=True)) == 4
    assert Event.objects.filter(action="tags.catalogue_publish").count() == 1
    with pytest.raises(ServiceError, match="无需发布"):
        services.catalogue_publish(actor="test")


def test_a_sixth_level_is_refused(db: None) -> None:
    parent = None
    for name in ("电力客户", "客户行为", "用电行为", "电量特征"):
        parent = services.category_create(name=name, parent=parent, actor="test")
    with pytest.raises(ServiceError, match="最多 5 级"):
        services.category_create(name="第五级分类", parent=parent, actor="test")
    assert TagCategory.objects.count() == 4


def test_run_stores_values_naming_the_version_and_checks_single_values(published: None, city: City) -> None:
    run = _run()
    assert run.status == TagRun.Status.DONE and run.violations == {}
    assert run.customers == 82 and run.coverage["daily_kwh"]["through"] == AS_OF.isoformat()
    open_rows = TagValue.objects.filter(to_run__isnull=True)
    assert open_rows.count() == 82 * len(TAGS)
    assert set(open_rows.values_list("version__number", flat=True).distinct()) == {1}


def test_a_draft_edit_changes_nothing_until_it_is_published(published: None, city: City) -> None:
    first = _run()
    cid = city.north_customer.pk
    before = selectors.value_on_run(customer_id=cid, tag_code="customer_type", run_id=first.pk)
    tag = TagDefinition.objects.get(code="customer_type")
    rule = dict(tag.rule, map={"hv": "高压客户", "lv_business": "低压客户", "lv_resident": "低压客户"})
    services.tag_save(
        code=tag.code,
        name=tag.name,
        category=tag.category,
        definition=tag.definition,
        owner=tag.owner,
        data_sources=tag.data_sources,
        business_rule=tag.business_rule,
        math_model=tag.math_model,
        rule=rule,
        values=["高压客户", "低压客户", "其他"],
        actor="test",
    )
    second = _run()
    assert selectors.value_on_run(customer_id=cid, tag_code="customer_type", run_id=second.pk) == before
    assert second.report["customer_type"]["changed_share"] == 0.0
    assert selectors.draft_changes()["rules_changed"] == ["customer_type"]
    services.catalogue_publish(actor="test")
    third = _run(tags=["customer_type"])
    after = selectors.value_on_run(customer_id=cid, tag_code="customer_type", run_id=third.pk)
    assert third.version.number == 2 and after in ("高压客户", "低压客户")
    # History: the old value is still what the customer had on the earlier runs.
    assert selectors.value_on_run(customer_id=cid, tag_code="customer_type", run_id=first.pk) == before
    assert third.report["customer_type"]["changed_share"] == 1.0
    assert selectors.version_compare(1, 2)["rules_changed"] == ["customer_type"]


def test_a_segment_count_equals_a_brute_force_count_over_the_tag_table(published: None, city: City) -> None:
    _run()
    expression = "用电类型=居民 AND NOT arrears_risk=高 OR (load_shape IN (平稳, 夜间型) AND 交费及时性 != 按时交费)"
    got = selectors.segment_evaluate(user=city.admin, expression=expression, page_size=200)
    current: dict[int, dict[str, str]] = {}
    for cid, tag, value in TagValue.objects.filter(to_run__isnull=True).values_list("customer_id", "tag_code", "value"):
        current.setdefault(cid, {})[tag] = value
    want = {
        cid
        for cid, t in current.items()
        if (t["elec_category"] == "居民" and t["arrears_risk"] != "高")
        or (t["load_shape"] in ("平稳", "夜间型") and t["pay_timeliness"] != "按时交费")
    }
    assert got["count"] == len(want) > 0
    assert {c["customer_id"] for c in got["customers"]} == want


def test_a_segment_is_limited_to_the_users_scope(published: None, city: City) -> None:
    _run()
    everyone = selectors.segment_evaluate(user=city.admin, expression="customer_type != 高压 OR customer_type = 高压")
    scoped = selectors.segment_evaluate(
        user=city.dispatcher_north, expression="customer_type != 高压 OR customer_type = 高压"
    )
    assert everyone["count"] == 82 and scoped["count"] == 1


def test_segment_api_counts_saves_and_exports(published: None, city: City, client: Client) -> None:
    _run()
    login(client, city.analyst)
    res = client.post(
        "/api/v1/tags/segments/evaluate",
        json.dumps({"expression": "elec_category=居民"}),
        content_type="application/json",
    )
    assert res.status_code == 200, res.content
    count = res.json()["count"]
    bad = client.post(
        "/api/v1/tags/segments/evaluate",
        json.dumps({"expression": "elec_category=火星"}),
        content_type="application/json",
    )
    assert bad.status_code == 400 and "可选" in bad.json()["detail"]
    saved = client.post(
        "/api/v1/tags/segments",
        json.dumps({"name": "居民", "expression": "elec_category=居民"}),
        content_type="application/json",
    )
    assert saved.json()["count"] == count
    seg_id = saved.json()["id"]
    csv_text = client.get(f"/tags/segments/{seg_id}/export.csv").content.decode("utf-8-sig")
    in_db = sum(1 for c in (city.north_customer, city.south_customer) if c.category == "resident")
    assert len(csv_text.strip().splitlines()) == 1 + min(in_db, count)
    assert client.get(f"/tags/segments/{seg_id}/export.xlsx").status_code == 200


def test_api_rejects_a_bad_rule_at_save_time_with_the_position(published: None, city: City, client: Client) -> None:
    login(client, city.analyst)
    payload = {
        "name": "坏规则",
        "category_path": ["电力客户", "客户属性", "基本属性"],
        "definition": "d",
        "owner": "o",
        "data_sources": "s",
        "business_rule": "b",
        "math_model": "m",
        "rule": {"kind": "sql", "sql": "SELECT customer_id,\n  nonsense AS value FROM customers"},
        "values": ["a"],
    }
    res = client.put("/api/v1/tags/draft/tags/bad_rule", json.dumps(payload), content_type="application/json")
    assert res.status_code == 400
    assert res.json()["errors"]["position"] == ["2:3"] and "nonsense" in res.json()["detail"]
    assert not TagDefinition.objects.filter(code="bad_rule").exists()
    deep = client.post(
        "/api/v1/tags/draft/categories",
        json.dumps({"path": ["电力客户", "客户行为", "用电行为", "电量特征", "太深"]}),
        content_type="application/json",
    )
    assert deep.status_code == 400


def test_agents_may_not_edit_the_catalogue(published: None, city: City, client: Client) -> None:
    login(client, city.agent)
    assert client.post("/api/v1/tags/draft/publish", "{}", content_type="application/json").status_code == 403


def test_portrait_fragment_explains_a_tag_with_its_metric(published: None, city: City, client: Client) -> None:
    _run()
    login(client, city.agent)
    res = client.get(f"/tags/customers/{city.south_customer.account_no}/")
    assert res.status_code == 200
    html = res.content.decode()
    assert "月均电量(kWh) =" in html and "电力客户 › 客户行为 › 用电行为 › 电量特征" in html
    data = client.get(f"/api/v1/tags/customers/{city.south_customer.account_no}/portrait").json()
    assert data["version"] == 1 and sum(len(g["tags"]) for g in data["groups"]) == len(TAGS)
    # Outside the dispatcher's scope the portrait is not found, as for the 360 page itself.
    login(client, city.dispatcher_north)
    assert client.get(f"/tags/customers/{city.south_customer.account_no}/").status_code == 404


def test_scheduled_job_queues_and_runs_the_tags_due(published: None) -> None:
    # 2026-07-01 02:00 UTC is 10:00 in Shanghai; yesterday (30 June) is neither a Monday nor the 1st: daily tags only.
    assert tasks.handle_scheduled_run(NOW) == 1
    run = TagRun.objects.get()
    assert run.status == TagRun.Status.DONE and run.as_of == AS_OF
    assert set(run.tag_codes) == {t["code"] for t in TAGS if t["schedule"] == "daily"}
    assert tasks.handle_scheduled_run(NOW) == 0  # the day is covered: nothing more to do


def test_a_run_without_a_ledger_fails_cleanly(published: None, settings: pytest.FixtureRequest, tmp_path: Path) -> None:
    settings.ANALYTICS_DIR = tmp_path / "empty"  # type: ignore[attr-defined]
    run = services.run_create(actor="test", as_of=AS_OF)
    with pytest.raises(ServiceError, match=r"customers\.parquet"):
        services.run_execute(run=run, now=timezone.now())
    run.refresh_from_db()
    assert run.status == TagRun.Status.FAILED and TagValue.objects.count() == 0


def test_catalogue_review_and_segment_pages_render_for_an_analyst(published: None, city: City, client: Client) -> None:
    run = _run()
    login(client, city.analyst)
    catalogue = client.get("/tags/?a=1&b=1").content.decode()
    assert "负荷曲线类型" in catalogue and "L4" in catalogue
    review = client.get("/tags/review/").content.decode()
    assert f"#{run.pk}" in review and "覆盖率低" in review  # credit_grade has no external data: flagged
    page = client.get("/tags/segments/?q=elec_category%3D居民").content.decode()
    assert "/api/v1/tags/segments/evaluate" in page
    login(client, city.agent)
    assert client.get("/tags/").status_code == 404


def test_a_saved_segment_is_the_audience_of_a_notice(published: None, city: City) -> None:
    from gridcare.notices.audiences import Audience, audience_queryset
    from gridcare.tags import services as tag_services

    _run()
    segment = tag_services.segment_save(name="居民", expression="elec_category=居民", actor=city.analyst)
    expected = set(selectors.segment_bitmap(user=city.admin, expression="elec_category=居民"))
    got = {c.pk for c in audience_queryset(Audience(segment=str(segment.pk)))}
    assert got == expected & {c.pk for c in (city.north_customer, city.south_customer)}
