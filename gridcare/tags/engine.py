"""The tag engine: runs compiled tags over the analytics store (Parquet) with DuckDB, or the same SQL on Spark.

No Django here: it takes compiled tags, input paths and the as-of date, and returns the values as an Arrow
table (customer_id, tag_code, value) plus what the run covered (the high-water mark of every input). The
declarative tags are fused: each input is aggregated once into a feature table, then one SELECT over the
joined `features` computes every declarative tag at once; SQL rules run one statement each.
"""

# ruff: noqa: S608 - this module builds SQL on purpose: rules compile to SQL, and user SQL is checked by
# rules.check_sql_shape (the sandbox's allow-lists) before it gets here, and runs on a sandboxed connection.

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gridcare.tags import sandbox
from gridcare.tags.rules import (
    FEATURE_INPUTS,
    FEATURE_SQL,
    FEATURE_TABLES,
    HOURS,
    INPUT_TABLES,
    INPUT_WINDOWS,
    RULE_TABLES,
    UNKNOWN,
    CompiledTag,
    features_select,
)

Progress = Callable[[str], None]
# Peak/valley hours are local wall-clock hours: both engines read timestamps in the utility's zone.
TIME_ZONE = "Asia/Shanghai"

# Where each input lives under the analytics directory; a directory means "every Parquet file below it".
INPUT_FILES: dict[str, tuple[str, ...]] = {
    "customers": ("customers.parquet", "customers"),
    "daily_kwh": ("daily_kwh", "daily_kwh.parquet"),
    "load_96": ("load_96", "load_96.parquet"),
    "payments": ("payments.parquet", "payments"),
    "work_orders": ("work_orders.parquet", "work_orders"),
    "credit": ("external/credit.parquet",),
}


def find_inputs(analytics_dir: Path, overrides: Mapping[str, Path] | None = None) -> dict[str, str | None]:
    """Parquet path or glob per documented input, None when the store has none (the table is then empty)."""
    found: dict[str, str | None] = {}
    for name, candidates in INPUT_FILES.items():
        found[name] = None
        if overrides and name in overrides:
            candidates = (str(overrides[name]),)
        for candidate in candidates:
            path = analytics_dir / candidate
            if path.is_file():
                found[name] = str(path)
                break
            if path.is_dir() and any(path.rglob("*.parquet")):
                found[name] = str(path / "**" / "*.parquet")
                break
    return found


def date_literal(day: dt.date) -> str:
    return f"DATE '{day.isoformat()}'"


@dataclass
class RunOutput:
    values: pa.Table  # customer_id int64, tag_code string, value string
    customer_ids: np.ndarray  # every customer of the ledger at the run
    coverage: dict[str, Any] = field(default_factory=dict)  # high-water mark per input
    errors: dict[str, str] = field(default_factory=dict)  # tag code → rule error at run time
    passes: int = 0  # how many statements the engine ran over the data


def needed_features(tags: Iterable[CompiledTag]) -> list[str]:
    """The feature tables the tags read, in dependency order (m_usage before f_usage)."""
    needs: set[str] = set()
    for t in tags:
        needs |= set(t.needs)
    # a feature table read by a needed one is needed too (f_usage is built from m_usage)
    pending = list(needs)
    while pending:
        for source in FEATURE_INPUTS.get(pending.pop(), ()):
            if source in FEATURE_SQL and source not in needs:
                needs.add(source)
                pending.append(source)
    return [name for name in FEATURE_SQL if name in needs]


def _input_view_sql(name: str, present: Sequence[str], as_of: str, source: str) -> str:
    cols = []
    for col, typ in INPUT_TABLES[name]:
        cols.append(f"CAST({col} AS {typ}) AS {col}" if col in present else f"CAST(NULL AS {typ}) AS {col}")
    sql = f"SELECT {', '.join(cols)} FROM {source}"
    if name in INPUT_WINDOWS:
        sql = f"SELECT * FROM ({sql}) WHERE {INPUT_WINDOWS[name].format(as_of=as_of)}"
    return sql


def _empty_sql(name: str) -> str:
    cols = ", ".join(f"CAST(NULL AS {t}) AS {c}" for c, t in INPUT_TABLES[name])
    return f"SELECT {cols} WHERE 1 = 0"


COVERAGE_SQL: dict[str, str] = {
    "customers": "SELECT count(*) AS rows FROM customers",
    "daily_kwh": "SELECT sum(days) AS rows, CAST(max(last_day) AS VARCHAR) AS through FROM m_usage",
    "load_96": "SELECT count(*) AS rows, CAST(max(ts) AS VARCHAR) AS through FROM load_96",
    "payments": "SELECT count(*) AS rows, CAST(max(month) AS VARCHAR) AS through FROM payments",
    "work_orders": "SELECT count(*) AS rows, CAST(max(created_at) AS VARCHAR) AS through FROM work_orders",
    "credit": "SELECT count(*) AS rows FROM credit",
}


def _constant(code: str, n: int) -> pa.Array:
    """A column repeating one tag code, built in Arrow rather than as an n-element Python list."""
    return pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype=np.int32)), pa.array([code])).cast(pa.string())


def _long_from_wide(wide: pa.Table, codes: Sequence[str]) -> list[pa.Table]:
    ids = wide.column("customer_id").cast(pa.int64())
    parts = []
    for i, code in enumerate(codes):
        values = wide.column(f"t{i}").cast(pa.string())
        parts.append(pa.table({"customer_id": ids, "tag_code": _constant(code, len(ids)), "value": values}))
    return parts


def _long_from_sql(table: pa.Table, code: str) -> pa.Table:
    return pa.table(
        {
            "customer_id": table.column(0).cast(pa.int64()),
            "tag_code": _constant(code, table.num_rows),
            "value": table.column(1).cast(pa.string()),
        }
    )


def _combine(parts: list[pa.Table]) -> pa.Table:
    if not parts:
        return pa.table(
            {
                "customer_id": pa.array([], pa.int64()),
                "tag_code": pa.array([], pa.string()),
                "value": pa.array([], pa.string()),
            }
        )
    table = pa.concat_tables(parts)
    return table.filter(pc.is_valid(table.column("customer_id")))


# ------------------------------------------------------------------------------------------------- DuckDB


def _arrow(con: duckdb.DuckDBPyConnection, sql: str) -> pa.Table:
    """A query's whole result as an Arrow table, on DuckDB 1.x and 2.x alike."""
    rel = con.sql(sql)
    fetch = getattr(rel, "to_arrow_table", None) or rel.fetch_arrow_table
    return fetch()


def run_duckdb(
    tags: Sequence[CompiledTag],
    inputs: Mapping[str, str | None],
    as_of: dt.date,
    *,
    progress: Progress | None = None,
    threads: int | None = None,
    temp_dir: Path | None = None,
    features_to: Path | None = None,
    memory_limit: str | None = None,
    rule_timeout: float | None = None,
) -> RunOutput:
    """Run the tags on a sandboxed DuckDB (see gridcare.tags.sandbox): GridCare's views are built first, then
    external access is off and the configuration locked while the analysts' SQL runs, each statement under a
    time limit (`rule_timeout`, default GRIDCARE_TAGS_RULE_TIMEOUT) and the whole run under `memory_limit`."""
    rule_timeout = rule_timeout if rule_timeout is not None else sandbox.RULE_TIMEOUT_SECONDS
    say = progress or (lambda _s: None)
    lit = date_literal(as_of)
    features = needed_features(tags)
    passes = 0

    def prepare(con: duckdb.DuckDBPyConnection) -> None:
        """Trusted setup, before the sandbox locks: views over the store's own Parquet paths, the feature
        tables, and the copy of `features` kept with the run. Nothing here comes from an analyst."""
        nonlocal passes
        con.execute("SET preserve_insertion_order = false")
        con.execute(f"SET TimeZone = '{TIME_ZONE}'")
        for name in INPUT_TABLES:
            path = inputs.get(name)
            if path is None:
                con.execute(f"CREATE VIEW {name} AS {_empty_sql(name)}")
                continue
            escaped = path.replace("'", "''")
            con.execute(f"CREATE VIEW raw_{name} AS SELECT * FROM read_parquet('{escaped}', union_by_name = true)")
            present = [r[0] for r in con.execute(f"DESCRIBE raw_{name}").fetchall()]
            con.execute(f"CREATE VIEW {name} AS {_input_view_sql(name, present, lit, f'raw_{name}')}")
        con.execute(f"CREATE TABLE run_params AS SELECT {lit} AS as_of")
        for name in FEATURE_SQL:
            if name in features:
                say(f"feature {name}")
                sql = FEATURE_SQL[name].format(as_of=lit)
                if name == "m_usage":
                    sql = sql.replace("max(kwh) AS max_kwh", "max(kwh) AS max_kwh, max(day) AS last_day")
                con.execute(f"CREATE TEMP TABLE {name} AS {sql}")
                passes += 1
            else:
                con.execute(f"CREATE VIEW {name} AS SELECT * FROM ({FEATURE_SQL[name].format(as_of=lit)}) WHERE 1 = 0")
        con.execute(f"CREATE TEMP TABLE features AS {features_select(lit, [*FEATURE_TABLES, 'credit'])}")
        if features_to is not None:
            # Kept with the run so a portrait can show the metric behind each value without recomputing.
            features_to.parent.mkdir(parents=True, exist_ok=True)
            target = str(features_to).replace("'", "''")
            con.execute(
                f"COPY (SELECT * FROM features ORDER BY customer_id) TO '{target}' (FORMAT parquet, COMPRESSION zstd)"
            )

    if temp_dir is not None:
        temp_dir.mkdir(parents=True, exist_ok=True)
    con = sandbox.sandboxed_connection(
        [p for p in inputs.values() if p is not None],
        prepare=prepare,
        memory_limit=memory_limit,
        threads=threads,
        temp_dir=str(temp_dir) if temp_dir is not None else None,
    )
    customer_ids = _arrow(con, "SELECT customer_id FROM customers").column(0).to_numpy()

    def guarded(sql: str) -> pa.Table:
        # Analyst text (SQL rules, conditions) runs under the time limit; a failure is reported without data.
        return sandbox.run_with_timeout(con, lambda c: _arrow(c, sql), rule_timeout)

    parts: list[pa.Table] = []
    errors: dict[str, str] = {}
    declarative = [t for t in tags if t.expression is not None]
    if declarative:
        say(f"{len(declarative)} declarative tags in one pass")
        cols = ", ".join(f"{t.expression} AS t{i}" for i, t in enumerate(declarative))
        try:
            wide = guarded(f"SELECT customer_id, {cols} FROM features")
            parts += _long_from_wide(wide, [t.code for t in declarative])
            passes += 1
        except (duckdb.Error, sandbox.Refused):
            # One bad rule must not sink the rest: run them one by one to find it.
            for t in declarative:
                try:
                    one = guarded(f"SELECT customer_id, {t.expression} AS t0 FROM features")
                    parts += _long_from_wide(one, [t.code])
                except sandbox.Refused as exc:
                    errors[t.code] = exc.message
                except duckdb.Error as exc:
                    errors[t.code] = sandbox.safe_message(exc, t.expression or "")
                passes += 1
    for t in tags:
        if t.sql is None:
            continue
        say(f"SQL tag {t.code}")
        try:
            parts.append(_long_from_sql(guarded(t.sql), t.code))
        except sandbox.Refused as exc:
            errors[t.code] = exc.message
        except duckdb.Error as exc:
            errors[t.code] = sandbox.safe_message(exc, t.sql)
        passes += 1
    coverage: dict[str, Any] = {}
    for name, sql in COVERAGE_SQL.items():
        if name == "daily_kwh" and "m_usage" not in features:
            continue
        row = con.execute(sql).fetchone() or (0,)
        coverage[name] = {"rows": int(row[0] or 0), **({"through": row[1]} if len(row) > 1 else {})}
        coverage[name]["present"] = inputs.get(name) is not None
    con.close()
    return RunOutput(_combine(parts), customer_ids, coverage, errors, passes)


# ------------------------------------------------------------------------------------------------- Spark


def to_spark(sql: str) -> str:
    """DuckDB SQL → Spark SQL with SQLGlot."""
    import sqlglot

    return sqlglot.transpile(sql, read="duckdb", write="spark")[0]


def spark_rule_sql(sql: str) -> str:
    """An analyst's SQL rule as Spark SQL, checked before and after transpiling.

    Before: the same allow-lists as on DuckDB (no file functions, only the registered tables). After: the
    Spark text is parsed again as Spark, so a rewrite can never produce `parquet.`/path`` tables, `reflect`,
    `java_method` or a statement other than SELECT (ADD JAR, SET …).
    """
    sandbox.check_query(sql, RULE_TABLES)
    try:
        spark_sql = to_spark(sql)
    except Exception:  # SQLGlot's own errors: the rule is then simply not expressible in Spark
        raise sandbox.Refused("SQL 规则无法转换为 Spark SQL") from None
    sandbox.check_query(spark_sql, RULE_TABLES, dialect="spark")
    return spark_sql


def spark_session(master: str | None = None) -> Any:
    """A SparkSession: local[2] by default, or the cluster in GRIDCARE_SPARK_MASTER / `master`."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    master = master or os.environ.get("GRIDCARE_SPARK_MASTER", "local[2]")
    session = (
        SparkSession.builder.master(master)
        .appName("gridcare-tags")
        .config("spark.sql.session.timeZone", TIME_ZONE)
        .config("spark.sql.shuffle.partitions", "4" if master.startswith("local") else "200")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.bindAddress", "127.0.0.1" if master.startswith("local") else "0.0.0.0")  # noqa: S104
        .config("spark.sql.ansi.enabled", "false")
        # No `SELECT … FROM parquet.`/path``: tables come only from the views GridCare registers.
        .config("spark.sql.runSQLOnFiles", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session


def _spark_arrow(frame: Any) -> pa.Table:
    if hasattr(frame, "toArrow"):  # Spark ≥ 4: no pandas in between
        return frame.toArrow()
    return pa.Table.from_pandas(frame.toPandas(), preserve_index=False)


def run_spark(
    tags: Sequence[CompiledTag],
    inputs: Mapping[str, str | None],
    as_of: dt.date,
    *,
    spark: Any = None,
    progress: Progress | None = None,
) -> RunOutput:
    """The same statements as run_duckdb, transpiled to Spark SQL and run by Spark."""
    say = progress or (lambda _s: None)
    spark = spark or spark_session()
    spark.conf.set("spark.sql.runSQLOnFiles", "false")  # also on a session the caller built
    lit = date_literal(as_of)

    def sql(text: str) -> Any:
        return spark.sql(to_spark(text))

    for name in INPUT_TABLES:
        path = inputs.get(name)
        if path is None:
            sql(_empty_sql(name)).createOrReplaceTempView(name)
            continue
        base = path.split("/**")[0]
        reader = spark.read.option("recursiveFileLookup", "true") if "**" in path else spark.read
        raw = reader.parquet(base)
        raw.createOrReplaceTempView(f"raw_{name}")
        sql(_input_view_sql(name, raw.columns, lit, f"raw_{name}")).createOrReplaceTempView(name)
    sql(f"SELECT {lit} AS as_of").createOrReplaceTempView("run_params")
    features = needed_features(tags)
    passes = 0
    for name in FEATURE_SQL:
        text = FEATURE_SQL[name].format(as_of=lit)
        if name == "m_usage":
            text = text.replace("max(kwh) AS max_kwh", "max(kwh) AS max_kwh, max(day) AS last_day")
        if name in features:
            say(f"feature {name}")
            frame = sql(text).cache()
            frame.count()
            passes += 1
        else:
            frame = sql(f"SELECT * FROM ({text}) WHERE 1 = 0")
        frame.createOrReplaceTempView(name)
    sql(features_select(lit, [*FEATURE_TABLES, "credit"])).cache().createOrReplaceTempView("features")
    customer_ids = np.asarray([r[0] for r in spark.sql("SELECT customer_id FROM customers").collect()], dtype=np.int64)
    parts: list[pa.Table] = []
    errors: dict[str, str] = {}
    declarative = [t for t in tags if t.expression is not None]
    if declarative:
        say(f"{len(declarative)} declarative tags in one pass")
        cols = ", ".join(f"{t.expression} AS t{i}" for i, t in enumerate(declarative))
        wide = _spark_arrow(sql(f"SELECT customer_id, {cols} FROM features"))
        parts += _long_from_wide(wide, [t.code for t in declarative])
        passes += 1
    for t in tags:
        if t.sql is None:
            continue
        say(f"SQL tag {t.code}")
        try:
            spark_sql = spark_rule_sql(t.sql)
        except sandbox.Refused as exc:
            errors[t.code] = exc.message
            passes += 1
            continue
        try:
            parts.append(_long_from_sql(_spark_arrow(spark.sql(spark_sql)), t.code))
        except Exception as exc:  # Spark raises its own AnalysisException family
            # Spark's text can quote data (a value that failed to cast); only the kind of failure goes out.
            errors[t.code] = f"Spark 执行出错（{type(exc).__name__}）"
        passes += 1
    return RunOutput(_combine(parts), customer_ids, {}, errors, passes)


# ------------------------------------------------------------------------------------------------- checks


def check_values(output: RunOutput, tags: Sequence[CompiledTag]) -> dict[str, dict[str, Any]]:
    """Per tag: customers without a value, with more than one (single-valued tags), values outside the set."""
    con = duckdb.connect(":memory:")
    vals = output.values
    customers = pa.table({"customer_id": pa.array(output.customer_ids, pa.int64())})
    allowed = pa.table(
        {
            "tag_code": [t.code for t in tags for _ in t.values],
            "value": [v for t in tags for v in t.values],
        }
    )
    single = pa.table({"tag_code": [t.code for t in tags], "single": [t.single_valued for t in tags]})
    con.register("vals", vals)
    con.register("customers", customers)
    con.register("allowed", allowed)
    con.register("single", single)
    rows = con.execute(
        """
        WITH per AS (
            SELECT v.tag_code, v.customer_id, count(*) AS n FROM vals v JOIN customers c USING (customer_id)
            GROUP BY ALL
        ),
        agg AS (
            SELECT tag_code, count(*) AS with_value, sum(CASE WHEN n > 1 THEN 1 ELSE 0 END) AS multiple,
                   min(CASE WHEN n > 1 THEN customer_id END) AS multiple_example
            FROM per GROUP BY tag_code
        ),
        outside AS (
            SELECT v.tag_code, count(*) AS outside, min(coalesce(v.value, 'NULL')) AS outside_example
            FROM vals v ANTI JOIN allowed a ON a.tag_code = v.tag_code AND a.value = v.value GROUP BY v.tag_code
        ),
        strangers AS (
            SELECT tag_code, count(*) AS strangers FROM vals ANTI JOIN customers USING (customer_id) GROUP BY tag_code
        )
        SELECT s.tag_code, s.single, coalesce(agg.with_value, 0), coalesce(agg.multiple, 0), agg.multiple_example,
               coalesce(outside.outside, 0), outside.outside_example, coalesce(strangers.strangers, 0)
        FROM single s LEFT JOIN agg USING (tag_code) LEFT JOIN outside USING (tag_code)
        LEFT JOIN strangers USING (tag_code)
        """
    ).fetchall()
    total = len(output.customer_ids)
    report: dict[str, dict[str, Any]] = {}
    for code, is_single, with_value, multiple, mult_ex, outside, out_ex, strangers in rows:
        if code in output.errors:
            continue
        v: dict[str, Any] = {}
        missing = total - int(with_value)
        if is_single and missing:
            missing_ex = con.execute(
                "SELECT min(customer_id) FROM customers ANTI JOIN (SELECT customer_id FROM vals WHERE tag_code = ?) "
                "USING (customer_id)",
                [code],
            ).fetchone()
            v["missing"] = missing
            v["missing_example"] = int(missing_ex[0]) if missing_ex and missing_ex[0] is not None else None
        if is_single and multiple:
            v["multiple"] = int(multiple)
            v["multiple_example"] = int(mult_ex)
        if outside:
            v["outside"] = int(outside)
            v["outside_example"] = out_ex
        if strangers:
            v["unknown_customers"] = int(strangers)
        if v:
            report[code] = v
    con.close()
    return report


def evaluate(output: RunOutput, tags: Sequence[CompiledTag], previous: pa.Table | None) -> dict[str, dict[str, Any]]:
    """Per tag: coverage (share with a value other than 未知), value distribution, share changed since `previous`."""
    con = duckdb.connect(":memory:")
    con.register("vals", output.values)
    total = max(len(output.customer_ids), 1)
    dist: dict[str, dict[str, int]] = {}
    for code, value, n in con.execute("SELECT tag_code, value, count(*) FROM vals GROUP BY ALL").fetchall():
        dist.setdefault(code, {})[value if value is not None else "NULL"] = int(n)
    known = dict(
        con.execute(
            "SELECT tag_code, count(DISTINCT customer_id) FROM vals WHERE value IS NOT NULL AND value <> ? GROUP BY 1",
            [UNKNOWN],
        ).fetchall()
    )
    changed: dict[str, int] = {}
    if previous is not None:
        con.register("prev", previous)
        codes = pa.table({"tag_code": [t.code for t in tags]})
        con.register("codes", codes)
        changed = dict(
            con.execute(
                """
                SELECT tag_code, count(DISTINCT customer_id) FROM (
                    SELECT coalesce(a.tag_code, b.tag_code) AS tag_code,
                           coalesce(a.customer_id, b.customer_id) AS customer_id
                    FROM vals a FULL OUTER JOIN (SELECT p.* FROM prev p SEMI JOIN codes USING (tag_code)) b
                      ON a.tag_code = b.tag_code AND a.customer_id = b.customer_id
                     AND a.value IS NOT DISTINCT FROM b.value
                    WHERE a.customer_id IS NULL OR b.customer_id IS NULL
                ) GROUP BY 1
                """
            ).fetchall()
        )
    con.close()
    report = {}
    for t in tags:
        report[t.code] = {
            "coverage": round(known.get(t.code, 0) / total, 4),
            "distribution": dict(sorted(dist.get(t.code, {}).items(), key=lambda kv: -kv[1])),
            "changed_share": round(changed.get(t.code, 0) / total, 4) if previous is not None else None,
            "error": output.errors.get(t.code),
        }
    return report


def universe(customer_ids: np.ndarray) -> tuple[int, bytes]:
    from pyroaring import BitMap

    bm = BitMap(np.asarray(customer_ids, dtype=np.uint32))
    bm.run_optimize()
    return len(bm), bm.serialize()


def last_data_day(inputs: Mapping[str, str | None]) -> dt.date | None:
    """The last day of daily_kwh in the store: the default as-of date of a run."""
    if inputs.get("daily_kwh") is None:
        return None
    con = duckdb.connect(":memory:")
    path = str(inputs["daily_kwh"]).replace("'", "''")
    row = con.execute(f"SELECT max(CAST(day AS DATE)) FROM read_parquet('{path}', union_by_name = true)").fetchone()
    con.close()
    return row[0] if row else None


def load_shapes(inputs: Mapping[str, str | None], as_of: dt.date) -> np.ndarray:
    """Customers' typical daily shapes (n × 24), the training data of the load-shape clustering."""
    if inputs.get("load_96") is None:
        return np.zeros((0, 24))
    con = duckdb.connect(":memory:")
    con.execute(f"SET TimeZone = '{TIME_ZONE}'")
    lit = date_literal(as_of)
    path = str(inputs["load_96"]).replace("'", "''")
    con.execute(f"CREATE VIEW raw_load_96 AS SELECT * FROM read_parquet('{path}', union_by_name = true)")
    present = [r[0] for r in con.execute("DESCRIBE raw_load_96").fetchall()]
    con.execute(f"CREATE VIEW load_96 AS {_input_view_sql('load_96', present, lit, 'raw_load_96')}")
    table = _arrow(con, f"SELECT {', '.join(HOURS)} FROM ({FEATURE_SQL['f_load'].format(as_of=lit)})")
    con.close()
    return np.column_stack([table.column(h).to_numpy(zero_copy_only=False).astype(float) for h in HOURS])


def bitmaps(values: pa.Table) -> dict[tuple[str, str], tuple[int, bytes]]:
    """A serialized Roaring bitmap of customer ids for every (tag, value)."""
    from pyroaring import BitMap

    out: dict[tuple[str, str], tuple[int, bytes]] = {}
    if values.num_rows == 0:
        return out
    keys = pc.binary_join_element_wise(values.column("tag_code"), pc.fill_null(values.column("value"), "NULL"), "\x1f")
    encoded = (
        keys.combine_chunks().dictionary_encode() if isinstance(keys, pa.ChunkedArray) else keys.dictionary_encode()
    )
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    ids = values.column("customer_id").to_numpy().astype(np.uint32)
    order = np.argsort(codes, kind="stable")
    codes_sorted = codes[order]
    bounds = np.flatnonzero(np.diff(codes_sorted)) + 1
    starts = np.concatenate([[0], bounds])
    ends = np.concatenate([bounds, [len(codes_sorted)]])
    dictionary = encoded.dictionary.to_pylist()
    for s, e in zip(starts, ends, strict=True):
        tag, value = dictionary[int(codes_sorted[s])].split("\x1f", 1)
        bm = BitMap(ids[order[s:e]])
        bm.run_optimize()
        out[(tag, value)] = (len(bm), bm.serialize())
    return out
