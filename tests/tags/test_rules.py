"""Rule compilation and validation, catalogue levels and diffs, segment expressions — no database."""

from __future__ import annotations

import datetime as dt

import pytest
from pyroaring import BitMap

from gridcare.tags import catalogue, rules, segments
from gridcare.tags.defaults import CATEGORIES, TAGS


def test_invalid_sql_rule_is_rejected_with_line_and_column() -> None:
    tag = rules.compile_rule(
        "x", {"kind": "sql", "sql": "SELECT customer_id,\n  categroy AS value FROM customers"}, ["a"]
    )
    with pytest.raises(rules.RuleError) as err:
        rules.validate(tag)
    assert "categroy" in err.value.message
    assert (err.value.line, err.value.column) == (2, 3)


def test_sql_syntax_error_is_rejected_at_compile_time_with_position() -> None:
    with pytest.raises(rules.RuleError) as err:
        rules.compile_rule(
            "x", {"kind": "sql", "sql": "SELECT customer_id, 'a' AS value FROM customers WHERE ("}, ["a"]
        )
    assert err.value.line == 1 and err.value.column is not None


def test_sql_rule_may_not_read_files_or_other_tables() -> None:
    for sql in (
        "SELECT 1 AS customer_id, 'a' AS value FROM read_csv('/etc/passwd')",
        "SELECT customer_id, 'a' AS value FROM django_session",
        "DELETE FROM customers",
    ):
        with pytest.raises(rules.RuleError):
            rules.compile_rule("x", {"kind": "sql", "sql": sql}, ["a"])


def test_sql_rule_must_return_customer_id_and_value() -> None:
    tag = rules.compile_rule("x", {"kind": "sql", "sql": "SELECT customer_id FROM customers"}, ["a"])
    with pytest.raises(rules.RuleError, match="customer_id, value"):
        rules.validate(tag)


def test_declarative_rule_with_a_label_outside_the_value_set_is_refused() -> None:
    with pytest.raises(rules.RuleError, match="值域之外"):
        rules.compile_rule(
            "x", {"kind": "bins", "metric": "avg_daily_kwh", "bins": [[1, "低"]], "top": "高"}, ["低", "未知"]
        )


def test_unknown_metric_and_unsorted_bins_are_refused() -> None:
    with pytest.raises(rules.RuleError, match="未知指标"):
        rules.compile_rule("x", {"kind": "bins", "metric": "nope", "bins": [[1, "a"]], "top": "b"}, ["a", "b", "未知"])
    with pytest.raises(rules.RuleError, match="从小到大"):
        rules.compile_rule(
            "x",
            {"kind": "bins", "metric": "avg_daily_kwh", "bins": [[5, "a"], [1, "b"]], "top": "c"},
            ["a", "b", "c", "未知"],
        )


def test_every_default_tag_compiles_and_binds() -> None:
    con = rules.empty_schema_connection()
    for t in TAGS:
        rules.validate(rules.compile_rule(t["code"], t["rule"], t["values"]), con)
    assert len(TAGS) >= 40


def test_default_catalogue_covers_every_theme_of_the_issue() -> None:
    themes = {t["path"][2] for t in TAGS}
    assert {"用电行为", "交费行为", "客户服务", "经营行为", "外部信用", "综合评价", "基本属性", "消费心理"} <= themes
    assert all(len(p) <= 4 for p in CATEGORIES)


def test_a_category_at_level_five_would_make_a_six_level_tag_and_is_refused() -> None:
    catalogue.check_category_level(4)
    with pytest.raises(catalogue.LevelError):
        catalogue.check_category_level(5)
    with pytest.raises(catalogue.LevelError):
        catalogue.check_tag_path(["a", "b", "c", "d", "e"])


def test_diff_names_added_removed_and_changed_rules() -> None:
    old = {"categories": [["a"]], "tags": {"x": {"name": "X", "rule": {"k": 1}}, "y": {"name": "Y"}}}
    new = {"categories": [["a"], ["b"]], "tags": {"x": {"name": "X", "rule": {"k": 2}}, "z": {"name": "Z"}}}
    d = catalogue.diff(old, new)
    assert d["added"] == ["z"] and d["removed"] == ["y"] and d["rules_changed"] == ["x"]
    assert d["categories_added"] == ["b"]


def test_schedules_are_due_daily_on_mondays_and_on_the_first() -> None:
    tags = {"d": {"schedule": "daily"}, "w": {"schedule": "weekly"}, "m": {"schedule": "monthly"}}
    assert catalogue.tags_due(tags, dt.date(2026, 6, 1)) == ["d", "w", "m"]  # a Monday and the 1st
    assert catalogue.tags_due(tags, dt.date(2026, 6, 2)) == ["d"]


def test_segment_expression_matches_brute_force() -> None:
    import random

    rng = random.Random(3)
    people = {i: {"t": rng.choice("abc"), "u": rng.choice("xy")} for i in range(1, 2000)}
    maps: dict[tuple[str, str], BitMap] = {}
    for i, tags in people.items():
        for tag, value in tags.items():
            maps.setdefault((tag, value), BitMap()).add(i)
    lookup = segments.resolver(maps, {"标签T": "t"}, {"t": ["a", "b", "c"], "u": ["x", "y"]})
    tree = segments.parse('标签T=a AND NOT (u = x OR t IN (b, c)) OR (t != a 且 u="y")')
    got = segments.evaluate(tree, lookup, BitMap(people))
    want = {
        i
        for i, p in people.items()
        if (p["t"] == "a" and not (p["u"] == "x" or p["t"] in "bc")) or (p["t"] != "a" and p["u"] == "y")
    }
    assert set(got) == want and want


@pytest.mark.parametrize("bad", ["", "t=a AND", "t=a u=x", "(t=a", "t a"])
def test_malformed_segment_expressions_say_where(bad: str) -> None:
    with pytest.raises(segments.SegmentError):
        segments.parse(bad)


def test_unknown_tag_value_in_a_segment_lists_the_choices() -> None:
    lookup = segments.resolver({}, {}, {"t": ["a", "b"]})
    with pytest.raises(segments.SegmentError, match="a、b"):
        segments.evaluate(segments.parse("t=z"), lookup, BitMap())
