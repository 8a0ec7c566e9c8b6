"""The DuckDB engine over a small Parquet store built by the test: exhaustive values, checks, evaluation."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from gridcare.tags import engine, mining, rules
from gridcare.tags.defaults import TAGS
from tests.tags.store import AS_OF, write_store


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_store(tmp_path_factory.mktemp("store"), n=240)


@pytest.fixture(scope="module")
def compiled() -> list[rules.CompiledTag]:
    return [rules.compile_rule(t["code"], t["rule"], t["values"]) for t in TAGS]


@pytest.fixture(scope="module")
def output(store: Path, compiled: list[rules.CompiledTag]) -> engine.RunOutput:
    return engine.run_duckdb(compiled, engine.find_inputs(store), AS_OF)


def test_every_customer_gets_exactly_one_value_of_every_single_valued_tag(
    output: engine.RunOutput, compiled: list[rules.CompiledTag]
) -> None:
    assert output.errors == {}
    assert engine.check_values(output, compiled) == {}
    con = duckdb.connect()
    con.register("v", output.values)
    per = con.execute("SELECT tag_code, count(*), count(DISTINCT customer_id) FROM v GROUP BY 1").fetchall()
    assert len(per) == len(compiled)
    assert all(n == d == len(output.customer_ids) == 240 for _c, n, d in per)


def test_a_customer_without_meter_data_is_unknown_not_missing(output: engine.RunOutput) -> None:
    con = duckdb.connect()
    con.register("v", output.values)
    no_data = int(output.customer_ids.min())
    value = con.execute(
        "SELECT value FROM v WHERE customer_id = ? AND tag_code = 'monthly_kwh_band'", [no_data]
    ).fetchone()
    assert value == (rules.UNKNOWN,)


def test_fused_run_reads_each_input_once(output: engine.RunOutput, compiled: list[rules.CompiledTag]) -> None:
    sql_tags = sum(1 for t in compiled if t.sql is not None)
    assert output.passes == 5 + 1 + sql_tags  # five feature passes, one for every declarative tag, one per SQL rule


def test_high_water_mark_records_what_the_run_covered(output: engine.RunOutput) -> None:
    assert output.coverage["daily_kwh"]["through"] == AS_OF.isoformat()
    assert output.coverage["credit"] == {"rows": 0, "present": False}


def test_violations_are_reported_for_missing_duplicate_and_outside_values(
    output: engine.RunOutput, store: Path
) -> None:
    bad = rules.compile_rule(
        "bad",
        {
            "kind": "sql",
            "sql": "SELECT customer_id, 'a' AS value FROM customers WHERE customer_id > 5 "
            "UNION ALL SELECT customer_id, 'zz' AS value FROM customers WHERE customer_id = 9",
        },
        ["a"],
    )
    out = engine.run_duckdb([bad], engine.find_inputs(store), AS_OF)
    report = engine.check_values(out, [bad])["bad"]
    assert report["missing"] == 5 and report["missing_example"] == 1
    assert report["multiple"] == 1 and report["multiple_example"] == 9
    assert report["outside"] == 1 and report["outside_example"] == "zz"


def test_a_rule_failing_at_run_time_is_reported_and_the_rest_still_run(store: Path) -> None:
    ok = rules.compile_rule("ok", TAGS[0]["rule"], TAGS[0]["values"])
    broken = rules.CompiledTag("broken", ("a",), True, expression="CAST('x' AS INTEGER)", needs=frozenset())
    out = engine.run_duckdb([ok, broken], engine.find_inputs(store), AS_OF)
    assert "broken" in out.errors
    assert out.values.num_rows == 240


def test_as_of_hides_later_data(store: Path, compiled: list[rules.CompiledTag]) -> None:
    earlier = AS_OF.replace(month=3)
    out = engine.run_duckdb(compiled[:15], engine.find_inputs(store), earlier)
    assert out.coverage["daily_kwh"]["through"] == earlier.isoformat()


def test_evaluation_reports_coverage_distribution_and_changes(
    output: engine.RunOutput, compiled: list[rules.CompiledTag]
) -> None:
    first = engine.evaluate(output, compiled, None)
    assert first["customer_type"]["coverage"] == 1.0 and first["customer_type"]["changed_share"] is None
    assert first["credit_grade"]["coverage"] == 0.0
    assert sum(first["elec_category"]["distribution"].values()) == 240
    again = engine.evaluate(output, compiled, output.values)
    assert again["customer_type"]["changed_share"] == 0.0


def test_bitmaps_hold_exactly_the_customers_of_each_value(output: engine.RunOutput) -> None:
    from pyroaring import BitMap

    maps = engine.bitmaps(output.values)
    con = duckdb.connect()
    con.register("v", output.values)
    for (tag, value), (card, data) in list(maps.items())[:30]:
        ids = {
            r[0]
            for r in con.execute("SELECT customer_id FROM v WHERE tag_code = ? AND value = ?", [tag, value]).fetchall()
        }
        assert set(BitMap.deserialize(data)) == ids and card == len(ids)


def test_load_shape_clusters_are_fitted_and_named_after_prototypes(store: Path) -> None:
    shapes = engine.load_shapes(engine.find_inputs(store), AS_OF)
    fitted = mining.fit(shapes, k=4)
    assert sorted(fitted["names"]) == sorted(mining.PROTOTYPES)
    tag = rules.compile_rule("shape", fitted, ["单峰", "双峰", "平稳", "夜间型", rules.UNKNOWN])
    out = engine.run_duckdb([tag], engine.find_inputs(store), AS_OF)
    con = duckdb.connect()
    con.register("v", out.values)
    # Residents in the test store draw a two-peak curve: nearly all of them must land in 双峰.
    home = con.execute(
        "SELECT count(*) FILTER (WHERE value = '双峰') * 1.0 / count(*) FROM v WHERE value <> '未知'"
    ).fetchone()
    assert home[0] > 0.5
