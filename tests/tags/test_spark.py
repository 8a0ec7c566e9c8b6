"""The same tag SQL on Spark (transpiled by SQLGlot, PySpark local mode) gives exactly DuckDB's values."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb
import pytest

from gridcare.tags import engine, rules
from gridcare.tags.defaults import TAGS
from tests.tags.store import AS_OF, write_store

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs a Java runtime (java not on PATH)"),
]


def test_spark_and_duckdb_give_identical_values_for_the_whole_default_catalogue(tmp_path: Path) -> None:
    pytest.importorskip("pyspark")
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    store = write_store(tmp_path, n=120)
    compiled = [rules.compile_rule(t["code"], t["rule"], t["values"]) for t in TAGS]
    inputs = engine.find_inputs(store)
    duck = engine.run_duckdb(compiled, inputs, AS_OF)
    spark = engine.spark_session("local[2]")
    try:
        sparked = engine.run_spark(compiled, inputs, AS_OF, spark=spark)
    finally:
        spark.stop()
    assert sparked.errors == {} and duck.errors == {}
    con = duckdb.connect()
    con.register("d", duck.values)
    con.register("s", sparked.values)
    differ = con.execute(
        "SELECT d.tag_code, d.customer_id, d.value, s.value FROM d FULL OUTER JOIN s USING (tag_code, customer_id) "
        "WHERE d.value IS DISTINCT FROM s.value LIMIT 10"
    ).fetchall()
    assert differ == []
    assert duck.values.num_rows == sparked.values.num_rows == 120 * len(TAGS)
    assert sorted(sparked.customer_ids.tolist()) == sorted(duck.customer_ids.tolist())
