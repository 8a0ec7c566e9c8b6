"""Prometheus metrics: the families GridCare exposes at /metrics and the functions that move them.

Apps never touch prometheus_client: they call the small functions below (`intake_recorded`, `gps_positions`,
`notice_outcome` …), so label names and bounded label values stay in one place. Every label value here comes
from a closed set (URL patterns, job and queue names, channels, outcomes), never from a raw path or an id:
an unbounded label would grow Prometheus's memory with every new order number.

Gauges that are a query (notice queue depth, how late the oldest due deadline is) are read from the database
when /metrics is scraped, by collectors the owning app registers with `register_scrape_gauge`.

Several processes (`gridcare serve --workers N`, `gridcare worker`): set PROMETHEUS_MULTIPROC_DIR to one empty
directory for all of them on the host; each process then writes its samples there and /metrics sums them
(prometheus_client's multiprocess mode; see docs/operations.md).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from django.db import DatabaseError
from django.db.models import Count
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger("gridcare.metrics")
REGISTRY = CollectorRegistry(auto_describe=True)
CONTENT_TYPE = CONTENT_TYPE_LATEST

# Web requests are mostly 5-100 ms; the buckets reach the read timeout so a stuck request still shows.
_HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_JOB_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
_LABEL_MAX = 64

http_requests = Counter(
    "gridcare_http_requests",
    "HTTP requests answered, by route pattern.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
http_duration = Histogram(
    "gridcare_http_request_duration_seconds",
    "Time to answer an HTTP request, by route pattern.",
    ["method", "route"],
    buckets=_HTTP_BUCKETS,
    registry=REGISTRY,
)
job_duration = Histogram(
    "gridcare_worker_job_duration_seconds",
    "Duration of one call (one batch) of a worker job.",
    ["job", "queue"],
    buckets=_JOB_BUCKETS,
    registry=REGISTRY,
)
job_rows = Counter("gridcare_worker_job_rows", "Rows a worker job handled.", ["job", "queue"], registry=REGISTRY)
job_failures = Counter(
    "gridcare_worker_job_failures",
    "Worker job calls that raised (retried next pass).",
    ["job", "queue"],
    registry=REGISTRY,
)
queue_lag = Gauge(
    "gridcare_worker_queue_lag_seconds",
    "How much later than its poll interval the worker last came back to a queue (0 = on time).",
    ["queue"],
    registry=REGISTRY,
    multiprocess_mode="max",
)
intake = Counter("gridcare_workorder_intake", "Work orders taken in, by channel.", ["channel"], registry=REGISTRY)
gps = Counter(
    "gridcare_gps_positions",
    "GPS positions received, by protocol and outcome.",
    ["protocol", "outcome"],
    registry=REGISTRY,
)
meter_events = Counter(
    "gridcare_meter_events", "Meter events received, by kind and outcome.", ["kind", "outcome"], registry=REGISTRY
)
notice_deliveries = Counter(
    "gridcare_notice_deliveries",
    "Notice delivery attempts, by channel and outcome.",
    ["channel", "outcome"],
    registry=REGISTRY,
)


def _label(value: object) -> str:
    return str(value)[:_LABEL_MAX] or "-"


# ---------------------------------------------------------------- functions the apps call


def request_observed(method: str, route: str, status: int, seconds: float) -> None:
    http_requests.labels(method, route, str(status)).inc()
    http_duration.labels(method, route).observe(seconds)


def worker_job_ran(name: str, queue: str, seconds: float, rows: int) -> None:
    job_duration.labels(name, queue).observe(seconds)
    if rows:
        job_rows.labels(name, queue).inc(rows)


def worker_job_failed(name: str, queue: str) -> None:
    job_failures.labels(name, queue).inc()


def worker_queue_lag(queue: str, seconds: float) -> None:
    queue_lag.labels(queue).set(max(0.0, seconds))


def intake_recorded(channel: str) -> None:
    """One work order taken in (call it after the intake transaction commits)."""
    intake.labels(_label(channel)).inc()


def gps_positions(n: int, *, accepted: bool, protocol: str = "osmand") -> None:
    """`n` positions from one report or batch, stored (`accepted`) or refused."""
    if n:
        gps.labels(_label(protocol), "accepted" if accepted else "refused").inc(n)


def meter_events_received(n: int, *, accepted: bool, kind: str = "event") -> None:
    if n:
        meter_events.labels(_label(kind), "accepted" if accepted else "refused").inc(n)


def notice_outcome(channel: str, outcome: str, n: int = 1) -> None:
    """Delivery attempts ended with `outcome` (sent, failed, requeued, delivered, undeliverable …)."""
    if n:
        notice_deliveries.labels(_label(channel), _label(outcome)).inc(n)


# ---------------------------------------------------------------- gauges read at scrape time


@dataclass(frozen=True)
class ScrapeGauge:
    name: str
    documentation: str
    labels: tuple[str, ...]
    # Returns (label values, value) pairs; called on every scrape, so it must be one cheap indexed query.
    read: Callable[[], Iterable[tuple[tuple[str, ...], float]]]


class _ScrapeCollector(Collector):
    def __init__(self) -> None:
        self.gauges: dict[str, ScrapeGauge] = {}

    def collect(self) -> Iterator[GaugeMetricFamily]:
        for gauge in self.gauges.values():
            family = GaugeMetricFamily(gauge.name, gauge.documentation, labels=list(gauge.labels))
            try:
                rows = list(gauge.read())
            except DatabaseError:
                # Database down or not migrated yet: the scrape still answers (request and worker figures matter
                # most then) and the gauge is absent, which an alert on absent() catches.
                log.warning("metric %s not read: database error", gauge.name, exc_info=True)
                continue
            for values, value in rows:
                family.add_metric(list(values), value)
            yield family

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())  # read only when scraped: describing must not query the database


SCRAPE_GAUGES = _ScrapeCollector()
REGISTRY.register(SCRAPE_GAUGES)


def register_scrape_gauge(
    name: str,
    documentation: str,
    read: Callable[[], Iterable[tuple[tuple[str, ...], float]]],
    labels: Iterable[str] = (),
) -> None:
    """A gauge whose value is a database query made when /metrics is scraped (registering twice replaces it)."""
    SCRAPE_GAUGES.gauges[name] = ScrapeGauge(name, documentation, tuple(labels), read)


def background_tasks() -> Iterable[tuple[tuple[str, ...], float]]:
    from gridcare.core.models import BackgroundTask  # models load after this module (the worker imports it early)

    rows = (
        BackgroundTask.objects.filter(state__in=(BackgroundTask.State.QUEUED, BackgroundTask.State.RUNNING))
        .values("queue", "state")
        .annotate(n=Count("pk"))
        .order_by("queue", "state")
    )
    return [((row["queue"], row["state"]), float(row["n"])) for row in rows]


register_scrape_gauge(
    "gridcare_background_tasks",
    "Background tasks not finished, by queue and state.",
    background_tasks,
    ("queue", "state"),
)


def exposition() -> bytes:
    """The text /metrics answers: this process's metrics, or every process's in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged)
        merged.register(SCRAPE_GAUGES)
        return generate_latest(merged)
    return generate_latest(REGISTRY)
