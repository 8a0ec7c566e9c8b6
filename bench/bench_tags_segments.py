"""Segment counts on Roaring bitmaps vs the same count in SQL over a tag-value table in PostgreSQL.

1,000,000 customers, 10 tags; a 5-condition expression (AND / OR / NOT / IN). Prints p50/p99 of both and the
ratio, checks the counts agree, writes bench/results/tags_segments.txt. Needs PostgreSQL on 127.0.0.1
(BENCH_PG_URL, default postgres://postgres@127.0.0.1:5432/postgres); without it only the bitmap side runs.
Why the SQL baseline is fair: the same expression over the same values, in the database that holds them,
with the covering index (tag_code, value, customer_id) such a query wants and fresh statistics (ANALYZE);
the bench asserts both counts are equal before printing the timings.
"""

# ruff: noqa: E501 - the report lines are long f-strings

from __future__ import annotations

import io
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pyroaring import BitMap

from gridcare.tags import segments

N = int(os.environ.get("BENCH_CUSTOMERS", "1000000"))
TAGS = {f"t{i}": [f"v{j}" for j in range(2 + i % 5)] for i in range(10)}
EXPRESSION = "t0=v0 AND (t1 IN (v1, v2) OR t2=v0) AND NOT t3=v1 AND t4 != v2"
SQL = """
SELECT count(*) FROM (
  (SELECT customer_id FROM tag_value WHERE tag_code='t0' AND value='v0')
  INTERSECT
  (SELECT customer_id FROM tag_value WHERE (tag_code='t1' AND value IN ('v1','v2')) OR (tag_code='t2' AND value='v0'))
  EXCEPT
  (SELECT customer_id FROM tag_value WHERE tag_code='t3' AND value='v1')
  EXCEPT
  (SELECT customer_id FROM tag_value WHERE tag_code='t4' AND value='v2')
) s
"""


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


def main() -> None:
    rng = np.random.default_rng(1)
    ids = np.arange(1, N + 1, dtype=np.uint32)
    values = {tag: rng.integers(0, len(vals), N) for tag, vals in TAGS.items()}
    t0 = time.perf_counter()
    maps = {}
    for tag, vals in TAGS.items():
        for j, v in enumerate(vals):
            bm = BitMap(ids[values[tag] == j])
            bm.run_optimize()
            maps[(tag, v)] = bm
    universe = BitMap(ids)
    build = time.perf_counter() - t0
    lookup = segments.resolver(maps, {}, TAGS)
    times = []
    count = 0
    for _ in range(1000):
        t = time.perf_counter()
        count = len(segments.evaluate(segments.parse(EXPRESSION), lookup, universe))
        times.append((time.perf_counter() - t) * 1000)
    brute = int(
        np.sum(
            (values["t0"] == 0)
            & ((values["t1"] == 1) | (values["t1"] == 2) | (values["t2"] == 0))
            & (values["t3"] != 1)
            & (values["t4"] != 2)
        )
    )
    assert count == brute, (count, brute)
    lines = [
        f"customers: {N:,}; tags: {len(TAGS)}; expression: {EXPRESSION}",
        f"bitmap build (all values): {build:.2f} s",
        f"bitmaps  count={count:,}  p50={pct(times, 50):.3f} ms  p99={pct(times, 99):.3f} ms  (1000 runs, parse included)",
        f"brute force numpy count={brute:,} (agrees)",
    ]
    url = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    try:
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DROP TABLE IF EXISTS tag_value")
            conn.execute("CREATE UNLOGGED TABLE tag_value (customer_id bigint, tag_code text, value text)")
            t = time.perf_counter()
            with conn.cursor().copy("COPY tag_value FROM STDIN") as copy:
                for tag, vals in TAGS.items():
                    names = np.array(vals)[values[tag]]
                    buf = io.StringIO()
                    for cid, v in zip(ids.tolist(), names.tolist(), strict=True):
                        buf.write(f"{cid}\t{tag}\t{v}\n")
                    copy.write(buf.getvalue())
            conn.execute("CREATE INDEX ON tag_value (tag_code, value, customer_id)")
            conn.execute("ANALYZE tag_value")
            load = time.perf_counter() - t
            pg_times = []
            pg_count = 0
            for _ in range(20):
                t = time.perf_counter()
                pg_count = conn.execute(SQL).fetchone()[0]  # type: ignore[index]
                pg_times.append((time.perf_counter() - t) * 1000)
            conn.execute("DROP TABLE tag_value")
        assert pg_count == count, (pg_count, count)
        lines += [
            f"PostgreSQL load of {N * len(TAGS):,} rows + index: {load:.1f} s",
            f"baseline PostgreSQL SQL count={pg_count:,}  p50={pct(pg_times, 50):.1f} ms  p99={pct(pg_times, 99):.1f} ms "
            "(20 runs, covering index)",
            f"speed-up p50: {pct(pg_times, 50) / pct(times, 50):,.0f}x; p99: {pct(pg_times, 99) / pct(times, 99):,.0f}x "
            "(target ≥ 50x, bitmap p99 ≤ 10 ms)",
        ]
    except Exception as exc:  # no PostgreSQL here: still report the bitmap side
        lines.append(f"PostgreSQL baseline skipped: {exc}")
    text = "\n".join(lines)
    print(text)
    out = Path(__file__).parent / "results" / "tags_segments.txt"
    out.parent.mkdir(exist_ok=True)
    out.write_text(text + "\n")


if __name__ == "__main__":
    main()
