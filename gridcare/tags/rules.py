"""Tag rules compiled to SQL (DuckDB dialect): the documented input tables, the shared metrics and the rule kinds.

Pure logic, no Django: a rule is a small JSON document (`{"kind": "bins", ...}`) that compiles to one SQL
expression over the `features` view, or a whole `SELECT customer_id, value ...` for SQL rules. Metrics that
read the same input are computed together in one aggregate pass per input (`feature_sql`), which is how the
engine fuses forty tags into a handful of scans. Validation binds the SQL against empty tables of the
documented schema, so a bad rule is refused at save time with DuckDB's error and its line/column.
"""

# ruff: noqa: S608 - this module builds SQL on purpose: rules compile to SQL, and user SQL is checked by
# rules.check_sql_shape (the sandbox's allow-lists) before it gets here, and runs on a sandboxed connection.

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
from sqlglot import exp

from gridcare.tags import sandbox
from gridcare.tags.mining import cluster_expression

# Shared with the mining model, which sits below this module; re-exported because callers know them as
# rules.UNKNOWN, rules.RuleError …
from gridcare.tags.rulebase import HOURS as HOURS
from gridcare.tags.rulebase import UNKNOWN as UNKNOWN
from gridcare.tags.rulebase import RuleError as RuleError
from gridcare.tags.rulebase import sql_str as sql_str

# The documented input tables: name → ordered (column, DuckDB type). Missing columns read as NULL.
INPUT_TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "customers": (
        ("customer_id", "BIGINT"),
        ("account_no", "VARCHAR"),
        ("customer_type", "VARCHAR"),
        ("category", "VARCHAR"),
        ("industry", "VARCHAR"),
        ("voltage_level", "VARCHAR"),
        ("contract_kva", "DOUBLE"),
        ("area_class", "VARCHAR"),
        ("district", "VARCHAR"),
        ("transformer_area_code", "VARCHAR"),
        ("feeder_code", "VARCHAR"),
        ("opened_on", "DATE"),
        ("important_level", "VARCHAR"),
        ("is_sensitive", "BOOLEAN"),
        ("status", "VARCHAR"),
        ("is_prepaid", "BOOLEAN"),
        ("service_unit_id", "BIGINT"),
    ),
    "daily_kwh": (("customer_id", "BIGINT"), ("day", "DATE"), ("kwh", "DOUBLE")),
    "load_96": (("customer_id", "BIGINT"), ("ts", "TIMESTAMP"), ("kw", "DOUBLE")),
    "payments": (
        ("customer_id", "BIGINT"),
        ("month", "DATE"),
        ("billed_kwh", "DOUBLE"),
        ("amount_yuan", "DOUBLE"),
        ("due_date", "DATE"),
        ("paid_on", "DATE"),
        ("channel", "VARCHAR"),
        ("prepaid_balance_yuan", "DOUBLE"),
    ),
    "work_orders": (
        ("customer_id", "BIGINT"),
        ("created_at", "TIMESTAMP"),
        ("kind", "VARCHAR"),
        ("satisfaction", "INTEGER"),
    ),
    "credit": (("customer_id", "BIGINT"), ("credit_grade", "VARCHAR")),
}

# How each input is cut to the run's window; {as_of} is a DATE literal. Everything after as_of is invisible,
# so a run "as of" a past date reproduces what was known then.
INPUT_WINDOWS: dict[str, str] = {
    "daily_kwh": "day <= {as_of} AND day > {as_of} - INTERVAL 365 DAY",
    "load_96": "ts < CAST({as_of} AS TIMESTAMP) + INTERVAL 1 DAY "
    "AND ts >= CAST({as_of} AS TIMESTAMP) - INTERVAL 27 DAY",
    "payments": "month <= {as_of} AND month > {as_of} - INTERVAL 365 DAY",
    "work_orders": "created_at < CAST({as_of} AS TIMESTAMP) + INTERVAL 1 DAY "
    "AND created_at >= CAST({as_of} AS TIMESTAMP) - INTERVAL 365 DAY",
}

# Feature tables: name → (inputs read, SQL with {as_of}, produced columns with a description).
# m_usage is the one pass over the big daily table; everything about usage is derived from its monthly rows.
FEATURE_SQL: dict[str, str] = {
    "m_usage": """
SELECT customer_id, year(day) * 12 + month(day) AS month_index,
       sum(kwh) AS kwh, count(*) AS days, sum(CASE WHEN kwh < 0.1 THEN 1 ELSE 0 END) AS low_days,
       max(kwh) AS max_kwh
FROM daily_kwh GROUP BY customer_id, year(day) * 12 + month(day)""",
    "f_usage": """
SELECT u.customer_id,
       sum(u.days) AS usage_days,
       sum(u.kwh) / sum(u.days) AS avg_daily_kwh,
       sum(u.kwh) / count(*) AS avg_monthly_kwh,
       sum(u.kwh) AS total_kwh,
       max(u.max_kwh) AS max_daily_kwh,
       CAST(sum(u.low_days) AS DOUBLE) / sum(u.days) AS low_day_share,
       CASE WHEN count(*) >= 3 AND sum(u.kwh) > 0
            THEN regr_slope(u.kwh / u.days * 30.0, CAST(u.month_index AS DOUBLE))
                 / (sum(u.kwh) / sum(u.days) * 30.0) * 100
       END AS kwh_trend_pct,
       CASE WHEN sum(u.kwh) > 0 THEN max(u.kwh / u.days) / (sum(u.kwh) / sum(u.days)) END AS seasonal_index,
       CASE WHEN sum(CASE WHEN u.month_index < l.last_index THEN u.kwh ELSE 0 END) > 0
            THEN (sum(CASE WHEN u.month_index = l.last_index THEN u.kwh ELSE 0 END)
                  / sum(CASE WHEN u.month_index = l.last_index THEN u.days ELSE 0 END))
               / (sum(CASE WHEN u.month_index < l.last_index THEN u.kwh ELSE 0 END)
                  / sum(CASE WHEN u.month_index < l.last_index THEN u.days ELSE 0 END))
       END AS last_month_ratio,
       CASE WHEN sum(u.kwh) > 0
            THEN sum(CASE WHEN (u.month_index - 1) % 12 + 1 IN (7, 8, 12, 1) THEN u.kwh ELSE 0 END)
                 / sum(CASE WHEN (u.month_index - 1) % 12 + 1 IN (7, 8, 12, 1) THEN u.days ELSE 0 END)
                 / (sum(u.kwh) / sum(u.days))
       END AS peak_season_ratio
FROM m_usage u JOIN (SELECT max(month_index) AS last_index FROM m_usage) l ON TRUE
GROUP BY u.customer_id""",
    "f_load": """
SELECT customer_id,
       CASE WHEN max(kw) > 0 THEN avg(kw) / max(kw) END AS load_factor,
       CASE WHEN sum(kw) > 0 THEN sum(CASE WHEN hour(ts) BETWEEN 8 AND 10 OR hour(ts) BETWEEN 17 AND 20
                                      THEN kw ELSE 0 END) / sum(kw) END AS peak_share,
       CASE WHEN sum(kw) > 0 THEN sum(CASE WHEN hour(ts) >= 23 OR hour(ts) < 7 THEN kw ELSE 0 END) / sum(kw)
       END AS valley_share,
       """
    + ",\n       ".join(
        f"CASE WHEN avg(kw) > 0 THEN avg(CASE WHEN hour(ts) = {h} THEN kw END) / avg(kw) END AS {name}"
        for h, name in enumerate(HOURS)
    )
    + """
FROM load_96 GROUP BY customer_id""",
    "f_pay": """
SELECT customer_id,
       count(*) AS bills,
       sum(amount_yuan) AS revenue_yuan,
       avg(amount_yuan) AS avg_bill_yuan,
       avg(CASE WHEN paid_on IS NOT NULL AND paid_on <= due_date THEN 1.0 ELSE 0.0 END) AS on_time_share,
       avg(CASE WHEN paid_on IS NOT NULL THEN date_diff('day', due_date, paid_on) END) AS avg_delay_days,
       sum(CASE WHEN paid_on IS NULL AND due_date < {as_of} THEN 1 ELSE 0 END) AS overdue_bills,
       sum(CASE WHEN paid_on IS NULL THEN amount_yuan ELSE 0 END) AS outstanding_yuan,
       date_diff('day', max(paid_on), {as_of}) AS days_since_payment,
       arg_max(prepaid_balance_yuan, month) AS last_balance_yuan
FROM payments GROUP BY customer_id""",
    "f_wo": """
SELECT customer_id,
       count(*) AS orders_12m,
       sum(CASE WHEN kind = 'repair' THEN 1 ELSE 0 END) AS repairs_12m,
       sum(CASE WHEN kind = 'complaint' THEN 1 ELSE 0 END) AS complaints_12m,
       avg(satisfaction) AS avg_satisfaction,
       date_diff('day', CAST(max(created_at) AS DATE), {as_of}) AS days_since_order
FROM work_orders GROUP BY customer_id""",
}

FEATURE_INPUTS: dict[str, tuple[str, ...]] = {
    "m_usage": ("daily_kwh",),
    "f_usage": ("m_usage",),
    "f_load": ("load_96",),
    "f_pay": ("payments",),
    "f_wo": ("work_orders",),
}

LEDGER_METRICS: dict[str, str] = {
    "account_age_years": "date_diff('day', c.opened_on, {as_of}) / 365.25",
}


@dataclass(frozen=True)
class Metric:
    name: str
    table: str  # feature table (or "customers"/"credit") that holds it
    label: str


METRICS: dict[str, Metric] = {}


def _metric(table: str, name: str, label: str) -> None:
    METRICS[name] = Metric(name, table, label)


for _name, _label in (
    ("usage_days", "有读数的天数"),
    ("avg_daily_kwh", "日均电量(kWh)"),
    ("avg_monthly_kwh", "月均电量(kWh)"),
    ("total_kwh", "年电量(kWh)"),
    ("max_daily_kwh", "最大日电量(kWh)"),
    ("low_day_share", "近零用电天数占比"),
    ("kwh_trend_pct", "月电量斜率(%/月)"),
    ("seasonal_index", "季节性指数(最大月/平均)"),
    ("last_month_ratio", "最近一月/此前日均比"),
    ("peak_season_ratio", "迎峰度夏度冬月份用电比"),
):
    _metric("f_usage", _name, _label)
for _name, _label in (
    ("load_factor", "负荷率"),
    ("peak_share", "峰时段电量占比"),
    ("valley_share", "谷时段电量占比"),
    *((h, f"{int(h[1:])}时典型负荷(标幺)") for h in HOURS),
):
    _metric("f_load", _name, _label)
for _name, _label in (
    ("bills", "账单数"),
    ("revenue_yuan", "年电费(元)"),
    ("avg_bill_yuan", "月均电费(元)"),
    ("on_time_share", "按期交费占比"),
    ("avg_delay_days", "平均逾期天数"),
    ("overdue_bills", "逾期未缴账单数"),
    ("outstanding_yuan", "未缴金额(元)"),
    ("days_since_payment", "距上次交费天数"),
    ("last_balance_yuan", "最近费控余额(元)"),
):
    _metric("f_pay", _name, _label)
for _name, _label in (
    ("orders_12m", "近一年工单数"),
    ("repairs_12m", "近一年报修次数"),
    ("complaints_12m", "近一年投诉次数"),
    ("avg_satisfaction", "平均满意度(1-5)"),
    ("days_since_order", "距上次工单天数"),
):
    _metric("f_wo", _name, _label)
for _col, _type in INPUT_TABLES["customers"]:
    if _col != "customer_id":
        _metric("customers", _col, _col)
_metric("customers", "account_age_years", "户龄(年)")
_metric("credit", "credit_grade", "外部信用等级")

FEATURE_TABLES = ("f_usage", "f_load", "f_pay", "f_wo")


def features_select(as_of: str, tables: Iterable[str] | None = None) -> str:
    """The `features` view: one row per customer with every metric of the feature tables it needs."""
    wanted = set([*FEATURE_TABLES, "credit"] if tables is None else tables)
    cols = ["c.*", f"{LEDGER_METRICS['account_age_years'].format(as_of=as_of)} AS account_age_years"]
    joins = []
    for t in FEATURE_TABLES:
        if t in wanted:
            cols.append(", ".join(f"{t}.{m.name}" for m in METRICS.values() if m.table == t))
            joins.append(f"LEFT JOIN {t} ON {t}.customer_id = c.customer_id")
    if "credit" in wanted:
        cols.append("credit.credit_grade")
        joins.append("LEFT JOIN credit ON credit.customer_id = c.customer_id")
    return "SELECT " + ", ".join(cols) + " FROM customers c " + " ".join(joins)


# ---------------------------------------------------------------------------------------------- compilation


@dataclass(frozen=True)
class CompiledTag:
    """One tag ready to run: either an expression over `features` or a whole SQL statement."""

    code: str
    values: tuple[str, ...]
    single_valued: bool
    expression: str | None = None  # declarative kinds
    sql: str | None = None  # SQL kind: SELECT customer_id, value ...
    needs: frozenset[str] = field(default_factory=frozenset)  # feature tables / inputs read


def _metric_ref(name: str) -> tuple[str, str]:
    if name not in METRICS:
        raise RuleError(f"未知指标 {name!r}；可用指标见文档 docs/tags.md")
    return name, METRICS[name].table


def _bins_case(metric: str, bins: Sequence[Sequence[Any]], top: str) -> str:
    """`bins` = [[upper, label], ...] ascending: value < upper → label; the rest → `top`."""
    if not bins:
        raise RuleError("分档规则至少需要一个阈值")
    uppers = [float(b[0]) for b in bins]
    if not all(math.isfinite(u) for u in uppers):
        raise RuleError("分档阈值必须是有限的数字")
    if uppers != sorted(uppers):
        raise RuleError("分档阈值必须从小到大排列")
    arms = " ".join(f"WHEN {metric} < {float(upper)!r} THEN {sql_str(label)}" for upper, label in bins)
    return f"CASE WHEN {metric} IS NULL THEN {sql_str(UNKNOWN)} {arms} ELSE {sql_str(top)} END"


def _check_labels(labels: Iterable[str], values: Sequence[str], code: str) -> None:
    missing = sorted({str(v) for v in labels} - set(values))
    if missing:
        raise RuleError(f"标签 {code} 的规则产生了值域之外的值：{', '.join(missing)}")


def compile_rule(
    code: str, rule: Mapping[str, Any], values: Sequence[str], *, single_valued: bool = True
) -> CompiledTag:
    """Compile one rule document; raises RuleError with a message a person can act on."""
    kind = rule.get("kind")
    values = tuple(values)
    if kind == "sql":
        sql = str(rule.get("sql", "")).strip().rstrip(";")
        return CompiledTag(code, values, single_valued, sql=sql, needs=check_sql_shape(sql))
    needs: set[str] = set()
    labels: list[str] = [UNKNOWN]

    def metric(name: str) -> str:
        m, table = _metric_ref(name)
        needs.add(table)
        return m

    if kind == "field":
        col = metric(str(rule["field"]))
        mapping: dict[str, str] = dict(rule.get("map", {}))
        default = rule.get("default")
        arms = " ".join(f"WHEN CAST({col} AS VARCHAR) = {sql_str(k)} THEN {sql_str(v)}" for k, v in mapping.items())
        tail = f"ELSE {sql_str(default)}" if default is not None else f"ELSE CAST({col} AS VARCHAR)"
        null_value = rule.get("null", UNKNOWN)
        expr = f"CASE WHEN {col} IS NULL THEN {sql_str(null_value)} {arms} {tail} END"
        labels += [*mapping.values(), null_value]
        if default is not None:
            labels.append(default)
        else:
            labels = []  # raw field values: checked at run time against the value set
    elif kind in ("bins", "trend"):
        col = metric(str(rule.get("metric", "kwh_trend_pct" if kind == "trend" else "")))
        expr = _bins_case(col, rule["bins"], rule["top"])
        labels += [b[1] for b in rule["bins"]] + [rule["top"]]
    elif kind == "ratio":
        num, den = metric(str(rule["numerator"])), metric(str(rule["denominator"]))
        ratio = f"(CASE WHEN {den} > 0 THEN CAST({num} AS DOUBLE) / {den} END)"
        expr = _bins_case(ratio, rule["bins"], rule["top"])
        labels += [b[1] for b in rule["bins"]] + [rule["top"]]
    elif kind == "quantile":
        col = metric(str(rule["metric"]))
        names = [str(x) for x in rule["labels"]]
        if len(names) < 2:
            raise RuleError("分位数分档至少需要两个档")
        # Ties broken by customer_id so every engine puts the same customers in the same bin.
        tile = f"ntile({len(names)}) OVER (ORDER BY {col}, customer_id)"
        arms = " ".join(f"WHEN {i + 1} THEN {sql_str(n)}" for i, n in enumerate(names))
        expr = f"CASE WHEN {col} IS NULL THEN {sql_str(UNKNOWN)} ELSE (CASE {tile} {arms} END) END"
        labels += names
        needs.add("__window__")
    elif kind == "count":
        col = metric(str(rule["metric"]))
        zero = rule.get("zero_when_missing", True)
        value = f"coalesce({col}, 0)" if zero else col
        expr = _bins_case(value, rule["bins"], rule["top"])
        labels += [b[1] for b in rule["bins"]] + [rule["top"]]
    elif kind == "conditions":
        arms_list = []
        for cond, label in rule["cases"]:
            cond_sql = _features_condition(str(cond), needs)
            arms_list.append(f"WHEN {cond_sql} THEN {sql_str(label)}")
            labels.append(label)
        expr = f"CASE {' '.join(arms_list)} ELSE {sql_str(rule['else'])} END"
        labels.append(rule["else"])
    elif kind == "cluster":
        for h in HOURS:
            metric(h)
        expr, names = cluster_expression(rule)
        labels += names
    else:
        raise RuleError(
            f"未知规则类型 {kind!r}；可用：sql, field, bins, quantile, trend, ratio, count, conditions, cluster"
        )
    if labels:
        _check_labels(labels, values, code)
    return CompiledTag(code, values, single_valued, expression=expr, needs=frozenset(needs))


def _features_condition(cond: str, needs: set[str]) -> str:
    """A condition over metric names (`avg_daily_kwh < 0.5 AND category = 'resident'`), checked by the sandbox.

    The SQL that goes into the compiled tag is regenerated from the parsed tree, not the analyst's text, so a
    comment or an unbalanced parenthesis cannot change the query around it.
    """
    try:
        tree = sandbox.check_condition(cond)
    except sandbox.Refused as exc:
        raise RuleError(f"条件 {cond[:80]!r} 无效：{exc.message}") from None
    for column in tree.find_all(exp.Column):
        if column.table:
            raise RuleError(f"条件里的指标不要加表名：{column.sql()[:60]}")
        _name, table = _metric_ref(column.name)
        needs.add(table)
    return f"({tree.sql(dialect='duckdb', comments=False)})"


# What a SQL rule may read: the documented inputs, the feature tables and the joined `features` view.
RULE_TABLES: frozenset[str] = frozenset(set(INPUT_TABLES) | set(FEATURE_TABLES) | {"features", "run_params", "m_usage"})


def check_sql_shape(sql: str) -> frozenset[str]:
    """One SELECT over documented tables only, with allowed functions only; returns the tables it reads.

    Two parsers must agree (SQLGlot, which the Spark engine shares, and DuckDB's own), so a construct one of
    them reads differently from the other is still refused.
    """
    try:
        needs = set(sandbox.check_query(sql, RULE_TABLES))
        sandbox.check_duckdb_parse(sql, RULE_TABLES)
    except sandbox.Refused as exc:
        raise RuleError(exc.message, line=exc.line, column=exc.column) from None
    if "features" in needs:
        needs |= set(FEATURE_TABLES) | {"credit"}
    if "f_usage" in needs:
        needs.add("m_usage")
    return frozenset(needs)


# ---------------------------------------------------------------------------------------------- validation


def _create_empty_schema(con: duckdb.DuckDBPyConnection, as_of: str) -> None:
    for name, columns in INPUT_TABLES.items():
        con.execute(f"CREATE TABLE {name} ({', '.join(f'{c} {t}' for c, t in columns)})")
    con.execute(f"CREATE TABLE run_params AS SELECT {as_of} AS as_of")
    for name, sql in FEATURE_SQL.items():
        con.execute(f"CREATE TABLE {name} AS {sql.format(as_of=as_of)}")
    con.execute(f"CREATE VIEW features AS {features_select(as_of)}")


def empty_schema_connection(as_of: str = "DATE '2026-01-01'") -> duckdb.DuckDBPyConnection:
    """A sandboxed in-memory DuckDB with every documented table empty, so rules can be bound without data."""
    return sandbox.sandboxed_connection(
        prepare=lambda con: _create_empty_schema(con, as_of), memory_limit=sandbox.VALIDATE_MEMORY_LIMIT, threads=1
    )


_SHARED: list[duckdb.DuckDBPyConnection] = []
_SHARED_LOCK = threading.Lock()


def _shared_connection() -> duckdb.DuckDBPyConnection:
    """One empty-schema database per process (building it takes a quarter of a second); callers use cursors."""
    with _SHARED_LOCK:
        if not _SHARED:
            _SHARED.append(empty_schema_connection())
        return _SHARED[0].cursor()


def _execute(con: duckdb.DuckDBPyConnection, sql: str) -> list[str]:
    cursor = con.execute(sql)
    cursor.fetchall()
    return [d[0] for d in cursor.description or []]


def validate(tag: CompiledTag, con: duckdb.DuckDBPyConnection | None = None) -> None:
    """Bind the compiled rule against empty tables; raise RuleError (with position for SQL rules).

    The statement runs in the sandbox under a short time limit (a recursive CTE loops even over empty tables),
    and the error names what the rule says, never DuckDB's raw text.
    """
    con = con or _shared_connection()
    sql = rule_sql(tag)
    try:
        columns = sandbox.run_with_timeout(con, lambda c: _execute(c, sql), sandbox.VALIDATE_TIMEOUT_SECONDS)
    except sandbox.Refused as exc:
        raise RuleError(exc.message) from None
    except duckdb.Error as exc:
        if tag.sql is None:
            raise RuleError(f"规则编译后的 SQL 无法执行：{sandbox.safe_message(exc, sql)}") from None
        line, column = sandbox.position(str(exc), sql)
        raise RuleError(sandbox.safe_message(exc, sql), line=line, column=column) from None
    if tag.sql is not None and ([c.lower() for c in columns[:2]] != ["customer_id", "value"] or len(columns) != 2):
        shown = ", ".join(c[:40] for c in columns[:5])
        raise RuleError(f"SQL 规则必须恰好返回两列 customer_id, value；实际为 {shown}")


def rule_sql(tag: CompiledTag) -> str:
    """The full statement of one tag, for display and for running it alone."""
    if tag.sql is not None:
        return tag.sql
    return f"SELECT customer_id, {tag.expression} AS value FROM features"
