"""Why a customer got a tag value: the metric behind it and the threshold it crossed, in words.

Pure: takes the rule document and the customer's row of the run's `features`, returns a sentence.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from gridcare.tags.rules import METRICS, UNKNOWN


def _fmt(value: Any) -> str:
    if value is None:
        return "无数据"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) >= 1 else f"{value:.3f}"
    return str(value)


def _label(metric: str) -> str:
    m = METRICS.get(metric)
    return m.label if m else metric


def _bins_text(metric_label: str, value: Any, bins: list[list[Any]], top: str, got: str) -> str:
    if value is None:
        return f"{metric_label}无数据，取值{UNKNOWN}"
    lower = None
    for upper, label in bins:
        if label == got:
            low = f"≥ {_fmt(lower)} 且 " if lower is not None else ""
            return f"{metric_label} = {_fmt(value)}，落在 {low}< {_fmt(float(upper))} 的档 → {got}"
        lower = float(upper)
    return (
        f"{metric_label} = {_fmt(value)}，≥ {_fmt(lower)} → {top}" if got == top else f"{metric_label} = {_fmt(value)}"
    )


def why(rule: Mapping[str, Any], features: Mapping[str, Any], value: str) -> str:
    kind = rule.get("kind")
    if not features:
        return "本次计算的指标明细不可用"
    if kind == "field":
        return f"台账字段 {rule['field']} = {_fmt(features.get(rule['field']))}"
    if kind in ("bins", "trend"):
        metric = rule.get("metric", "kwh_trend_pct")
        return _bins_text(_label(metric), features.get(metric), rule["bins"], rule["top"], value)
    if kind == "count":
        metric = rule["metric"]
        raw = features.get(metric)
        if raw is None and rule.get("zero_when_missing", True):
            raw = 0
        return _bins_text(_label(metric), raw, rule["bins"], rule["top"], value)
    if kind == "ratio":
        num, den = features.get(rule["numerator"]), features.get(rule["denominator"])
        ratio = num / den if num is not None and den else None
        text = _bins_text(
            f"{_label(rule['numerator'])} ÷ {_label(rule['denominator'])}", ratio, rule["bins"], rule["top"], value
        )
        return f"{text}（{_fmt(num)} ÷ {_fmt(den)}）"
    if kind == "quantile":
        metric = rule["metric"]
        return f"{_label(metric)} = {_fmt(features.get(metric))}，在全体客户中排序后位于「{value}」组"
    if kind == "conditions":
        for cond, label in rule["cases"]:
            if label == value:
                names = sorted(set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", cond)) & set(METRICS))
                shown = "，".join(f"{_label(n)} = {_fmt(features.get(n))}" for n in names)
                return f"满足条件 {cond}（{shown}）"
        return f"不满足前面的条件，取默认值 {value}"
    if kind == "cluster":
        hourly = [(h, float(features[h])) for h in (f"h{i:02d}" for i in range(24)) if features.get(h) is not None]
        peak = max(hourly, key=lambda kv: kv[1], default=None)
        if peak is None:
            return "没有 96 点负荷数据"
        return f"典型日曲线最接近「{value}」聚类中心；最高在 {int(peak[0][1:])} 时（{_fmt(peak[1])} 倍日均）"
    if kind == "sql":
        return "由 SQL 规则计算，见业务规则"
    return ""
