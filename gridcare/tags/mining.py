"""The mining model of the catalogue: k-means over customers' typical daily load shapes (24 hourly values).

A shape is the customer's average load in each hour divided by their overall average, so a shop and a
factory with the same rhythm look alike. The fitted centroids are stored in the rule document of the draft
tag and published with the catalogue version; at run time a customer takes the name of the nearest centroid,
compiled to plain SQL so that DuckDB and Spark assign identically. Pure: no Django, no clock.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from gridcare.tags.rulebase import HOURS, UNKNOWN, RuleError, sql_str


def _shape(points: Sequence[float]) -> list[float]:
    arr = np.asarray(points, dtype=float)
    return [round(float(x), 4) for x in arr / arr.mean()]


# Named prototypes: how a person recognises each pattern. Fitted centroids are named after the nearest one.
PROTOTYPES: dict[str, list[float]] = {
    # 单峰: one daytime hump (offices, shops, day-shift factories).
    "单峰": _shape([0.3] * 7 + [0.6, 1.4, 1.8, 1.9, 1.8, 1.6, 1.8, 1.9, 1.8, 1.5, 1.0] + [0.5] * 6),
    # 双峰: morning and evening peaks (homes).
    "双峰": _shape(
        [0.5] * 6 + [0.9, 1.4, 1.2, 0.8, 0.7, 0.8, 0.9, 0.7, 0.7, 0.8, 1.1, 1.6, 2.0, 2.1, 1.8, 1.3, 0.8, 0.6]
    ),
    # 平稳: round-the-clock processes (three-shift factories, data centres).
    "平稳": _shape([1.0] * 24),
    # 夜间型: night-time use (ice storage, electric boilers, irrigation pumps on valley tariff).
    "夜间型": _shape([1.9] * 7 + [1.2] + [0.5] * 14 + [1.2, 1.8]),
}


def default_rule() -> dict[str, Any]:
    """The rule before any fitting: centroids are the prototypes themselves."""
    return {"kind": "cluster", "input": "load_96", "names": list(PROTOTYPES), "centroids": list(PROTOTYPES.values())}


def cluster_expression(rule: Mapping[str, Any]) -> tuple[str, list[str]]:
    """SQL that names the nearest centroid (squared distance over the 24 hourly columns); NULL shape → 未知."""
    names = [str(n) for n in rule.get("names", [])]
    centroids = rule.get("centroids", [])
    if len(names) < 2 or len(names) != len(centroids):
        raise RuleError("聚类规则需要至少两个命名的聚类中心")
    for c in centroids:
        if len(c) != len(HOURS):
            raise RuleError(f"聚类中心必须有 {len(HOURS)} 个小时值")
        if not all(math.isfinite(float(v)) for v in c):
            raise RuleError("聚类中心的小时值必须是有限的数字")
    dist = [
        " + ".join(f"({h} - {float(v)!r}) * ({h} - {float(v)!r})" for h, v in zip(HOURS, c, strict=True))
        for c in centroids
    ]
    arms = []
    for i, name in enumerate(names):
        others = [j for j in range(len(names)) if j != i]
        # Strict "<" against earlier centroids, "<=" against later ones: ties go to the first, as argmin does.
        cond = " AND ".join(f"({dist[i]}) {'<' if j < i else '<='} ({dist[j]})" for j in others)
        arms.append(f"WHEN {cond} THEN {sql_str(name)}")
    null_check = " OR ".join(f"{h} IS NULL" for h in HOURS)
    return f"CASE WHEN {null_check} THEN {sql_str(UNKNOWN)} {' '.join(arms[:-1])} ELSE {sql_str(names[-1])} END", names


def fit(shapes: np.ndarray, *, k: int = 4, seed: int = 0) -> dict[str, Any]:
    """Fit k-means on shapes (n × 24) and name the clusters after the prototypes they resemble most."""
    from scipy.optimize import linear_sum_assignment
    from sklearn.cluster import KMeans

    shapes = np.asarray(shapes, dtype=float)
    shapes = shapes[~np.isnan(shapes).any(axis=1)]
    if len(shapes) < k:
        raise RuleError(f"负荷曲线样本不足：需要至少 {k} 个客户的 96 点负荷数据，实际 {len(shapes)} 个")
    model = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(shapes)
    centroids = model.cluster_centers_
    proto_names = list(PROTOTYPES)
    protos = np.array([PROTOTYPES[n] for n in proto_names])
    cost = ((centroids[:, None, :] - protos[None, :, :]) ** 2).sum(axis=2)
    rows, cols = linear_sum_assignment(cost)
    names = [""] * k
    for r, c in zip(rows, cols, strict=True):
        names[r] = proto_names[c]
    for i in range(k):  # more clusters than prototypes: number the extra ones after their nearest prototype
        if not names[i]:
            names[i] = f"{proto_names[int(cost[i].argmin())]}-{i + 1}"
    counts = np.bincount(model.labels_, minlength=k)
    return {
        "kind": "cluster",
        "input": "load_96",
        "names": names,
        "centroids": [[round(float(x), 5) for x in c] for c in centroids],
        "fitted_on": len(shapes),
        "cluster_sizes": [int(x) for x in counts],
        "inertia": round(float(model.inertia_), 4),
    }
