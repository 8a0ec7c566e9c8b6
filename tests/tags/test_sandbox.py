"""The sandbox around analysts' SQL: one test per escape class, through the analyst's HTTP API and the engine.

Every payload is aimed at a real secret written to a temporary file (and at a real SQLite database), so a
refusal that leaked the file's content would show; the check is on the whole HTTP response.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest
from django.test import Client

from gridcare.tags import engine, rules, sandbox, services
from gridcare.tags.models import CatalogueVersion, TagDefinition, TagRun
from tests.conftest import City, login
from tests.tags.store import AS_OF, write_store

NOW = dt.datetime(2026, 7, 1, 2, 0, tzinfo=dt.UTC)
SECRET = "GRIDCARE-SECRET-7f3a9c"  # written into every file the payloads aim at; must never come back


@pytest.fixture(scope="module")
def secrets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("secrets")
    text = root / "environ"
    text.write_text(f"SECRET_KEY={SECRET}\nDEBUG=0\n")
    csv = root / "x.csv"
    csv.write_text(f"customer_id,value\n1,{SECRET}\n")
    db = root / "db.sqlite3"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE auth_user (password TEXT)")
        con.execute("INSERT INTO auth_user VALUES (?)", [f"pbkdf2_sha256${SECRET}"])
    parquet = root / "p.parquet"
    duckdb.sql(f"COPY (SELECT 1 AS customer_id, '{SECRET}' AS value) TO '{parquet}'")
    return {"text": str(text), "csv": str(csv), "db": str(db), "parquet": str(parquet), "dir": str(root)}


# (escape class, SQL with {text}/{csv}/{db}/{parquet}/{dir} for the secret files, what the refusal must name)
ESCAPES: list[tuple[str, str, str]] = [
    # file functions, in every position and spelling
    ("file", "SELECT customer_id, content AS value FROM customers, read_text('{text}')", "read_text"),
    ("file", "SELECT 1 AS customer_id, content AS value FROM read_blob('{db}')", "read_blob"),
    ("file", "SELECT customer_id, value FROM read_csv('{csv}')", "read_csv"),
    ("file", "SELECT customer_id, value FROM read_csv_auto('{csv}')", "read_csv_auto"),
    ("file", "SELECT customer_id, value FROM read_parquet('{parquet}')", "read_parquet"),
    ("file", "SELECT customer_id, value FROM parquet_scan('{parquet}')", "parquet_scan"),
    ("file", "SELECT 1 AS customer_id, file AS value FROM glob('{dir}/*')", "glob"),
    (
        "file",
        "SELECT 1 AS customer_id, CAST(num_rows AS VARCHAR) AS value FROM parquet_metadata('{parquet}')",
        "parquet",
    ),
    ("file", "SELECT 1 AS customer_id, Columns AS value FROM sniff_csv('{csv}')", "sniff_csv"),
    ("file", "select customer_id, READ_TEXT ( '{text}' ) as value from customers", "read_text"),
    ("file", "SELECT customer_id, \"read_text\"('{text}') AS value FROM customers", "read_text"),
    ("file", "SELECT customer_id, read_text/* c */('{text}') AS value\n-- x\nFROM customers", "read_text"),
    ("file", "SELECT customer_id, main.read_text('{text}') AS value FROM customers", "read_text"),
    ("file", "SELECT customer_id, system.main.read_text('{text}') AS value FROM customers", "read_text"),
    ("file", "SELECT customer_id, (SELECT content FROM read_text('{text}')) AS value FROM customers", "read_text"),
    ("file", "SELECT c.customer_id, r.content AS value FROM customers c, LATERAL read_text('{text}') r", "LATERAL"),
    (
        "file",
        "SELECT c.customer_id, r.content AS value FROM customers c JOIN read_text('{text}') r ON TRUE",
        "read_text",
    ),
    (
        "file",
        "WITH f AS (SELECT content FROM read_text('{text}')) SELECT 1 AS customer_id, content AS value FROM f",
        "read_text",
    ),
    (
        "file",
        "SELECT customer_id, 'a' AS value FROM customers WHERE EXISTS (SELECT 1 FROM read_text('{text}'))",
        "read_text",
    ),
    (
        "file",
        "SELECT customer_id, 'a' AS value FROM customers UNION ALL SELECT 1, content FROM read_text('{text}')",
        "read_text",
    ),
    ("file", "SELECT * FROM '{csv}'", "{csv}"),
    ("file", 'SELECT * FROM "{csv}"', "{csv}"),
    # extensions
    ("extension", "INSTALL httpfs", "INSTALL"),
    ("extension", "LOAD httpfs", "LOAD"),
    ("extension", "FORCE INSTALL httpfs", "FORCE"),
    ("extension", "SELECT customer_id, 'a' AS value FROM customers; LOAD httpfs", "一条"),
    # other databases
    ("attach", "ATTACH '{db}' AS leak (TYPE sqlite)", "ATTACH"),
    ("attach", "SELECT customer_id, 'a' AS value FROM customers; ATTACH '{db}' AS leak", "一条"),
    ("attach", "SELECT 1 AS customer_id, password AS value FROM leak.auth_user", "leak.auth_user"),
    ("attach", "SELECT 1 AS customer_id, password AS value FROM sqlite_scan('{db}', 'auth_user')", "sqlite_scan"),
    ("attach", "DETACH leak", "DETACH"),
    ("attach", "USE leak", "USE"),
    # COPY, both ways, and EXPORT
    ("copy", "COPY customers TO '{dir}/out.csv'", "COPY"),
    ("copy", "COPY (SELECT customer_id, 'a' AS value FROM customers) TO '{dir}/out.csv'", "COPY"),
    ("copy", "COPY customers FROM '{csv}'", "COPY"),
    ("copy", "EXPORT DATABASE '{dir}/dump'", "EXPORT"),
    ("copy", "CREATE TABLE t AS SELECT 1", "CREATE"),
    ("copy", "INSERT INTO customers (customer_id) VALUES (1)", "INSERT"),
    # serialized SQL and SQL built from strings
    (
        "serialized",
        "SELECT customer_id, json_execute_serialized_sql(json_serialize_sql("
        "'SELECT content FROM read_text(''{text}'')')) AS value FROM customers",
        "json_execute_serialized_sql",
    ),
    (
        "serialized",
        "SELECT 1 AS customer_id, content AS value FROM json_execute_serialized_sql(json_serialize_sql("
        "'SELECT content FROM read_text(''{text}'')'))",
        "json_execute_serialized_sql",
    ),
    ("serialized", "SELECT customer_id, json_serialize_sql('SELECT 1') AS value FROM customers", "json_serialize_sql"),
    (
        "serialized",
        "SELECT 1 AS customer_id, content AS value FROM query('SELECT * FROM read_text(''{text}'')')",
        "query",
    ),
    ("serialized", "SELECT customer_id, 'a' AS value FROM query_table('customers')", "query_table"),
    # a CTE (or table) named like a file
    ("path_cte", 'WITH "{csv}" AS (SELECT 1 AS customer_id, \'a\' AS value) SELECT * FROM "{csv}"', "{csv}"),
    ("path_cte", 'WITH "x.csv" AS (SELECT 1 AS customer_id, \'a\' AS value) SELECT * FROM "x.csv"', "x.csv"),
    ("path_cte", "WITH c AS (SELECT 1 AS customer_id, 'a' AS value) SELECT * FROM \"{csv}\"", "{csv}"),
    ("path_cte", 'SELECT customer_id, value FROM "{dir}/x.csv" AS customers', "x.csv"),
    # configuration and pragmas
    ("settings", "SET enable_external_access = true", "SET"),
    ("settings", "SET memory_limit = '1TB'", "SET"),
    ("settings", "RESET memory_limit", "RESET"),
    ("settings", "PRAGMA database_list", "PRAGMA"),
    ("settings", "CALL pragma_version()", "CALL"),
    ("settings", "SELECT 1 AS customer_id, name AS value FROM pragma_database_list()", "pragma_database_list"),
    ("settings", "SELECT customer_id, 'a' AS value FROM customers; SET lock_configuration = false", "一条"),
    # environment and settings readers
    ("env", "SELECT customer_id, getenv('SECRET_KEY') AS value FROM customers", "getenv"),
    ("env", "SELECT customer_id, current_setting('allowed_paths') AS value FROM customers", "current_setting"),
    ("env", "SELECT 1 AS customer_id, value AS value FROM duckdb_settings()", "duckdb_settings"),
    ("env", "SELECT 1 AS customer_id, path AS value FROM duckdb_databases()", "duckdb_databases"),
    ("env", "SELECT customer_id, getvariable('x') AS value FROM customers", "getvariable"),
    ("env", "SELECT customer_id, 'a' AS value FROM customers, range(1000000000)", "generate_series"),
]


def _fill(sql: str, secrets: dict[str, str]) -> str:
    return sql.format(**secrets)


def _ids(escapes: list[tuple[str, str, str]]) -> list[str]:
    return [f"{kind}-{i}" for i, (kind, _s, _n) in enumerate(escapes)]


# ------------------------------------------------------------------------------ the analyst's HTTP API


@pytest.fixture
def store(city: City, settings: Any, tmp_path: Path) -> Path:
    settings.ANALYTICS_DIR = tmp_path
    ids = [city.north_customer.pk, city.south_customer.pk, *range(10_000, 10_040)]
    return write_store(tmp_path, ids=ids)


@pytest.fixture
def published(store: Path) -> None:
    services.defaults_load(actor="test")
    services.catalogue_publish(actor="test", note="v1")


def _put_rule(client: Client, code: str, rule: dict[str, Any]) -> Any:
    payload = {
        "name": "测试规则",
        "category_path": ["电力客户", "客户属性", "基本属性"],
        "definition": "d",
        "owner": "o",
        "data_sources": "s",
        "business_rule": "b",
        "math_model": "m",
        "rule": rule,
        "values": ["a", "b"],
    }
    return client.put(f"/api/v1/tags/draft/tags/{code}", json.dumps(payload), content_type="application/json")


def test_every_escape_is_refused_by_the_api_naming_the_construct_and_never_leaking_the_file(
    published: None, city: City, client: Client, secrets: dict[str, str]
) -> None:
    """One request per escape and variation (kept in one test: the catalogue is loaded once)."""
    login(client, city.analyst)
    failures = []
    for i, (kind, sql, named) in enumerate(ESCAPES):
        res = _put_rule(client, f"escape_{i}", {"kind": "sql", "sql": _fill(sql, secrets)})
        body = res.content.decode()
        expected = _fill(named, secrets)
        if res.status_code != 400 or SECRET in body or expected not in res.json().get("detail", ""):
            failures.append((kind, sql, res.status_code, body[:300]))
    assert not failures, failures
    assert not TagDefinition.objects.filter(code__startswith="escape_").exists()


@pytest.mark.parametrize("sql", [s for _k, s, _n in ESCAPES if _k in ("file", "serialized", "path_cte")][:6])
def test_the_validator_refuses_before_duckdb_sees_the_statement(sql: str, secrets: dict[str, str]) -> None:
    with pytest.raises(rules.RuleError) as err:
        rules.compile_rule("x", {"kind": "sql", "sql": _fill(sql, secrets)}, ["a"])
    assert SECRET not in str(err.value)


def test_a_declarative_condition_cannot_call_file_functions_through_the_api(
    published: None, city: City, client: Client, secrets: dict[str, str]
) -> None:
    login(client, city.analyst)
    for cond, named in (
        (f"length(read_text('{secrets['text']}')) > 0", "read_text"),
        (f"avg_daily_kwh > (SELECT count(*) FROM read_csv('{secrets['csv']}'))", "子查询"),
        ("getenv('HOME') = 'x'", "getenv"),
        ("avg_daily_kwh > 1 OR main.read_text('x') = ''", "read_text"),
    ):
        res = _put_rule(client, "cond_escape", {"kind": "conditions", "cases": [[cond, "a"]], "else": "b"})
        assert res.status_code == 400, (cond, res.content)
        assert named in res.json()["detail"] and SECRET not in res.content.decode()
    assert not TagDefinition.objects.filter(code="cond_escape").exists()


def test_a_runaway_rule_is_stopped_by_the_time_limit_at_save_time(
    published: None, city: City, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sandbox, "VALIDATE_TIMEOUT_SECONDS", 1.0)
    login(client, city.analyst)
    started = time.perf_counter()
    res = _put_rule(
        client,
        "runaway",
        {
            "kind": "sql",
            "sql": "WITH RECURSIVE r AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM r) "
            "SELECT max(n) AS customer_id, 'a' AS value FROM r",
        },
    )
    assert res.status_code == 400 and "时间上限" in res.json()["detail"], res.content
    assert time.perf_counter() - started < 15
    assert not TagDefinition.objects.filter(code="runaway").exists()


def test_an_error_message_quotes_only_names_from_the_rule_never_data(
    published: None, city: City, client: Client
) -> None:
    login(client, city.analyst)
    # A missing column is named (it is the analyst's own word) with its position …
    res = _put_rule(client, "typo", {"kind": "sql", "sql": "SELECT customer_id,\n  nonsense AS value FROM customers"})
    assert res.status_code == 400 and "nonsense" in res.json()["detail"]
    assert res.json()["errors"]["position"] == ["2:3"]
    # … but a failure whose DuckDB text quotes a value gets only a generic message.
    res = _put_rule(
        client,
        "cast",
        {
            "kind": "sql",
            "sql": f"SELECT customer_id, CAST('{SECRET}' AS INTEGER) AS value FROM (SELECT 1 AS customer_id)",
        },
    )
    assert res.status_code == 400 and "类型转换" in res.json()["detail"]
    assert SECRET not in res.json()["detail"] and "Conversion Error" not in res.content.decode()


def test_segment_expressions_nested_too_deep_are_a_400_naming_the_limit(
    published: None, city: City, client: Client
) -> None:
    login(client, city.analyst)
    for expression in (
        "(" * 5000 + "elec_category=居民" + ")" * 5000,
        "(" * 3000 + "elec_category=居民" + ")" * 3000,
        "NOT " * 2400 + "elec_category=居民",
        "非 " * 3000 + "elec_category=居民",
        "elec_category=居民 AND " + "(" * 60 + "elec_category=居民" + ")" * 60,
    ):
        for url, extra in (("/api/v1/tags/segments/evaluate", {}), ("/api/v1/tags/segments", {"name": "深"})):
            res = client.post(url, json.dumps({"expression": expression, **extra}), content_type="application/json")
            assert res.status_code == 400, (url, expression[:20], res.status_code)
            detail = res.json()["detail"]
            assert "嵌套太深" in detail or "太长" in detail, detail


# ------------------------------------------------------------------------------ the engine at run time


@pytest.fixture(scope="module")
def small_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_store(tmp_path_factory.mktemp("store"), n=60)


def test_a_rule_that_slipped_past_the_checks_still_cannot_read_files_at_run_time(
    small_store: Path, secrets: dict[str, str]
) -> None:
    """The connection is the last layer: rules built without compile_rule (as an old catalogue might hold)."""
    sneaky = {
        "read_text": f"SELECT customer_id, (SELECT content FROM read_text('{secrets['text']}')) AS value FROM customers",
        "serialized": "SELECT 1 AS customer_id, content AS value FROM json_execute_serialized_sql(json_serialize_sql("
        f"'SELECT content FROM read_text(''{secrets['text']}'')'))",
        "path_cte": f'SELECT customer_id, value FROM "{secrets["csv"]}"',
        "blob": f"SELECT 1 AS customer_id, CAST(content AS VARCHAR) AS value FROM read_blob('{secrets['db']}')",
        "attach_scan": f"SELECT 1 AS customer_id, password AS value FROM sqlite_scan('{secrets['db']}', 'auth_user')",
        "settings": "SELECT 1 AS customer_id, value AS value FROM duckdb_settings() WHERE name = 'allowed_paths'",
    }
    tags = [rules.CompiledTag(code, ("a",), True, sql=sql) for code, sql in sneaky.items()]
    honest = rules.compile_rule(
        "honest", {"kind": "sql", "sql": "SELECT customer_id, 'a' AS value FROM customers"}, ["a"]
    )
    out = engine.run_duckdb([*tags, honest], engine.find_inputs(small_store), AS_OF)
    assert set(out.errors) >= {"read_text", "serialized", "path_cte", "blob", "attach_scan"}, out.errors
    assert SECRET not in json.dumps(out.errors, ensure_ascii=False)
    assert SECRET not in " ".join(str(v) for v in out.values.column("value").to_pylist())
    leaked_paths = [v for v in out.values.column("value").to_pylist() if v and secrets["dir"] in v]
    assert not leaked_paths
    assert out.values.filter(pc_equal(out.values, "honest")).num_rows == 60


def pc_equal(table: Any, code: str) -> Any:
    import pyarrow.compute as pc

    return pc.equal(table.column("tag_code"), code)


def test_a_runaway_rule_is_interrupted_at_run_time_and_the_others_still_run(small_store: Path) -> None:
    runaway = rules.compile_rule(
        "runaway",
        {"kind": "sql", "sql": "SELECT a.customer_id, 'a' AS value FROM daily_kwh a, daily_kwh b, daily_kwh c"},
        ["a"],
    )
    honest = rules.compile_rule(
        "honest", {"kind": "sql", "sql": "SELECT customer_id, 'a' AS value FROM customers"}, ["a"]
    )
    started = time.perf_counter()
    out = engine.run_duckdb([runaway, honest], engine.find_inputs(small_store), AS_OF, rule_timeout=1.0)
    assert time.perf_counter() - started < 30
    assert "时间上限" in out.errors["runaway"]
    assert "honest" not in out.errors


def test_run_time_errors_do_not_quote_the_data(small_store: Path) -> None:
    tag = rules.compile_rule(
        "bad_cast",
        {"kind": "sql", "sql": "SELECT customer_id, CAST(account_no AS INTEGER) AS value FROM customers"},
        ["a"],
    )
    out = engine.run_duckdb([tag], engine.find_inputs(small_store), AS_OF)
    accounts = duckdb.sql(f"SELECT account_no FROM '{small_store}/customers.parquet'").fetchall()
    assert "bad_cast" in out.errors
    assert not any(a in out.errors["bad_cast"] for (a,) in accounts if a)


def test_a_rule_published_before_the_checks_is_refused_at_run_time_and_the_rest_run(
    published: None, secrets: dict[str, str]
) -> None:
    version = CatalogueVersion.objects.order_by("-number").first()
    assert version is not None
    snapshot = version.snapshot
    code = next(c for c, t in snapshot["tags"].items() if t["rule"]["kind"] == "sql")
    snapshot["tags"][code]["rule"] = {
        "kind": "sql",
        "sql": f"SELECT customer_id, (SELECT content FROM read_text('{secrets['text']}')) AS value FROM customers",
    }
    CatalogueVersion.objects.filter(pk=version.pk).update(snapshot=snapshot)
    run = services.run_execute(run=services.run_create(actor="test", as_of=AS_OF), now=NOW)
    assert run.status == TagRun.Status.DONE
    assert "read_text" in run.report[code]["error"]
    assert SECRET not in json.dumps(run.report, ensure_ascii=False)
    others = [c for c in run.report if c != code]
    assert others and all(run.report[c]["error"] is None for c in others)


# ------------------------------------------------------------------------------ the connection itself


@pytest.fixture
def locked(small_store: Path) -> Any:
    path = str(small_store / "customers.parquet")
    con = sandbox.sandboxed_connection(
        [path],
        prepare=lambda c: c.execute(f"CREATE VIEW customers AS SELECT * FROM read_parquet('{path}')"),
        memory_limit="256MB",
        threads=1,
    )
    yield con
    con.close()


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_text('{text}')",
        "SELECT * FROM read_blob('{db}')",
        "SELECT * FROM read_csv('{csv}')",
        "SELECT * FROM glob('{dir}/*')",
        'SELECT * FROM "{csv}"',
        "SELECT * FROM json_execute_serialized_sql(json_serialize_sql('SELECT * FROM read_text(''{text}'')'))",
        "ATTACH '{db}' AS leak",
        "COPY customers TO '{dir}/out.csv'",
        "COPY customers FROM '{csv}'",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SET enable_external_access = true",
        "SET lock_configuration = false",
        "SET memory_limit = '100GB'",
        "RESET memory_limit",
        "SET allowed_paths = ['/']",
    ],
)
def test_the_locked_connection_refuses_files_extensions_and_settings(
    locked: Any, sql: str, secrets: dict[str, str]
) -> None:
    with pytest.raises(duckdb.Error) as err:
        locked.execute(_fill(sql, secrets)).fetchall()
    assert SECRET not in str(err.value)
    assert locked.execute("SELECT count(*) FROM customers").fetchone()[0] == 60  # its own views still read


def test_the_locked_connection_has_a_memory_limit(locked: Any) -> None:
    assert locked.execute("SELECT current_setting('memory_limit')").fetchone()[0].startswith("244")
    with pytest.raises(duckdb.OutOfMemoryException):
        locked.execute("SELECT list(repeat('x', 100) || range) FROM range(20000000)").fetchall()


def test_the_time_limit_interrupts_and_says_so(locked: Any) -> None:
    started = time.perf_counter()
    with pytest.raises(sandbox.Refused, match=r"时间上限 0\.5 秒"):
        sandbox.run_with_timeout(
            locked,
            lambda c: c.execute(
                "WITH RECURSIVE r AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r"
            ).fetchall(),
            0.5,
        )
    assert time.perf_counter() - started < 10
    assert locked.execute("SELECT 1").fetchone() == (1,)  # the connection is usable afterwards


# ------------------------------------------------------------------------------ Spark


@pytest.mark.parametrize(
    ("sql", "named"),
    [
        ("SELECT * FROM parquet.`/etc/passwd`", "parquet"),
        ("SELECT * FROM csv.`/etc/passwd`", "csv"),
        ("SELECT * FROM json.`file:///etc/passwd`", "json"),
        ("SELECT customer_id, reflect('java.lang.System', 'getenv', 'HOME') AS value FROM customers", "reflect"),
        ("SELECT customer_id, java_method('java.lang.System', 'getenv') AS value FROM customers", "java_method"),
        ("SELECT customer_id, input_file_name() AS value FROM customers", "input_file_name"),
        ("SELECT * FROM read_files('/etc/passwd')", "read_files"),
        ("ADD JAR /tmp/evil.jar", "ADD"),
        ("SET spark.sql.runSQLOnFiles=true", "SET"),
        ("CREATE TEMPORARY VIEW v USING parquet OPTIONS (path '/etc')", "CREATE"),
        ("SELECT customer_id, 'a' AS value FROM customers; ADD JAR /tmp/evil.jar", "一条"),
    ],
)
def test_the_spark_check_refuses_file_tables_java_calls_and_commands(sql: str, named: str) -> None:
    with pytest.raises(sandbox.Refused) as err:
        sandbox.check_query(sql, rules.RULE_TABLES, dialect="spark")
    assert named in err.value.message


@pytest.mark.parametrize("sql", [s for _k, s, _n in ESCAPES][::3])
def test_the_spark_engine_refuses_what_duckdb_refuses_before_transpiling(sql: str, secrets: dict[str, str]) -> None:
    with pytest.raises(sandbox.Refused):
        engine.spark_rule_sql(_fill(sql, secrets))


def test_every_default_sql_tag_passes_the_spark_check_after_transpiling() -> None:
    from gridcare.tags.defaults import TAGS

    sql_tags = [t for t in TAGS if t["rule"]["kind"] == "sql"]
    assert sql_tags
    for t in sql_tags:
        assert "SELECT" in engine.spark_rule_sql(t["rule"]["sql"]).upper()


# ------------------------------------------------------------------------------ declarative rules


def test_a_condition_is_recompiled_from_its_parse_tree_so_a_comment_cannot_swallow_the_query() -> None:
    tag = rules.compile_rule(
        "c", {"kind": "conditions", "cases": [["avg_daily_kwh > 0 -- ) OR TRUE", "a"]], "else": "b"}, ["a", "b", "未知"]
    )
    assert tag.expression is not None and "--" not in tag.expression and "OR TRUE" not in tag.expression
    rules.validate(tag)


@pytest.mark.parametrize(
    ("rule", "named"),
    [
        ({"kind": "field", "field": "category; DROP TABLE customers", "map": {}}, "未知指标"),
        ({"kind": "bins", "metric": "avg_daily_kwh", "bins": [["nan", "a"]], "top": "b"}, "有限"),
        ({"kind": "bins", "metric": "avg_daily_kwh", "bins": [[float("inf"), "a"]], "top": "b"}, "有限"),
        ({"kind": "conditions", "cases": [["customers.category = 'x'", "a"]], "else": "b"}, "表名"),
        ({"kind": "conditions", "cases": [["avg_daily_kwh > 0; SELECT 1", "a"]], "else": "b"}, "一个表达式"),
    ],
)
def test_declarative_rules_refuse_injected_identifiers_and_values(rule: dict[str, Any], named: str) -> None:
    with pytest.raises(rules.RuleError, match=named):
        rules.compile_rule("x", rule, ["a", "b"])


def test_quotes_in_declarative_values_stay_values() -> None:
    tag = rules.compile_rule(
        "x",
        {"kind": "field", "field": "category", "map": {"x' OR 1=1 --": "a'); SELECT 1 --"}, "default": "b"},
        ["a'); SELECT 1 --", "b", "未知"],
    )
    rules.validate(tag)  # binds: the quotes were escaped, nothing became SQL


@pytest.mark.parametrize(
    "expression",
    [
        "strftime(opened_on, '%Y')",
        "CAST(date_trunc('month', opened_on) AS VARCHAR)",
        "CAST(position('a' IN category) AS VARCHAR)",
        "CAST(extract(year FROM opened_on) AS VARCHAR)",
        "CAST(opened_on + INTERVAL 3 DAY AS VARCHAR)",
        "CAST(date_diff('day', opened_on, (SELECT as_of FROM run_params)) AS VARCHAR)",
        "CAST(quantile_cont(avg_daily_kwh, 0.5) OVER (PARTITION BY category) AS VARCHAR)",
        "CAST(ntile(4) OVER (ORDER BY avg_daily_kwh, customer_id) AS VARCHAR)",
        "concat_ws('-', upper(substr(category, 1, 2)), coalesce(district, '未知'))",
        "CASE WHEN category ILIKE 'res%' AND avg_daily_kwh BETWEEN 1 AND 2 THEN 'a' ELSE 'b' END",
        "CAST(round(greatest(avg_daily_kwh, 0) / nullif(contract_kva, 0), 2) AS VARCHAR)",
    ],
)
def test_ordinary_analyst_sql_still_passes(expression: str) -> None:
    """The allow-list must not make the everyday functions unusable (dates, windows, strings, arithmetic)."""
    tag = rules.compile_rule(
        "x", {"kind": "sql", "sql": f"SELECT customer_id, {expression} AS value FROM features"}, ["a"]
    )
    rules.validate(tag)
